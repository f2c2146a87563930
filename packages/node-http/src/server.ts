/**
 * Node's HTTP upgrade path → @ws/core: `attach()` to any http/https server, `serve()` for a standalone one.
 */
import * as http from "node:http";
import * as https from "node:https";
import * as http2 from "node:http2";
import type { Duplex } from "node:stream";
import type { AddressInfo } from "node:net";
import * as crypto from "node:crypto";
import * as zlib from "node:zlib";
import { lookup } from "node:dns/promises";
import {
  consoleLogger,
  createUpgradeRequest,
  resolveSettings,
  InvalidOptionError,
  REFUSED_UPGRADE_LINGER,
  type Connection,
  type Logger,
  type Router,
  type ServerControls,
  type ServerOptions,
  type UpgradeRequest,
} from "@ws/core";
import {
  buildRejectResponse,
  checkPort,
  checkServerOptions,
  checkServes,
  listening,
  logText,
  RawHeaders,
  ServerCore,
  serverControls,
  zlibCodec,
  CoreFetchUpgrade,
  type AdapterKeys,
  type AdapterPlumbing,
  type RouteMatch,
  type UpgradeOutcome,
} from "@ws/core/adapter";
import { WEBSOCKET_GUID } from "@ws/core/protocol";
import { allocateBuffer, socketByteStream } from "./byte-stream.ts";
import { answerFetch, type FetchHandler } from "./fetch-bridge.ts";
import { refusalBytes, upgradeFetchRequest } from "./fetch-upgrade.ts";
import { createHttp2Server, sessionMemoryMb, Http2Sessions, isHttp2Server, listenForExtendedConnect, type AnyHttp2Server } from "./http2.ts";

/** A node:http server's options: a server's (ServerOptions), `handshakeTimeout` included. */
export type NodeServerOptions = ServerOptions;

/**
 * An upgrade request on node:http: `raw` is the server's IncomingMessage; over HTTP/2 (`httpVersion` "2"),
 * node:http2's Http2ServerRequest for the stream.
 */
export type NodeUpgradeRequest = UpgradeRequest<http.IncomingMessage | http2.Http2ServerRequest>;

/**
 * `attach()`'s options: a server's options (services, routes, limits, hooks, `broker`) and two of its own,
 * `noServer` and `shouldHandle`. The server you attach to decides where it listens and whether it has TLS.
 */
export interface AttachOptions extends NodeServerOptions {
  /**
   * register no 'upgrade' listener on the server: hand the upgrades to `handleUpgrade` yourself (ws's
   * `noServer`). `attach({ noServer: true, ... })` needs no server at all.
   */
  noServer?: boolean;
  /**
   * whether an upgrade is for this server at all, before any routing (ws's `shouldHandle`): one it refuses is
   * treated as a path no service claims (left to the server's other 'upgrade' listeners, else 404)
   */
  shouldHandle?(req: NodeUpgradeRequest): boolean;
  /**
   * takes the upgrade requests no registered service (nor `resolve`) claims, as a fetch-API `Request`: call
   * `info.upgrade(request, service, { data })` and return the Response it gives; any other Response (a 401 from
   * your middleware, a redirect) is written to the socket as the refusal — status, headers and (at most 64 KiB of)
   * body — and the socket closed. Decided within `handshakeTimeout`. Plain HTTP stays with your server's own
   * request listener (serve()'s `fetch` answers both).
   */
  fetch?: FetchHandler;
}

/** The server's controls (connections, register, publish, close, …) and its runtime-agnostic state. */
export interface WebSocketServer extends ServerControls {
  /** the runtime-agnostic server state: router, topics, connections */
  readonly core: ServerCore;
}

/** What `attach()` returns: the server's controls, the upgrade handler, and `detach()`. */
export interface AttachedServer extends WebSocketServer {
  /**
   * Takes one upgrade: routes it, answers it (101, a refusal, 404 when it is not this server's) and opens the
   * connection. For `noServer` use, from your own 'upgrade' listener. Resolves to the connection once open,
   * undefined when refused or the socket went away; never rejects.
   */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<Connection<unknown> | undefined>;
  /** removes the 'upgrade' listener (if any); connections already open stay open */
  detach(): void;
}

