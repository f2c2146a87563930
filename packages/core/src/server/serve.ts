/**
 * What the adapters' serve() share whatever the runtime: the handle it resolves to, and the pieces of an
 * adapter on a fetch-style server (Bun.serve, Deno.serve, Workers: a Request in, a Response out).
 */
import type { Connection, SendData } from "../session/connection.ts";
import { asksForWebSocket, createUpgradeRequest, type UpgradeRequest } from "../wire/handshake.ts";
import type { ServerCore, ServerOptions } from "./server.ts";
import type { Service } from "./service.ts";
import { checkPort, checkServerOptions, checkServes, InvalidOptionError, type AdapterKeys } from "./options.ts";

/** A running server's controls: its connections, services and topics, and graceful shutdown. */
export interface ServerControls {
  readonly connections: ReadonlySet<Connection<unknown>>;
  readonly connectionCount: number;
  /**
   * bytes the connections hold for their peers now, send buffers and read queues together, as counted against
   * `maxServerBufferedAmount` (core engine; undefined where the runtime holds them)
   */
  readonly bufferedBytes?: number;
  register(path: string, service: Service<unknown>): void;
  unregister(path: string): boolean;
  /**
   * sends to every subscriber of `topic` (and, with a `broker`, to the other processes' subscribers); returns
   * how many local subscribers it was written to
   */
  publish(topic: string, message: SendData): number;
  /** local subscribers of `topic` */
  subscriberCount(topic: string): number;
  /** published messages left out under `publishBackpressure: "skip"`: for one connection, or in all */
  skippedMessages(conn?: Connection<unknown>): number;
  /** graceful: 1001 Going Away to every connection, wait up to `timeout` ms, drop the rest */
  close(options?: { code?: number; reason?: string; timeout?: number }): Promise<void>;
}

/**
 * Where a runtime offers two: "core" runs @ws/core's protocol over the raw socket; "runtime" maps the
 * runtime's own built-in WebSocket onto the Connection API (a Connection over a RuntimeSocketTransport).
 */
export type ServeEngine = "core" | "runtime";

/** What the fetch-style upgrade takes besides the request and the service. */
export interface UpgradeOptions<Data> {
  /** the connection's `conn.data` (over what the service's gate returns, if it returns any) */
  data?: Data;
  /** extra headers on the 101 response (the service gate's win over these) */
  headers?: Record<string, string>;
}

/**
 * Upgrades `request` to a WebSocket connection of `service` (registered or inline) and resolves to the Response
 * for the fetch handler to return: the 101, or the refusal (status, headers and body: the server's — 503 at
 * maxConnections, 400 for a malformed request — or the service gate's). Never rejects for a refusal.
 */
export type FetchUpgrade = <Data>(request: Request, service: Service<Data>, options?: UpgradeOptions<Data>) => Promise<Response>;

/** What a `fetch` handler gets besides the request: the peer of the connection the request came on, and `upgrade`. */
export interface FetchInfo {
  /** the peer's IP address, e.g. "127.0.0.1" (the socket's peer, not X-Forwarded-For) */
  remoteAddress: string | undefined;
  /** the peer's port */
  remotePort: number | undefined;
  /**
   * `upgrade(request, service, { data, headers })`: upgrades this request to a connection of `service` and
   * resolves to the Response to return (the 101, or the refusal); see `FetchUpgrade`. For a request that is not a
   * WebSocket upgrade, a 426 refusal.
   */
  upgrade: FetchUpgrade;
}

/** serve() options on a runtime with both engines (Bun, Deno). */
export interface EngineServeOptions extends ServerOptions {
  /** "core" (default): @ws/core over the socket; "runtime": the runtime's built-in WebSocket */
  engine?: ServeEngine;
  /** port to listen on; 0 (the default) picks a free one */
  port?: number;
  /** address to bind; default: all interfaces */
  hostname?: string;
  /** serve HTTPS / WSS with this key and certificate (PEM) */
  tls?: { key: string; cert: string; ca?: string };
  /**
   * answers plain HTTP requests; default: 426 Upgrade Required. `info` is the connection's peer (the socket's own
   * address, not a forwarded header) on every engine that knows it
   */
  fetch?: (request: Request, info: FetchInfo) => Response | Promise<Response>;
  /**
   * WebSockets over HTTP/2 (RFC 8441) too, core engine only (on the runtime's node:http2): with `tls`, HTTP/2 and
   * HTTP/1.1 on one port; without, cleartext HTTP/2 with prior knowledge (h2c). The runtime engine refuses it.
   * @defaultValue `false`
   */
  http2?: boolean;
  /** ms for an upgrade request to be decided (the gate included); core engine only. Default 10000. */
  handshakeTimeout?: number;
}

