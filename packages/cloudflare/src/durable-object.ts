/**
 * Durable Object rooms on the WebSocket Hibernation API: one room = one object, its connections accepted with
 * `ctx.acceptWebSocket()`, so the object can be evicted from memory (hibernate) while they stay open. What a
 * connection needs after wake-up — its id, request line, chosen headers, subprotocol, `conn.data` and topics —
 * lives in its socket's attachment (`serializeAttachment`); on wake-up the object rebuilds every connection
 * from `ctx.getWebSockets()` and those attachments (not from memory) and the service's `connected` is not
 * called again.
 *
 *   export class ChatRoom extends WebSocketRoom {
 *     constructor(ctx: DurableObjectState, env: Env) { super(ctx, env, { service: chatService }); }
 *   }
 */
import { DurableObject } from "cloudflare:workers";
import { createUpgradeRequest, Router, type Connection, type FetchInfo, type FetchUpgrade, type RouteMatch, type ServerControls, type ServerOptions, type Service, type UpgradeRequest } from "@ws/core";
import {
  fetchAnswer,
  isWebSocketRequest,
  offerUpgrade,
  RuntimeServer,
  refusalResponse,
  serviceForCall,
  upgradeRequestFrom,
  type RuntimeSocketTransport,
  type UpgradeVerdict,
} from "@ws/core/adapter";
import { answerClose, toMessage, workersSocket } from "./socket.ts";

export const ROOM_ENGINE = "Durable Object WebSocket";

/** Request headers kept across hibernation unless `keepHeaders` says otherwise. */
export const DEFAULT_KEPT_HEADERS = ["host", "origin", "user-agent", "sec-websocket-protocol", "cf-connecting-ip"];

/**
 * A `WebSocketRoom`'s options: the one `service` of its connections, a server's settings and hooks, and
 * what is kept across hibernation (`keepHeaders`).
 */
export interface RoomOptions extends Omit<ServerOptions, "services"> {
  /** the service every connection of the room belongs to (the Worker routed the request here) */
  service: Service<any>;
  /**
   * request headers kept in the attachment, so `conn.request.headers` has them after wake-up (an
   * attachment holds at most a few KiB: keep what the service reads). Default `DEFAULT_KEPT_HEADERS`.
   */
  keepHeaders?: readonly string[];
  /**
   * an application-level heartbeat answered by the runtime without waking the object
   * (`ctx.setWebSocketAutoResponse`): a text message equal to `request` is answered with `response` and never
   * reaches the service
   */
  autoResponse?: { request: string; response: string };
}

/** What a socket's attachment holds: all a connection needs to be rebuilt after hibernation. */
export interface RoomAttachment {
  v: 1;
  id: string;
  url: string;
  protocol: string | null;
  headers: Array<[string, string]>;
  remoteAddress?: string;
  data: unknown;
  topics: string[];
}

interface Entry {
  conn: Connection<unknown>;
  transport: RuntimeSocketTransport;
  closeSent(): boolean;
  attachment: RoomAttachment;
}

type Accepted = Extract<UpgradeVerdict, { ok: true }>;

const NO_SLOT = { release() {} };

/** A router with one service on every path (the Worker did the routing). */
class OneService extends Router {
  private readonly service: Service<unknown>;
  constructor(service: Service<unknown>) {
    super();
    this.service = service;
  }
  override route(): RouteMatch {
    return { service: this.service, params: {} };
  }
}

/**
 * A Durable Object that serves one room: its connections on the WebSocket Hibernation API (rebuilt from their
 * attachments after the object wakes), topics and `this.server.publish` across them. `handler({ rooms })` routes
 * `/prefix/:room` here.
 *
 * @example
 * ```ts
 * import { defineService, handler, WebSocketRoom } from "@ws/cloudflare";
 *
 * interface Env {
 *   ROOMS: DurableObjectNamespace;
 * }
 *
 * const chat = defineService({
 *   connected: (conn) => conn.subscribe("all"),
 *   received: (message, conn) => void conn.publish("all", message),
 * });
 *
 * export class Room extends WebSocketRoom<Env> {
 *   constructor(ctx: DurableObjectState, env: Env) {
 *     super(ctx, env, { service: chat });
 *   }
 * }
 *
 * export default {
 *   // /chat/:room goes to the Room object named room; /chat to "lobby"
 *   fetch: handler<Env>({ rooms: { "/chat": { namespace: (env) => env.ROOMS, defaultRoom: "lobby" } } }),
 * } satisfies ExportedHandler<Env>;
 * ```
 */
export class WebSocketRoom<Env = unknown> extends DurableObject<Env> {
  /** the room's controls: its connections, `publish` / `subscriberCount` across them, `close()` */
  readonly server: ServerControls;
  private readonly state: RuntimeServer;
  private readonly service: Service<unknown>;
  private readonly keepHeaders: ReadonlySet<string>;
  private readonly entries = new Map<WebSocket, Entry>();
  private readonly byConn = new Map<Connection<unknown>, WebSocket>();
  private resuming = false;