function toUpgradeRequest(req: http.IncomingMessage): NodeUpgradeRequest {
  // Node's own rawHeaders list, kept as it is (its common names and values as shared strings): no header map
  const headers = RawHeaders.sharing(req.rawHeaders);
  return createUpgradeRequest({
    method: req.method ?? "GET",
    url: req.url ?? "/",
    httpVersion: req.httpVersion === "1.1" ? "1.1" : req.httpVersion, // the literal: one string for all
    headers,
    remoteAddress: req.socket.remoteAddress,
    remotePort: req.socket.remotePort,
    raw: req,
  });
}

const codec = zlibCodec(zlib);

/** Swallows a socket error until the connection owns the socket (a reset mid-handshake must not crash anything). */
function ignoreError(): void {}

/**
 * Answers a refused upgrade and lets go of its socket: the response is written and the socket half-closed, then
 * destroyed `REFUSED_UPGRADE_LINGER` ms later unless the client has closed first. node:http's sockets allow half
 * open connections, so without the timer a client that never closes keeps the descriptor for good.
 */
function refuseSocket(socket: Duplex, response: Uint8Array | string): void {
  socket.on("error", ignoreError);
  socket.end(response);
  const linger = setTimeout(() => socket.destroy(), REFUSED_UPGRADE_LINGER);
  linger.unref();
  socket.once("close", () => clearTimeout(linger));
}

/**
 * node:crypto's one-shot digest where the runtime has it (Node ≥ 20.12; Bun's node:crypto may not): no Hash
 * object (and its native handle) per handshake.
 */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: "base64") => string }).hash;

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * Sec-WebSocket-Accept with node:crypto's SHA-1 (native; the core's portable one is JavaScript).
 *
 * @internal
 */
export function nativeAcceptKey(key: string): string {
  // hash() reads a string as UTF-8: the same bytes as latin1 for ASCII (a handshake's key is base64, checked before)
  if (oneShotHash && isAscii(key)) return oneShotHash("sha1", key + WEBSOCKET_GUID, "base64");
  return crypto.createHash("sha1").update(key + WEBSOCKET_GUID, "latin1").digest("base64");
}

/** What Node gives the core's server: node:zlib, Buffers, node:crypto's SHA-1. */
const NODE_PLUMBING: AdapterPlumbing = { deflateCodec: codec, allocate: allocateBuffer, acceptKey: nativeAcceptKey };

/** attach()'s own keys, and what it says of the options of `ws` and of serve() that do not apply to it. */
const ATTACH_KEYS: AdapterKeys = {
  keys: ["noServer", "shouldHandle", "fetch"],
  foreign: {
    port: "attach() serves on the server you give it: set the port where it listens (server.listen(port)), or use serve({ port, services })",
    host: "attach() serves on the server you give it: set the address where it listens (server.listen(port, host)), or use serve({ hostname, services })",
    hostname: "attach() serves on the server you give it: set the address where it listens (server.listen(port, host)), or use serve({ hostname, services })",
    server: "pass the server as attach()'s first argument: attach(server, { services })",
    tls: "attach() serves on the server you give it: for wss://, give it an https.createServer({ key, cert }), or use serve({ tls, services })",
  },
};

/** serve()'s own keys on node:http, and what it says of the options of `ws` and of attach() that do not apply to it. */
const SERVE_KEYS: AdapterKeys = {
  // engine: taken for code shared with Bun and Deno; Node has one engine, "core"
  keys: ["port", "host", "hostname", "tls", "fetch", "engine", "http2"],
  foreign: {
    server: "serve() starts its own server; to use yours, attach(yourServer, …)",
    noServer: "serve() starts its own server; to take the upgrades yourself, attach({ noServer: true, … }) and call its handleUpgrade",
    shouldHandle: "serve() takes every upgrade to its services; shouldHandle is attach()'s option, for a server you share",
  },
};