/** What serve() resolves to on a runtime with both engines. */
export interface EngineServeHandle extends ServerControls {
  readonly engine: ServeEngine;
  readonly port: number;
  readonly hostname: string;
  /** ws:// or wss:// base URL */
  readonly url: string;
  /** graceful: 1001 Going Away to every connection, wait up to `timeout` ms, drop the rest, stop listening */
  close(options?: { code?: number; reason?: string; timeout?: number }): Promise<void>;
}

/**
 * The controls of a core engine's server: read through to `core` (connections stay live).
 *
 * @internal
 */
export function serverControls(core: ServerCore): ServerControls {
  return {
    get connections() {
      return core.connections;
    },
    get connectionCount() {
      return core.connectionCount;
    },
    get bufferedBytes() {
      return core.bufferedBytes;
    },
    register: (path, service) => core.router.register(path, service),
    unregister: (path) => core.router.unregister(path),
    publish: (topic, message) => core.publish(topic, message),
    subscriberCount: (topic) => core.subscriberCount(topic),
    skippedMessages: (conn) => core.skippedMessages(conn),
    close: (options) => core.close(options),
  };
}

/**
 * The handle of a listening server: `controls` read through (connections stay live), the address, and
 * close() = the graceful close of `controls`, then `stop` (stop listening).
 *
 * @internal
 */
export function serveHandle(
  engine: ServeEngine,
  controls: ServerControls,
  listening: { port: number; hostname?: string; tls: boolean },
  stop?: () => Promise<void>,
): EngineServeHandle {
  const hostname = listening.hostname ?? "localhost";
  const urlHost = hostname.includes(":") ? `[${hostname}]` : hostname;
  return {
    engine,
    port: listening.port,
    hostname,
    url: `${listening.tls ? "wss" : "ws"}://${urlHost}:${listening.port}`,
    get connections() {
      return controls.connections;
    },
    get connectionCount() {
      return controls.connectionCount;
    },
    get bufferedBytes() {
      return controls.bufferedBytes;
    },
    register: (path, service) => controls.register(path, service),
    unregister: (path) => controls.unregister(path),
    publish: (topic, message) => controls.publish(topic, message),
    subscriberCount: (topic) => controls.subscriberCount(topic),
    skippedMessages: (conn) => controls.skippedMessages(conn),
    async close(options) {
      await controls.close(options);
      await stop?.();
    },
  };
}

/**
 * How each engine starts listening, for `serveEngines`.
 *
 * @internal
 */
export interface EngineStarters {
  /** the core engine: a server on the runtime's node:http (@ws/node's serve) */
  core(options: Omit<EngineServeOptions, "engine">): Promise<ServerControls & { readonly port: number; readonly hostname: string }>;
  /** the runtime engine: the runtime's own server and WebSocket; `stop` stops listening */
  runtime(options: Omit<EngineServeOptions, "engine">): Promise<{ controls: ServerControls; port: number; stop(): Promise<void> }>;
}

/** The keys serve() takes on a runtime with both engines, besides a server's (EngineServeOptions). */
export const ENGINE_SERVE_KEYS: readonly string[] = ["engine", "port", "hostname", "tls", "fetch", "http2"];

/** What serve() says of the options of another entry point (or of `ws`) that do not apply to it. */
export const SERVE_FOREIGN_OPTIONS: Readonly<Record<string, string>> = {
  server: "serve() starts its own server; to use yours, attach(yourServer, …) on Node, bunWebSocket(…) in your own Bun server, denoWebSocket(…) in your own Deno server",
  noServer: "serve() starts its own server; to take the upgrades yourself, attach({ noServer: true, … }) and its handleUpgrade on Node, or bunWebSocket(…) / denoWebSocket(…) in your own server",
  host: "use hostname (host is ws's option)",
};

/**
 * serve() on a runtime with both engines: starts the one `options.engine` names ("core" by default).
 * `adapterKeys`: the keys the adapter's serve() takes besides EngineServeOptions (Bun's `sockets`).
 *
 * @internal
 */