  constructor(ctx: DurableObjectState, env: Env, options: RoomOptions) {
    super(ctx, env);
    const { service, keepHeaders, autoResponse, ...serverOptions } = options;
    this.service = service as Service<unknown>;
    this.keepHeaders = new Set((keepHeaders ?? DEFAULT_KEPT_HEADERS).map((h) => h.toLowerCase()));
    // the Worker routed the request to this room: every upgrade is for the one service, whatever its path
    this.state = new RuntimeServer({ ...serverOptions, services: new OneService(this.service) }, ROOM_ENGINE);
    if (options.perMessageDeflate) {
      this.state.logger.warn({}, `${ROOM_ENGINE}: permessage-deflate is negotiated by workerd itself, not by @ws/core; the option is ignored`);
    }
    // topics live in the attachment too: saved on every change
    this.state.hub.nativeSubscription = (conn) => {
      if (!this.resuming) this.save(conn);
    };
    this.server = this.state.controls();
    if (autoResponse) ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(autoResponse.request, autoResponse.response));
    // wake-up (or first start): rebuild the connections this object has accepted, from their attachments
    for (const ws of ctx.getWebSockets()) this.resume(ws);
  }

  /**
   * An upgrade request goes to `onUpgrade` (by default: upgraded to the room's service), other requests to
   * `onRequest`.
   */
  override async fetch(request: Request): Promise<Response> {
    if (!isWebSocketRequest(request)) return this.onRequest(request);
    const remoteAddress = request.headers.get("cf-connecting-ip") ?? undefined;
    const upgrade: FetchUpgrade = (given, service, options) => this.upgradeTo(given, service as Service<unknown>, options);
    offerUpgrade(request, upgrade);
    const response = await this.onUpgrade(request, { remoteAddress, remotePort: undefined, upgrade });
    return response.status === 101 ? response : fetchAnswer(this.state.core, request, response, { remoteAddress });
  }

  /**
   * An upgrade request to the room, fetch-style: return `info.upgrade(request, service, { data, headers })` (the
   * room's own service: the one its connections are rebuilt with after hibernation) for the 101, or any other
   * Response as the refusal. Default: `info.upgrade(request, service)`. Override it to decide with the request (a
   * token, a cookie) and give the connection its `data`.
   */
  protected onUpgrade(request: Request, info: FetchInfo): Response | Promise<Response> {
    return info.upgrade(request, this.service);
  }

  /** The fetch-style upgrade to the room's service: decided by the server core, then accepted with the Hibernation API. */
  private async upgradeTo(request: Request, service: Service<unknown>, options: { data?: unknown; headers?: Record<string, string> } | undefined): Promise<Response> {
    if (service !== this.service) throw new TypeError(`${ROOM_ENGINE}: a room upgrades to its own service (RoomOptions.service), the one its connections are rebuilt with after hibernation`);
    const upgradeRequest = upgradeRequestFrom(request, request.headers.get("cf-connecting-ip") ?? undefined);
    const route: RouteMatch = { service: serviceForCall(service, options), params: {} };
    const decision = await this.state.core.decide(upgradeRequest, route);
    if (!decision.ok) return refusalResponse(decision);
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server);
    server.binaryType = "arraybuffer";
    const headers: Array<[string, string]> = [];
    request.headers.forEach((value, name) => {
      if (this.keepHeaders.has(name.toLowerCase())) headers.push([name, value]);
    });
    const entry = this.wire(server, upgradeRequest, decision, undefined, {
      v: 1,
      id: "",
      url: upgradeRequest.url,
      protocol: decision.protocol,
      headers,
      remoteAddress: upgradeRequest.remoteAddress,
      data: decision.data,
      topics: [],
    });
    this.state.open(entry.conn, decision);
    this.save(entry.conn);
    const responseHeaders: Record<string, string> = { ...decision.headers };
    if (decision.protocol !== null) responseHeaders["Sec-WebSocket-Protocol"] = decision.protocol;
    return new Response(null, { status: 101, webSocket: client, headers: responseHeaders });
  }

  /** Plain HTTP requests to the room; default: 426 Upgrade Required. */
  protected onRequest(_request: Request): Response | Promise<Response> {
    return new Response("This endpoint speaks WebSocket only\n", { status: 426, headers: { "Content-Type": "text/plain", Upgrade: "websocket" } });
  }

  /** Sends to every connection of the room subscribed to `topic` (callable over RPC from the Worker). */
  publish(topic: string, message: string | ArrayBuffer | Uint8Array): number {
    return this.server.publish(topic, message);
  }

  /** Connections of the room right now (callable over RPC). */
  connectionCount(): number {
    return this.server.connectionCount;
  }

  /**
   * Saves what `conn` needs after hibernation (its `data` and topics) in its socket's attachment. Done after
   * the service's `connected` and each `received` returns and on every subscribe / unsubscribe; call it
   * yourself after changing `conn.data` later (after an `await`).
   */
  save(conn: Connection<unknown>): void {
    const ws = this.byConn.get(conn);
    const entry = ws && this.entries.get(ws);
    if (!ws || !entry) return;
    const attachment: RoomAttachment = { ...entry.attachment, id: conn.id, data: conn.data, topics: [...conn.topics] };
    try {
      ws.serializeAttachment(attachment);
      entry.attachment = attachment;
    } catch (e) {
      this.state.logger.error({ err: e, conn: conn.id }, `connection ${conn.id}: its state cannot be saved for hibernation (${e instanceof Error ? e.message : String(e)})`);
    }
  }

  // ---------------------------------------------------------------------- the Hibernation API's handlers

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    const entry = this.entryOf(ws);
    if (!entry) return;
    entry.transport.handleMessage(toMessage(message));
    this.save(entry.conn);
  }

  override webSocketClose(ws: WebSocket, code: number, reason: string): void {
    const entry = this.entryOf(ws);
    answerClose(ws, code, reason, entry?.closeSent() ?? false);
    if (!entry) return;
    this.forget(ws);
    entry.transport.handleClose(code, reason);
  }

  override webSocketError(ws: WebSocket, error: unknown): void {
    const entry = this.entryOf(ws);
    if (!entry) return;
    this.forget(ws);
    entry.transport.handleClose(1006, error instanceof Error ? error.message : "WebSocket error");
  }

  // ------------------------------------------------------------------------------------------- internals

  private entryOf(ws: WebSocket): Entry | undefined {
    return this.entries.get(ws) ?? this.resume(ws);
  }

  private forget(ws: WebSocket): void {
    const entry = this.entries.get(ws);
    this.entries.delete(ws);
    if (entry) this.byConn.delete(entry.conn);
  }

  /** Rebuilds the connection of a socket accepted before this instance existed, from its attachment. */
  private resume(ws: WebSocket): Entry | undefined {
    const existing = this.entries.get(ws);
    if (existing) return existing;
    const attachment = ws.deserializeAttachment() as RoomAttachment | null;
    if (!attachment || attachment.v !== 1 || ws.readyState === WebSocket.CLOSED) return undefined;
    // no `raw`: the Request that opened the connection is gone
    const request: UpgradeRequest = createUpgradeRequest({
      method: "GET",
      url: attachment.url,
      httpVersion: "1.1",
      headers: new Headers(attachment.headers),
      remoteAddress: attachment.remoteAddress,
    });
    const verdict: Accepted = {
      ok: true,
      service: this.service,
      protocol: attachment.protocol,
      headers: {},
      data: attachment.data,
      key: "",
      extensions: [],
      slot: NO_SLOT,
    };
    const entry = this.wire(ws, request, verdict, attachment.id, attachment);
    this.resuming = true;
    try {
      this.state.open(entry.conn, verdict, { resumed: true }); // `connected` ran before hibernation
      for (const topic of attachment.topics) entry.conn.subscribe(topic);
    } finally {
      this.resuming = false;
    }
    return entry;
  }

  private wire(ws: WebSocket, request: UpgradeRequest, verdict: Accepted, id: string | undefined, attachment: RoomAttachment): Entry {
    const socket = workersSocket(ws, ROOM_ENGINE);
    // no timers of our own: a pending timer would keep the object from hibernating (and workerd cannot ping)
    const { conn, transport } = this.state.connection(socket, request, verdict, true, id);
    const entry: Entry = { conn, transport, closeSent: () => socket.closeSent, attachment };
    this.entries.set(ws, entry);
    this.byConn.set(conn, ws);
    conn.onClose(() => this.forget(ws));
    return entry;
  }
}

/**
 * A Durable Object class for `service` (for `export const ChatRoom = roomObject({ service: chat })`), when
 * the room needs nothing beyond the service.
 *
 * @example
 * ```ts
 * import { defineService, handler, roomObject } from "@ws/cloudflare";
 *
 * interface Env {
 *   ROOMS: DurableObjectNamespace;
 * }
 *
 * const chat = defineService({
 *   connected: (conn) => conn.subscribe("all"),
 *   received: (message, conn) => void conn.publish("all", message),
 * });
 *
 * export const Room = roomObject<Env>({ service: chat }); // the class wrangler.toml binds as ROOMS
 *
 * export default {
 *   fetch: handler<Env>({ rooms: { "/chat": { namespace: (env) => env.ROOMS, defaultRoom: "lobby" } } }),
 * } satisfies ExportedHandler<Env>;
 * ```
 */
export function roomObject<Env = unknown>(options: RoomOptions): new (ctx: DurableObjectState, env: Env) => WebSocketRoom<Env> {
  return class extends WebSocketRoom<Env> {
    constructor(ctx: DurableObjectState, env: Env) {
      super(ctx, env, options);
    }
  };
}