const isFunction = (v: unknown): v is (...args: never[]) => unknown => typeof v === "function";

/** An EventEmitter with what attach() uses of a server: a node:http or node:https server, or one like it. */
function isServer(v: unknown): v is http.Server {
  if (typeof v !== "object" || v === null) return false;
  const s = v as Record<string, unknown>;
  return isFunction(s.on) && isFunction(s.off) && isFunction(s.listenerCount);
}

/** Refuses, with the fix, what a new user passes to attach() in place of a server and options. */
function checkAttachArguments(first: unknown, hasOptions: boolean): void {
  if (isFunction(first) && isFunction((first as { listen?: unknown }).listen)) {
    throw new TypeError("attach() takes the http.Server that app.listen() returns (const server = app.listen(3000); attach(server, …)), not the Express app");
  }
  if (!hasOptions) {
    if (isServer(first)) throw new TypeError(`attach() needs options after the server: attach(server, { services: { "/chat": chat } })`);
    if (typeof first === "object" && first !== null && (first as { noServer?: unknown }).noServer !== true) {
      throw new TypeError("attach() takes the server first: attach(server, { services }), or attach({ noServer: true, … }) and call its handleUpgrade yourself");
    }
    return;
  }
  if (isServer(first)) return;
  if (typeof first === "object" && first !== null && isServer((first as { server?: unknown }).server)) {
    throw new TypeError("attach() takes a node:http or node:https server; this holds one: attach(yours.server, …) (Fastify's fastify.server)");
  }
  const what = first === null || first === undefined ? String(first) : isFunction(first) ? "a function" : typeof first === "object" ? "an object without on/off/listenerCount" : typeof first;
  throw new TypeError(`attach() takes a node:http or node:https server (http.createServer(), app.listen()'s return), not ${what}`);
}

/**
 * Serves WebSocket services on an existing http or https server through its 'upgrade' event; the server
 * keeps answering ordinary HTTP requests. Refused upgrades get their status, malformed requests 400 (426 for
 * a wrong version). An upgrade no service claims (nor `resolve`, or one `shouldHandle` refuses) is left alone
 * when the server has other 'upgrade' listeners (another library's WebSocket endpoint), and gets 404 when
 * this is the only one. With `noServer`, no listener is registered: call `handleUpgrade` yourself.
 * Refused at once, with the fix: what is not a node:http or node:https server (the Express app: pass the
 * http.Server that `app.listen()` returns), and an option that is not attach()'s (`ws`'s `path`, `port`, …).
 *
 * @example
 * ```ts
 * import { createServer } from "node:http";
 * import { attach, defineService } from "@ws/node";
 *
 * const echo = defineService({ received: (message, conn) => void conn.send(message) });
 * const server = createServer((_req, res) => res.end("hello")); // or: const server = app.listen(3000) (Express)
 * const ws = attach(server, { services: { "/echo": echo } });
 * server.listen(8080);
 * // ws.connections, ws.publish(topic, message), await ws.close()
 * ```
 */
export function attach(server: http.Server | https.Server | AnyHttp2Server, options: AttachOptions): AttachedServer;
export function attach(options: AttachOptions & { noServer: true }): AttachedServer;
export function attach(
  serverOrOptions: http.Server | https.Server | AnyHttp2Server | (AttachOptions & { noServer: true }),
  maybeOptions?: AttachOptions,
): AttachedServer {
  checkAttachArguments(serverOrOptions, maybeOptions !== undefined);
  const server = maybeOptions ? (serverOrOptions as http.Server | https.Server | AnyHttp2Server) : undefined;
  const options = maybeOptions ?? (serverOrOptions as AttachOptions);
  checkServerOptions(options, "attach() options", ATTACH_KEYS);
  if (resolveSettings("server", [options]).reusePort) {
    throw new InvalidOptionError("reusePort", true, "false with attach(): the server you attach to listens, so give reusePort to its listen() (Node 22.12+, Bun, Deno), or use serve({ reusePort })");
  }
  return attachTo(server, options);
}

