/**
 * The runtime engine on Bun: Bun.serve's built-in WebSocket (server.upgrade + the `websocket` handlers) mapped
 * onto the Connection API. For people who already run `Bun.serve`:
 *
 *   const ws = bunWebSocket({ services: { "/chat": chat } });
 *   Bun.serve({
 *     websocket: ws.websocket,
 *     async fetch(req, server) {
 *       const answer = await ws.upgrade(req, server);   // null: not a WebSocket request
 *       return answer === null ? new Response("hello") : answer;
 *     },
 *   });
 */
import type { Server, ServerWebSocket, WebSocketHandler } from "bun";
import { type Connection, type FetchInfo, type FetchUpgrade, type ServerControls, type ServerOptions, type UpgradeRequest } from "@ws/core";
import {
  fetchAnswer,
  isWebSocketRequest,
  notAnUpgrade,
  offerUpgrade,
  serviceForCall,
  switchingProtocols,
  webSocketOnlyResponse,
  type RouteMatch,
  RuntimeServer,
  refusalResponse,
  upgradeRequestFrom,
  type RuntimeSocket,
  type RuntimeSocketTransport,
  type UpgradeVerdict,
} from "@ws/core/adapter";

const ENGINE = "Bun.serve";
/** core's default PerMessageDeflateOptions.threshold */
const DEFAULT_DEFLATE_THRESHOLD = 1024;

/** What rides on each Bun ServerWebSocket from upgrade to close. */
export interface BunSocketData {
  request: UpgradeRequest;
  /** the server core's accepting verdict; null once the connection has opened (an idle connection does not keep it) */
  decision: Extract<UpgradeVerdict, { ok: true }> | null;
  /** the runtime-socket transport of the socket's Connection, once open */
  transport: RuntimeSocketTransport | null;
}

/**
 * Server options. `perMessageDeflate` turns Bun's own permessage-deflate on or off; Bun negotiates its parameters
 * itself, so the parameters of core's PerMessageDeflateOptions do not apply (a warning says so), except
 * `threshold`: messages of at least that many bytes (characters, for text; default 1024, as in core) are sent
 * compressed when the connection negotiated it (Bun's `send` compresses only when asked to).
 */
export type BunWebSocketOptions = ServerOptions;

export interface BunWebSocket extends ServerControls {
  /** pass as Bun.serve's `websocket` option */
  readonly websocket: WebSocketHandler<BunSocketData>;
  /**
   * Call from Bun.serve's fetch: `null` when the request is not a WebSocket upgrade (answer it yourself),
   * `undefined` when it was upgraded (return nothing to Bun), a Response when the upgrade was refused.
   */
  upgrade(request: Request, server: Server<BunSocketData>): Promise<Response | undefined | null>;
  /**
   * The whole of Bun.serve's fetch: an upgrade a registered service claims is decided here; any other request goes
   * to `fetch` (426 without one), whose `info.upgrade(request, service, { data })` — or `upgrade(request, …)` from
   * @ws/bun — upgrades it (its Response, returned, tells Bun to return nothing).
   */
  handle(request: Request, server: Server<BunSocketData>, fetch?: (request: Request, info: FetchInfo) => Response | Promise<Response>): Promise<Response | undefined>;
}

/**
 * A Bun ServerWebSocket as the core's RuntimeSocket: one small object per connection with its methods on the
 * prototype (an object of ten closures was most of what the runtime engine kept per idle connection).
 */