export async function serveEngines(options: EngineServeOptions, start: EngineStarters, adapterKeys: readonly string[] = []): Promise<EngineServeHandle> {
  checkServerOptions(options, "serve() options", { keys: [...ENGINE_SERVE_KEYS, ...adapterKeys], foreign: SERVE_FOREIGN_OPTIONS } satisfies AdapterKeys);
  checkServes(options);
  checkPort(options.port);
  if (options.engine !== undefined && options.engine !== "core" && options.engine !== "runtime") {
    throw new InvalidOptionError("engine", options.engine, '"core" or "runtime"');
  }
  const { engine = "core", ...rest } = options;
  if (options.http2 !== undefined && typeof options.http2 !== "boolean") throw new InvalidOptionError("http2", options.http2, "true or false");
  if (options.http2 && engine === "runtime") {
    throw new InvalidOptionError("http2", options.http2, 'false with engine "runtime": the runtime\'s own server has no WebSockets over HTTP/2 (RFC 8441); engine "core" serves them on node:http2');
  }
  const tls = Boolean(options.tls);
  if (engine === "core") {
    const server = await start.core(rest);
    return serveHandle(engine, server, { port: server.port, hostname: server.hostname, tls });
  }
  const server = await start.runtime(rest);
  return serveHandle(engine, server.controls, { port: server.port, hostname: options.hostname, tls }, server.stop);
}

/**
 * True for a request that asks for a WebSocket upgrade (it may still be refused).
 *
 * @example
 * ```ts
 * import { isWebSocketRequest } from "@ws/core";
 *
 * export function route(request: Request): string {
 *   return isWebSocketRequest(request) ? "upgrade" : "http";
 * }
 * ```
 */
export function isWebSocketRequest(request: Request): boolean {
  return asksForWebSocket(request.headers);
}

/**
 * An UpgradeRequest from a fetch-API Request (which is its `raw`).
 *
 * @example
 * ```ts
 * import { upgradeRequestFrom } from "@ws/core/adapter";
 *
 * const request = new Request("http://example.com/chat?room=lobby", { headers: { upgrade: "websocket" } });
 * const req = upgradeRequestFrom(request, "203.0.113.7"); // the peer's address, where the runtime gives it
 * console.log(req.url, req.query.get("room"), req.raw === request); // "/chat?room=lobby" "lobby" true
 * ```
 */
export function upgradeRequestFrom(request: Request, remoteAddress?: string, remotePort?: number): UpgradeRequest<Request> {
  const u = new URL(request.url);
  return createUpgradeRequest({
    method: request.method,
    url: u.pathname + u.search,
    httpVersion: "1.1",
    headers: request.headers,
    remoteAddress,
    remotePort,
    raw: request,
  });
}

/**
 * The HTTP response for a refused upgrade (status, reason as the body, extra headers), with `Connection: close`
 * as the core engine's: the runtime's HTTP server then closes the connection once the response is out, instead
 * of keeping it for a next request that a WebSocket client never sends.
 *
 * @example
 * ```ts
 * import { RuntimeServer, refusalResponse, upgradeRequestFrom } from "@ws/core/adapter";
 *
 * const server = new RuntimeServer({ services: {} }, "MyRuntime");
 * export async function answer(request: Request): Promise<Response | undefined> {
 *   const verdict = await server.decide(upgradeRequestFrom(request));
 *   if (!verdict.ok) return refusalResponse(verdict); // e.g. 404 "no service at /x", with Connection: close
 *   return undefined; // accepted: upgrade with the runtime (see RuntimeServer)
 * }
 * ```
 */
export function refusalResponse(refusal: { status: number; reason: string; headers?: Record<string, string> }): Response {
  return markDecided(
    new Response(`${refusal.reason}\n`, {
      status: refusal.status,
      headers: { "Content-Type": "text/plain; charset=utf-8", Connection: "close", ...refusal.headers },
    }),
  );
}

/** Refusals the server made itself (counted and logged where they were decided), as opposed to a fetch handler's own. */
const DECIDED = new WeakSet<Response>();

/** @internal */
export function markDecided(response: Response): Response {
  DECIDED.add(response);
  return response;
}

/** Whether `response` is a refusal the server made itself (`refusalResponse`), not one a fetch handler wrote. @internal */
export function decidedRefusal(response: Response): boolean {
  return DECIDED.has(response);
}

/**
 * The answer to a plain HTTP request when there is no fetch handler: 426 Upgrade Required.
 *
 * @internal
 */
export function webSocketOnlyResponse(): Response {
  return new Response("This endpoint speaks WebSocket only\n", {
    status: 426,
    headers: { "Content-Type": "text/plain", Upgrade: "websocket", Connection: "close" },
  });
}