/** attach() once its arguments are checked (serve() comes here with its own options: port, tls, …). */
function attachTo(server: http.Server | https.Server | AnyHttp2Server | undefined, options: AttachOptions, own = false): AttachedServer {
  const core = new ServerCore(options, NODE_PLUMBING);
  core.warnHooklessServices();
  const logger: Logger = core.logger;
  const handshakeTimeout = core.settings.handshakeTimeout;

  /** Writes the outcome of an upgrade's negotiation to its socket and opens the connection. */
  const finish = (outcome: UpgradeOutcome, socket: Duplex, head: Buffer, timer: ReturnType<typeof setTimeout> | undefined): Connection<unknown> | undefined => {
    clearTimeout(timer);
    if (socket.destroyed) {
      if (outcome.ok) outcome.release(); // the client went away while the upgrade was decided
      return undefined;
    }
    if (!outcome.ok) {
      refuseSocket(socket, Buffer.from(outcome.response));
      return undefined;
    }
    (socket as Duplex & { setNoDelay?(v: boolean): void }).setNoDelay?.(true);
    (socket as Duplex & { setTimeout?(ms: number): void }).setTimeout?.(0);
    const headBytes = head.length > 0 ? new Uint8Array(head.buffer, head.byteOffset, head.byteLength) : undefined;
    const conn = outcome.accept(socketByteStream(socket), headBytes);
    // without a heartbeat (idleTimeout 0), TCP keepalive where the socket has it: a peer that vanished without a
    // FIN is noticed by the OS. With one, the heartbeat notices it sooner, and the 4 setsockopt calls are saved.
    if (!conn.settings.idleTimeout) (socket as Duplex & { setKeepAlive?(on: boolean, delay: number): void }).setKeepAlive?.(true, 60_000);
    socket.off("error", ignoreError); // the connection's stream listens for errors now
    return conn;
  };

  const failed = (error: unknown, socket: Duplex, timer: ReturnType<typeof setTimeout> | undefined): undefined => {
    clearTimeout(timer);
    logger.error({ err: error }, `upgrade failed: ${error instanceof Error ? error.message : String(error)}`);
    socket.destroy();
    return undefined;
  };

  /**
   * Negotiates an upgrade and answers it: within this event-loop turn when the service has no upgrade gate
   * (no promise, no timer), else once the gate has answered (bounded by handshakeTimeout).
   */
  const accept = (request: NodeUpgradeRequest, route: RouteMatch | null, socket: Duplex, head: Buffer): Connection<unknown> | undefined | Promise<Connection<unknown> | undefined> => {
    socket.on("error", ignoreError);
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (route?.service.upgrade) {
      timer = setTimeout(() => socket.destroy(), handshakeTimeout);
      timer.unref();
    }
    try {
      const outcome = core.negotiateNow(request, route);
      if (outcome instanceof Promise) {
        return outcome.then(
          (o) => {
            try {
              return finish(o, socket, head, timer);
            } catch (error) {
              return failed(error, socket, timer);
            }
          },
          (error: unknown) => failed(error, socket, timer),
        );
      }
      return finish(outcome, socket, head, timer);
    } catch (error) {
      return failed(error, socket, timer);
    }
  };

  const parse = (req: http.IncomingMessage, socket: Duplex): NodeUpgradeRequest | undefined => {
    try {
      return toUpgradeRequest(req);
    } catch {
      refuseSocket(socket, buildRejectResponse(400, "malformed upgrade request"));
      return undefined;
    }
  };

  /**
   * An upgrade no registered service claims, handed to the fetch handler as a Request: its `info.upgrade` decides
   * it through the server core; what the handler returns is the 101 (`upgrade()`'s Response) or the refusal. The
   * handler and the gate together are bounded by handshakeTimeout (the socket is destroyed then).
   */
  const viaFetch = async (req: http.IncomingMessage, socket: Duplex, head: Buffer, fetch: FetchHandler): Promise<Connection<unknown> | undefined> => {
    socket.on("error", ignoreError);
    let call: CoreFetchUpgrade | undefined;
    const timer = setTimeout(() => {
      // a handler that never returns: the socket goes, and an upgrade it was given frees its connection slot
      call?.abandon();
      socket.destroy();
    }, handshakeTimeout);
    timer.unref();
    const started = Date.now();
    const peer = { remoteAddress: req.socket.remoteAddress, remotePort: req.socket.remotePort };
    let response: Response;
    try {
      const request = upgradeFetchRequest(req, (req.socket as { encrypted?: boolean }).encrypted ? "https" : "http");
      call = new CoreFetchUpgrade(core, request, peer.remoteAddress, peer.remotePort);
      response = await fetch(request, { ...peer, upgrade: call.upgrade });
      if (!(response instanceof Response)) throw new TypeError(`the fetch handler returned ${String(response)}, not a Response`);
    } catch (error) {
      call?.abandon();
      logger.error({ err: error, url: logText(req.url ?? "") }, `fetch handler failed on an upgrade request: ${error instanceof Error ? error.message : String(error)}`);
      clearTimeout(timer);
      if (!socket.destroyed) refuseSocket(socket, buildRejectResponse(500, "Internal Server Error"));
      return undefined;
    }
    const answer = call.settle(response);
    if (!(answer instanceof Response)) return finish(answer, socket, head, timer);
    try {
      const bytes = await refusalBytes(answer, Math.max(0, handshakeTimeout - (Date.now() - started)));
      clearTimeout(timer);
      if (!socket.destroyed) refuseSocket(socket, bytes);
    } catch (error) {
      return failed(error, socket, timer);
    }
    return undefined;
  };

  const handleUpgrade: AttachedServer["handleUpgrade"] = (req, socket, head) => {
    const request = parse(req, socket);
    if (!request) return Promise.resolve(undefined);
    const handled = !options.shouldHandle || options.shouldHandle(request);
    const route = handled ? core.route(request) : null;
    if (!route && handled && options.fetch) return viaFetch(req, socket, head, options.fetch);
    return Promise.resolve(accept(request, route, socket, head));
  };

  const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const request = parse(req, socket);
    if (!request) return;
    const handled = !options.shouldHandle || options.shouldHandle(request);
    const route = handled ? core.route(request) : null;
    // registered services first, then the fetch handler (which takes every other upgrade `shouldHandle` lets through)
    if (!route && handled && options.fetch) {
      void viaFetch(req, socket, head, options.fetch);
      return;
    }
    // not ours: another 'upgrade' listener (another library's endpoint) may take it; 404 only if none can
    if (!route && (server as http.Server).listenerCount("upgrade") > 1) return;
    void accept(request, route, socket, head);
  };
  // an http2 server with allowHTTP1 emits the same 'upgrade' for its HTTP/1.1 connections
  if (server && !options.noServer) (server as http.Server).on("upgrade", onUpgrade);
  // an http2 server: its extended CONNECTs (RFC 8441) too; its HTTP/1.1 connections (allowHTTP1) upgrade as above
  // (SETTINGS_MAX_CONCURRENT_STREAMS: serve()'s own server always; a server attached to when the option is given)
  const streams = own || options.maxConcurrentStreams !== undefined ? core.settings.maxConcurrentStreams : undefined;
  const unlisten = server && !options.noServer && isHttp2Server(server) ? listenForExtendedConnect(server, { core, shouldHandle: options.shouldHandle, fetch: options.fetch }, streams) : undefined;
  // assigned, not spread: the controls' getters (connections, connectionCount, bufferedBytes) stay live
  return Object.assign(handleFor(core), {
    handleUpgrade,
    detach() {
      (server as http.Server | undefined)?.off("upgrade", onUpgrade);
      unlisten?.();
    },
  });
}

