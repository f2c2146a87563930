/**
 * The Worker side: WebSocket services in a Worker's isolate (`new WebSocketPair()`, `server.accept()`) and the
 * fetch handler that routes upgrades by path — to a service in the isolate, or to a Durable Object room — and
 * everything else to the user's `fetch`:
 *
 *   export default { fetch: handler({ services: { "/echo": echo }, fetch: (req) => new Response("hi") }) };
 */
import { UnsupportedError, type FetchInfo, type FetchUpgrade, type ServerControls, type ServerOptions, type UpgradeRequest } from "@ws/core";
import {
  checkServerOptions,
  fetchAnswer,
  isWebSocketRequest,
  notAnUpgrade,
  offerUpgrade,
  RuntimeServer,
  normalizePath,
  refusalResponse,
  serviceForCall,
  upgradeRequestFrom,
  type AdapterKeys,
  type RouteMatch,
  type UpgradeVerdict,
} from "@ws/core/adapter";
import { answerClose, toMessage, workersSocket } from "./socket.ts";

export const WORKER_ENGINE = "Workers WebSocketPair";

/**
 * An upgrade request on Workers: `raw` is the fetch handler's Request (undefined only on a room's connection
 * rebuilt after hibernation). A service may declare its gate as `upgrade(req: WorkersUpgradeRequest)`.
 */
export type WorkersUpgradeRequest = UpgradeRequest<Request | undefined>;

export type WorkerWebSocketOptions = ServerOptions;

export interface WorkerWebSocket extends ServerControls {
  /**
   * `null` when the request is not a WebSocket upgrade (answer it yourself), otherwise the Response to
   * return: the 101 with the client end of a WebSocketPair, or the refusal.
   */
  upgrade(request: Request): Promise<Response | null>;
  /**
   * A request to the Worker: an upgrade a registered service claims is decided here; any other request goes to
   * `fetch` (null without one), whose `info.upgrade(request, service, { data })` — or `upgrade(request, …)` from
   * @ws/cloudflare — upgrades it and gives the 101 (with the client end of a WebSocketPair) to return.
   */
  handle(request: Request, fetch?: (request: Request, info: FetchInfo) => Response | Promise<Response>): Promise<Response | null>;
}

/**
 * The upgrade step for a Worker's fetch handler; its connections (and topics) are those of this isolate.
 *
 * @example
 * ```ts
 * import { defineService, workerWebSocket } from "@ws/cloudflare";
 *
 * const echo = defineService({ received: (message, conn) => void conn.send(message) });
 * const ws = workerWebSocket({ services: { "/echo": echo } });
 *
 * export default {
 *   async fetch(request: Request): Promise<Response> {
 *     return (await ws.upgrade(request)) ?? new Response("not a WebSocket request\n"); // the 101 or a refusal, else yours
 *   },
 * };
 * ```
 */