class BunRuntimeSocket implements RuntimeSocket {
  private readonly ws: ServerWebSocket<BunSocketData>;
  /** whether a message is to be compressed (the server's threshold) */
  private readonly compress: (message: string | Uint8Array) => boolean;
  constructor(ws: ServerWebSocket<BunSocketData>, compress: (message: string | Uint8Array) => boolean) {
    this.ws = ws;
    this.compress = compress;
  }
  get engineName(): string {
    return ENGINE;
  }
  get hasDrainEvent(): boolean {
    return true;
  }
  get bufferedAmount(): number {
    return this.ws.getBufferedAmount();
  }
  sendText(text: string): boolean {
    return this.ws.sendText(text, this.compress(text)) !== 0;
  }
  sendBinary(bytes: Uint8Array): boolean {
    return this.ws.sendBinary(bytes, this.compress(bytes)) !== 0;
  }
  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }
  terminate(): void {
    this.ws.terminate();
  }
  ping(data: Uint8Array): void {
    this.ws.ping(data);
  }
  pong(data: Uint8Array): void {
    this.ws.pong(data);
  }
  pause(): void {
    this.ws.pause();
  }
  resume(): void {
    this.ws.resume();
  }
}

function plainBytes(data: Uint8Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Builds the handlers and the upgrade step for Bun.serve.
 *
 * @example
 * ```ts
 * import { bunWebSocket, defineService } from "@ws/bun";
 *
 * const echo = defineService({ received: (message, conn) => void conn.send(message) });
 * const ws = bunWebSocket({ services: { "/echo": echo } });
 * Bun.serve({
 *   port: 8080,
 *   websocket: ws.websocket,
 *   async fetch(req, server) {
 *     const answer = await ws.upgrade(req, server); // null: not a WebSocket request; undefined: upgraded
 *     return answer === null ? new Response("hello") : answer;
 *   },
 * });
 * ```
 */
export function bunWebSocket(options: BunWebSocketOptions): BunWebSocket {
  const state = new RuntimeServer(options, ENGINE);
  state.core.warnHooklessServices();
  let bunServer: Server<BunSocketData> | null = null;
  // Bun's own cap: the server's maxMessageSize (or its alias) when given, else room for any service's own (each
  // connection's limit is applied by its transport)
  const maxPayload = Math.min(0xffffffff, options.maxMessageSize ?? options.maxPayload ?? 100 * 1024 * 1024);
  // Bun compresses a message only when its send or publish is asked to (and the connection negotiated it)
  const deflate = options.perMessageDeflate;
  const threshold = !deflate ? Infinity : (typeof deflate === "object" ? deflate.threshold : undefined) ?? DEFAULT_DEFLATE_THRESHOLD;
  const compress = (message: string | Uint8Array) => message.length >= threshold;

  // Bun's native topics: a published message is framed once, in Bun. The hub keeps the subscriptions (for the
  // counts and the broker) and hands delivery to Bun — unless a publish policy is set, which Bun's publish
  // cannot apply per subscriber: then the hub sends to each subscriber itself.
  const hub = state.hub;
  hub.native = (topic, message, except) => {
    if (except) sockets.get(except)?.publish(topic, message, compress(message));
    else bunServer?.publish(topic, message, compress(message));
  };
  const sockets = new WeakMap<Connection<unknown>, ServerWebSocket<BunSocketData>>();
  hub.nativeSubscription = (conn, topic, subscribed) => {
    const ws = sockets.get(conn);
    if (subscribed) ws?.subscribe(topic);
    else ws?.unsubscribe(topic);
  };

  const socketFor = (ws: ServerWebSocket<BunSocketData>): RuntimeSocket => new BunRuntimeSocket(ws, compress);

  const websocket: WebSocketHandler<BunSocketData> = {
    open(ws) {
      const { decision, request } = ws.data;
      if (decision === null) return; // opened once already
      ws.data.decision = null;
      const { conn, transport } = state.connection(socketFor(ws), request, decision);
      sockets.set(conn, ws);
      ws.data.transport = transport;
      state.open(conn, decision);
    },
    message(ws, message) {
      ws.data.transport?.handleMessage(typeof message === "string" ? message : plainBytes(message));
    },
    drain(ws) {
      ws.data.transport?.handleDrain();
    },
    close(ws, code, reason) {
      ws.data.transport?.handleClose(code, reason);
    },
    ping(ws, data) {
      ws.data.transport?.handlePing(plainBytes(data));
    },
    pong(ws, data) {
      ws.data.transport?.handlePong(plainBytes(data));
    },
    maxPayloadLength: maxPayload,
    // keepalive is the connection's own (idleTimeout, per service), as in core; the send-buffer limit too
    idleTimeout: 0,
    sendPings: false,
    backpressureLimit: 0xffffffff,
    closeOnBackpressureLimit: false,
    perMessageDeflate: Boolean(options.perMessageDeflate),
  };
  const notApplied = typeof deflate === "object" ? Object.keys(deflate).filter((k) => k !== "threshold") : [];
  if (notApplied.length > 0) {
    state.logger.warn({}, `${ENGINE}: permessage-deflate parameters are Bun's own; ${notApplied.join(", ")} not applied`);
  }

  const upgrade: BunWebSocket["upgrade"] = async (request, server) => {
    bunServer = server;
    if (!isWebSocketRequest(request)) return null;
    const address = server.requestIP(request);
    const upgradeRequest = upgradeRequestFrom(request, address?.address, address?.port);
    return accept(request, server, upgradeRequest, await state.decide(upgradeRequest));
  };

  /** the Responses `upgradeTo` resolved to for an upgrade Bun has made: returned from fetch, they mean "nothing" */
  const switched = new WeakSet<Response>();

  /** The fetch-style upgrade (`info.upgrade`): decided by the server core with `service` as the route. */
  const upgradeTo = async (request: Request, server: Server<BunSocketData>, service: Parameters<FetchUpgrade>[1], options: Parameters<FetchUpgrade>[2]): Promise<Response> => {
    if (!isWebSocketRequest(request)) return notAnUpgrade(request, service, options);
    const address = server.requestIP(request);
    const upgradeRequest = upgradeRequestFrom(request, address?.address, address?.port);
    const route: RouteMatch = { service: serviceForCall(service as Parameters<typeof serviceForCall>[0], options), params: {} };
    const refused = accept(request, server, upgradeRequest, await state.core.decide(upgradeRequest, route));
    if (refused) return refused;
    const response = switchingProtocols();
    switched.add(response);
    return response;
  };

  const handle: BunWebSocket["handle"] = async (request, server, fetch) => {
    bunServer = server;
    const peer = () => {
      const address = server.requestIP(request);
      return { remoteAddress: address?.address, remotePort: address?.port };
    };
    if (!isWebSocketRequest(request)) return fetch ? fetch(request, { ...peer(), upgrade: notAnUpgrade }) : webSocketOnlyResponse();
    const { remoteAddress, remotePort } = peer();
    const upgradeRequest = upgradeRequestFrom(request, remoteAddress, remotePort);
    const route = state.core.route(upgradeRequest);
    // registered services first; the fetch handler takes the upgrades none of them claims
    if (route !== null || !fetch) return accept(request, server, upgradeRequest, await state.core.decide(upgradeRequest, route));
    const up: FetchUpgrade = (given, service, options) => upgradeTo(given, server, service, options);
    offerUpgrade(request, up);
    const response = await fetch(request, { remoteAddress, remotePort, upgrade: up });
    return switched.has(response) ? undefined : fetchAnswer(state.core, request, response, { remoteAddress, remotePort });
  };

  /** Acts on the server core's decision: the refusal's Response, or Bun's upgrade (undefined: return nothing). */
  const accept = (request: Request, server: Server<BunSocketData>, upgradeRequest: UpgradeRequest, decision: UpgradeVerdict): Response | undefined => {
    if (!decision.ok) return refusalResponse(decision);
    const headers: Record<string, string> = { ...decision.headers };
    // with no header, Bun would answer with the client's first subprotocol: an empty one makes it answer none
    headers["Sec-WebSocket-Protocol"] = decision.protocol ?? "";
    const data: BunSocketData = { request: upgradeRequest, decision, transport: null };
    if (!server.upgrade(request, { headers, data })) {
      decision.slot.release();
      return refusalResponse({ status: 400, reason: "Bun refused the upgrade request" });
    }
    return undefined;
  };

  return Object.assign(state.controls(), { websocket, upgrade, handle });
}