function handleFor(core: ServerCore): WebSocketServer {
  return Object.assign(serverControls(core), { core });
}

/**
 * `serve()`'s options on node:http: a server's options (services, routes, limits, hooks, `broker`) and where
 * and how it listens (`port`, `hostname`, `tls`), with a `fetch` handler for plain HTTP requests.
 */
export interface ServeOptions extends NodeServerOptions {
  /** port to listen on; 0 (the default) picks a free one */
  port?: number;
  /** address to bind; default: all interfaces */
  host?: string;
  /** alias of host, as on Bun and Deno */
  hostname?: string;
  /** serve HTTPS / WSS with this key and certificate (PEM) */
  tls?: { key: string | Buffer; cert: string | Buffer; ca?: string | Buffer };
  /**
   * serve HTTP/2 as well: with `tls`, HTTP/2 and HTTP/1.1 on the one port (ALPN), WebSockets over both (RFC 8441's
   * extended CONNECT and the HTTP/1.1 Upgrade) reaching the same services, `fetch` handler and limits; without
   * `tls`, cleartext HTTP/2 with prior knowledge (h2c, for a proxy that speaks it) and no HTTP/1.1.
   * `conn.request.httpVersion` says which ("2" or "1.1"). Streams per session: `maxConcurrentStreams`.
   * @defaultValue `false`
   */
  http2?: boolean;
  /**
   * answers plain HTTP requests (fetch-style, as on Bun and Deno); default: 426 Upgrade Required. The request
   * body is streamed to the handler (read ahead by at most 64 KiB) and the response body streamed back.
   */
  fetch?: FetchHandler;
}