export function workerWebSocket(options: WorkerWebSocketOptions): WorkerWebSocket {
  const state = new RuntimeServer(options, WORKER_ENGINE);
  state.core.warnHooklessServices();
  if (options.perMessageDeflate) {
    state.logger.warn({}, `${WORKER_ENGINE}: permessage-deflate is negotiated by workerd itself, not by @ws/core; the option is ignored`);
  }

  // Workers bind a WebSocket to the request that accepted it: no other request (another connection's message
  // event, the fetch handler) may send on it, so topics across a Worker's connections cannot work. Say so at
  // subscribe rather than lose every published message; a Durable Object room (WebSocketRoom) has topics.
  // A service written for a server with topics (`conn.subscribe` in `connected`, nothing caught) cannot work here:
  // its connection is closed with 1011 once the error hooks have the UnsupportedError, rather than left open and silent.
  state.closeOnUnsupported = true;
  state.hub.subscribe = () => {
    throw new UnsupportedError(`${WORKER_ENGINE}: topics need a Durable Object (WebSocketRoom): a Worker's WebSocket can only be used by the request that accepted it`);
  };

  const upgrade: WorkerWebSocket["upgrade"] = async (request) => {
    if (!isWebSocketRequest(request)) return null;
    const upgradeRequest = upgradeRequestFrom(request, request.headers.get("cf-connecting-ip") ?? undefined);
    return accept(upgradeRequest, await state.decide(upgradeRequest));
  };

  /** The fetch-style upgrade (`info.upgrade`): decided by the server core with `service` as the route. */
  const upgradeTo: FetchUpgrade = async (request, service, options) => {
    if (!isWebSocketRequest(request)) return notAnUpgrade(request, service, options);
    const upgradeRequest = upgradeRequestFrom(request, request.headers.get("cf-connecting-ip") ?? undefined);
    const route: RouteMatch = { service: serviceForCall(service as Parameters<typeof serviceForCall>[0], options), params: {} };
    return accept(upgradeRequest, await state.core.decide(upgradeRequest, route));
  };

  const handle: WorkerWebSocket["handle"] = async (request, fetch) => {
    const remoteAddress = request.headers.get("cf-connecting-ip") ?? undefined;
    if (!isWebSocketRequest(request)) return fetch ? fetch(request, { remoteAddress, remotePort: undefined, upgrade: notAnUpgrade }) : null;
    const upgradeRequest = upgradeRequestFrom(request, remoteAddress);
    const route = state.core.route(upgradeRequest);
    // registered services first; the fetch handler takes the upgrades none of them claims
    if (route !== null || !fetch) return accept(upgradeRequest, await state.core.decide(upgradeRequest, route));
    offerUpgrade(request, upgradeTo);
    const response = await fetch(request, { remoteAddress, remotePort: undefined, upgrade: upgradeTo });
    return response.status === 101 ? response : fetchAnswer(state.core, request, response, { remoteAddress });
  };

  /** Acts on the server core's decision: the refusal's Response, or the WebSocketPair's 101. */
  const accept = (upgradeRequest: UpgradeRequest, decision: UpgradeVerdict): Response => {
    if (!decision.ok) return refusalResponse(decision);
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    server.accept();
    server.binaryType = "arraybuffer"; // binary messages as ArrayBuffer (not Blob, the standard default)
    const socket = workersSocket(server, WORKER_ENGINE);
    // keepalive: Workers' WebSocket cannot send a ping, so the Connection's heartbeat stays off (workerd
    // answers the client's pings itself)
    const { conn, transport } = state.connection(socket, upgradeRequest, decision, true);
    server.addEventListener("message", (event) => transport.handleMessage(toMessage(event.data)));
    server.addEventListener("close", (event) => {
      answerClose(server, event.code, event.reason, socket.closeSent);
      transport.handleClose(event.code, event.reason);
    });
    server.addEventListener("error", () => transport.handleClose(1006, "WebSocket error"));
    state.open(conn, decision); // what `connected` sends is queued until the client has the 101
    const headers: Record<string, string> = { ...decision.headers };
    if (decision.protocol !== null) headers["Sec-WebSocket-Protocol"] = decision.protocol;
    return new Response(null, { status: 101, webSocket: client, headers });
  };

  return Object.assign(state.controls(), { upgrade, handle });
}

/** A path prefix served by Durable Object rooms: `/prefix/:room` goes to the object named `room`. */
export interface RoomRoute<Env> {
  /** the Durable Object namespace of the rooms (a binding of `env`) */
  namespace(env: Env): DurableObjectNamespace;
  /** the room for the bare prefix (`/chat` itself); without it, the bare prefix is 404 */
  defaultRoom?: string;
}

/**
 * `handler()`'s options: a server's (`services`, limits, hooks), `rooms` (path prefixes served by Durable
 * Objects) and `fetch` for every other request. A Worker does not listen: no port, host or TLS.
 */