/** What serve() resolves to; `Server` is the underlying Node server's type (node:http2's with `http2: true`). */
export interface ServeHandle<Server = http.Server | https.Server> extends WebSocketServer {
  readonly port: number;
  readonly hostname: string;
  /** ws:// or wss:// base URL */
  readonly url: string;
  /** the underlying Node server (node:http2's with `http2: true`) */
  readonly server: Server;
}

/** node:http2's session memory credit for serve()'s settings: a send buffer per stream (see `sessionMemoryMb`). */
function http2SessionMemory(options: ServeOptions): number {
  const settings = resolveSettings("server", [options]);
  return sessionMemoryMb(settings.maxConcurrentStreams, settings.maxBufferedAmount);
}

/**
 * Whether this runtime's `net.Server.listen()` honours `reusePort` (SO_REUSEPORT): Bun's and Deno's node:net do;
 * Node's from 22.12 and 23.1 (older ones ignore it, so a second process would fail with EADDRINUSE).
 */
function listenHasReusePort(): boolean {
  const versions = process.versions as Record<string, string | undefined>;
  if (versions.bun || versions.deno) return true;
  const [major = 0, minor = 0] = (versions.node ?? "0.0").split(".").map(Number);
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

/** serve()'s `reusePort` where the runtime's listen() ignores it: refused, with the fix. */
function checkReusePort(reusePort: boolean): void {
  if (!reusePort || listenHasReusePort()) return;
  throw new InvalidOptionError(
    "reusePort",
    reusePort,
    `false on Node ${process.versions.node}: its net.Server.listen() has no reusePort before Node 22.12 / 23.1. To serve one port from several processes, use @ws/node/cluster's runPrimary() (with a ClusterBroker in each worker for topics), or upgrade Node`,
  );
}

/**
 * Starts a standalone HTTP(S) server with the given services. Resolves once it is listening. Refused at once,
 * with the fix: neither services nor fetch, and an option that is not serve()'s (`ws`'s `server`, `noServer`, …).
 *
 * @example
 * ```ts
 * import { defineService, serve } from "@ws/node";
 *
 * const echo = defineService({ received: (message, conn) => void conn.send(message) });
 * const server = await serve({ port: 8080, services: { "/echo": echo } });
 * console.log(`listening on ${server.url}/echo`);
 * process.once("SIGTERM", () => void server.close({ timeout: 10_000 }));
 * ```
 */
export async function serve(options: ServeOptions & { http2: true }): Promise<ServeHandle<AnyHttp2Server>>;
export async function serve(options: ServeOptions): Promise<ServeHandle>;
export async function serve(options: ServeOptions): Promise<ServeHandle<http.Server | https.Server | AnyHttp2Server>> {
  checkServerOptions(options, "serve() options", SERVE_KEYS);
  checkServes(options);
  const engine = (options as { engine?: unknown }).engine;
  if (engine !== undefined && engine !== "core") throw new InvalidOptionError("engine", engine, `"core" (the one engine on node:http)`);
  const port = checkPort(options.port);
  const reusePort = resolveSettings("server", [options]).reusePort;
  checkReusePort(reusePort);
  if (options.http2 !== undefined && typeof options.http2 !== "boolean") throw new InvalidOptionError("http2", options.http2, "true or false");
  const requestListener = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => {
    void answerHttp(req, res, options).catch((error: unknown) => {
      (options.logger ?? consoleLogger).error({ err: error, url: logText(req.url ?? "") }, `HTTP handler failed: ${error instanceof Error ? error.message : String(error)}`);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      res.writeHead(500, { "Content-Type": "text/plain" });
      res.end("Internal Server Error\n");
    });
  };
  const host = options.hostname ?? options.host;
  const attempt = { hostname: host, port: port ?? 0, tls: options.tls };
  // node:https checks the key and certificate here (Node, Bun): a bad one is a ListenError too
  const server: http.Server | https.Server | AnyHttp2Server = await listening(attempt, () =>
    options.http2
      ? createHttp2Server(options, requestListener, http2SessionMemory(options))
      : options.tls
        ? https.createServer({ key: options.tls.key, cert: options.tls.cert, ca: options.tls.ca }, requestListener)
        : http.createServer(requestListener),
  );
  const ws = attachTo(server, options, true);
  const sessions = isHttp2Server(server) ? new Http2Sessions(server, ws.core.settings.httpIdleTimeout) : undefined;
  await listening(
    attempt,
    () =>
      new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen({ port: port ?? 0, host, ...(reusePort ? { reusePort } : {}) }, () => {
          server.off("error", reject);
          resolve();
        });
      }),
    lookup,
  );
  server.on("error", (error) => ws.core.logger.error({ err: error }, `server error: ${error.message}`));
  const address = server.address() as AddressInfo;
  const hostname = host ?? "localhost";
  const scheme = options.tls ? "wss" : "ws";
  const urlHost = hostname.includes(":") ? `[${hostname}]` : hostname;
  return {
    ...ws,
    get connections() {
      return ws.core.connections;
    },
    get connectionCount() {
      return ws.core.connectionCount;
    },
    get bufferedBytes() {
      return ws.core.bufferedBytes;
    },
    port: address.port,
    hostname,
    url: `${scheme}://${urlHost}:${address.port}`,
    server,
    async close(closeOptions) {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      await ws.close(closeOptions);
      if (sessions) await sessions.close(closeOptions?.timeout ?? 1000);
      else (server as http.Server).closeIdleConnections?.();
      await stopped;
    },
  };
}

async function answerHttp(
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
  options: ServeOptions,
): Promise<void> {
  if (!options.fetch) {
    // HTTP/2 has no Upgrade nor Connection field (RFC 9113 §8.2.2)
    const headers = req.httpVersionMajor === 2 ? { "Content-Type": "text/plain" } : { "Content-Type": "text/plain", Upgrade: "websocket", Connection: "close" };
    res.writeHead(426, headers);
    res.end("This endpoint speaks WebSocket only\n");
    return;
  }
  await answerFetch(req as http.IncomingMessage, res as http.ServerResponse, options.fetch, options.tls ? "https" : "http");
}

export type { Router };