export interface HandlerOptions<Env> extends ServerOptions {
  /** path prefix → Durable Object rooms (e.g. `{ "/chat": { namespace: (env) => env.ROOMS } }`) */
  rooms?: Record<string, RoomRoute<Env>>;
  /**
   * answers requests that are not a room's and that no service claims (default: 426 Upgrade Required); for an
   * upgrade request, `info.upgrade(request, service, { data })` (or `upgrade(request, …)`) gives the 101 to return,
   * and any other Response is the refusal (a 2xx: 404, no service here)
   */
  fetch?(request: Request, env: Env, ctx: ExecutionContext, info: FetchInfo): Response | Promise<Response>;
}

/** handler()'s own keys, and what it says of the options of serve() and `ws` that do not apply to a Worker. */
const HANDLER_KEYS: AdapterKeys = {
  keys: ["rooms", "fetch"],
  foreign: Object.fromEntries([
    ...["port", "hostname", "host", "tls"].map((key) => [key, `a Worker does not listen: wrangler (or Miniflare) gives it its address and TLS; ${key} is serve()'s option`]),
    ...["server", "noServer"].map((key) => [key, `a Worker has no server of its own: handler() is its fetch (export default { fetch: handler({ services }) })`]),
  ]),
};

/**
 * A Worker's fetch handler: `export default { fetch: handler({ services, rooms, fetch }) }`. The options are
 * checked when it is called (at the module's top level): a key that is not one here, or nothing to serve, throws
 * with the fix.
 *
 * What a plain Worker lacks: topics. A Worker's WebSocket can only be used by the request that accepted it, so
 * `conn.subscribe` throws `UnsupportedError` (use a Durable Object room, `rooms` and `WebSocketRoom`, for topics),
 * and so do `conn.ping()` and fragment streaming. When a service's hook lets such an `UnsupportedError` escape (the
 * same module as on Node or Bun, `conn.subscribe` in `connected` with nothing caught), the error goes to the
 * service's `error` hook and the server's `onError`, then the connection is closed with 1011 (Internal Error) and
 * the missing feature as its reason: the client learns that the service cannot work here rather than wait.
 *
 * @example
 * ```ts
 * import { defineService, handler } from "@ws/cloudflare";
 *
 * const echo = defineService({ received: (message, conn) => void conn.send(message) });
 * export default {
 *   fetch: handler({ services: { "/echo": echo }, fetch: () => new Response("hello") }),
 * } satisfies ExportedHandler;
 * ```
 */
export function handler<Env = unknown>(
  options: HandlerOptions<Env>,
): (request: Request, env: Env, ctx: ExecutionContext) => Promise<Response> {
  checkServerOptions(options, "handler() options", HANDLER_KEYS);
  if (options.services === undefined && options.resolve === undefined && options.rooms === undefined && options.fetch === undefined) {
    throw new TypeError(`handler() needs services ({ "/chat": chat }), rooms or a fetch handler`);
  }
  const { rooms = {}, fetch, ...serverOptions } = options;
  const prefixes = Object.entries(rooms).map(([prefix, route]) => [normalizePath(prefix), route] as const);
  // created on the first request (nothing of it may run at a Worker's global scope); one per isolate
  let ws: WorkerWebSocket | undefined;
  return async (request, env, ctx) => {
    const path = normalizePath(new URL(request.url).pathname);
    for (const [prefix, route] of prefixes) {
      let room: string | undefined;
      if (path === prefix) room = route.defaultRoom;
      else if (path.startsWith(`${prefix}/`) && !path.slice(prefix.length + 1).includes("/")) room = decodeURIComponent(path.slice(prefix.length + 1));
      else continue;
      if (!room) return new Response(`no room named in ${path}\n`, { status: 404 });
      const namespace = route.namespace(env);
      return namespace.get(namespace.idFromName(room)).fetch(request);
    }
    ws ??= workerWebSocket(serverOptions);
    const answer = await ws.handle(request, fetch ? (req, info) => fetch(req, env, ctx, info) : undefined);
    return answer ?? upgradeOnly();
  };
}

function upgradeOnly(): Response {
  return new Response("This endpoint speaks WebSocket only\n", { status: 426, headers: { "Content-Type": "text/plain", Upgrade: "websocket" } });
}
