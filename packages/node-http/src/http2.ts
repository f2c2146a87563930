/**
 * WebSockets over HTTP/2 (RFC 8441) on node:http2: an extended CONNECT (`:protocol` = "websocket") on one stream of
 * a session is decided by the same ServerCore as an HTTP/1.1 Upgrade, answered `:status 200` (or the refusal's
 * status, headers and body) on the stream, and the stream — a Duplex, like a socket — carries the RFC 6455 frames.
 * END_STREAM stands for the TCP FIN, RST_STREAM for the reset (RFC 8441 §5).
 */
import * as http2 from "node:http2";
import { createUpgradeRequest, type Connection, type UpgradeRequest } from "@ws/core";
import { CoreFetchUpgrade, logText, RawHeaders, type RouteMatch, type ServerCore, type UpgradeOutcome } from "@ws/core/adapter";
import { socketByteStream } from "./byte-stream.ts";
import type { FetchHandler } from "./fetch-bridge.ts";
import { boundedBody, MAX_REFUSAL_BODY } from "./fetch-upgrade.ts";

/** An upgrade request over HTTP/2: `raw` is node:http2's compatibility request for the stream. */
export type Http2UpgradeRequest = UpgradeRequest<http2.Http2ServerRequest>;

/** A node:http2 server, secure (TLS, ALPN "h2", HTTP/1.1 too with `allowHTTP1`) or cleartext (h2c). */
export type AnyHttp2Server = http2.Http2SecureServer | http2.Http2Server;

/** Whether `server` is a node:http2 server (it has `updateSettings`, which node:http's servers do not). */
export function isHttp2Server(server: unknown): server is AnyHttp2Server {
  return typeof (server as { updateSettings?: unknown } | null)?.updateSettings === "function";
}

/**
 * Header fields HTTP/2 forbids (RFC 9113 §8.2.2: connection-specific) and node:http2 refuses to send; a gate's
 * or a fetch handler's response written on a stream leaves them out.
 */
export const CONNECTION_SPECIFIC = new Set(["connection", "upgrade", "keep-alive", "proxy-connection", "transfer-encoding"]);

/** The HTTP/2 form of a response's header fields: names in lowercase, connection-specific ones left out. */
export function http2Headers(status: number, headers: Record<string, string> | undefined): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = { ":status": status };
  if (headers) {
    for (const name in headers) {
      if (!Object.hasOwn(headers, name)) continue;
      const lower = name.toLowerCase();
      if (!CONNECTION_SPECIFIC.has(lower)) out[lower] = headers[name];
    }
  }
  return out;
}

/**
 * The UpgradeRequest of an extended CONNECT: `httpVersion` "2", the method and pseudo-header fields as node:http2
 * received them (`:protocol`, `:scheme`, `:path`, `:authority` among the headers), `url` the `:path`, and a `host`
 * field from `:authority` when the request has none (so a gate reads the same field over both versions). Cookie
 * fields, which HTTP/2 may split, are joined with "; " (RFC 9113 §8.2.3).
 */
export function toHttp2UpgradeRequest(req: http2.Http2ServerRequest, stream: http2.ServerHttp2Stream): Http2UpgradeRequest {
  const raw: string[] = [];
  const rawHeaders = req.rawHeaders;
  let host = false;
  let cookie: string | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const value = rawHeaders[i + 1]!;
    if (name === "cookie") {
      cookie = cookie === undefined ? value : `${cookie}; ${value}`;
      continue;
    }
    if (name === "host") host = true;
    raw.push(name, value);
  }
  if (cookie !== undefined) raw.push("cookie", cookie);
  const authority = req.headers[":authority"];
  if (!host && typeof authority === "string") raw.push("host", authority);
  const socket = stream.session?.socket;
  return createUpgradeRequest({
    method: req.method,
    url: typeof req.headers[":path"] === "string" ? req.headers[":path"] : "/",
    httpVersion: "2",
    headers: RawHeaders.sharing(raw),
    remoteAddress: socket?.remoteAddress,
    remotePort: socket?.remotePort,
    raw: req,
  });
}

/**
 * Rapid reset (CVE-2023-44487): WebSocket streams a session's peer may reset (RST_STREAM) within `RAPID_RESET_AGE` ms
 * of their opening before the session is destroyed (GOAWAY ENHANCE_YOUR_CALM, its socket closed). Each such
 * stream cost the server a whole upgrade decision and a connection opened and torn down; a real client closes its
 * WebSockets with a close frame and END_STREAM, and a browser tab that goes resets a handful, not a hundred.
 * node:http2 (nghttp2) has its own limit on resets per session, later and without closing the socket.
 */
export const RAPID_RESET_LIMIT = 100;
/** A reset counts as rapid when the stream was opened less than this many milliseconds before. */
export const RAPID_RESET_AGE = 1000;

/** Per session: the rapid resets so far. */
const rapidResets = new WeakMap<http2.Http2Session, number>();

/** Counts a stream the peer reset young; past the limit, the session goes (one log line). */
function watchResets(core: ServerCore, stream: http2.ServerHttp2Stream): void {
  const opened = Date.now();
  stream.once("aborted", () => {
    const session = stream.session;
    if (!session || session.destroyed || Date.now() - opened >= RAPID_RESET_AGE) return;
    const count = (rapidResets.get(session) ?? 0) + 1;
    rapidResets.set(session, count);
    if (count < RAPID_RESET_LIMIT) return;
    const socket = session.socket;
    core.logger.warn(
      { remoteAddress: socket?.remoteAddress },
      `HTTP/2 session from ${socket?.remoteAddress ?? "?"} closed: ${count} WebSocket streams reset within ${RAPID_RESET_AGE} ms of opening (rapid reset, CVE-2023-44487)`,
    );
    session.destroy(undefined, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
  });
}

/** Swallows a stream error until the connection owns the stream (a reset mid-handshake must not crash anything). */
function ignoreError(): void {}

/** Answers a refused extended CONNECT on its stream: the status, the refusal's header fields and its short body. */
export function refuseStream(stream: http2.ServerHttp2Stream, status: number, body: string | Uint8Array, headers?: Record<string, string>): void {
  stream.on("error", ignoreError);
  if (stream.destroyed || stream.closed) return;
  try {
    if (!stream.headersSent) {
      const out = http2Headers(status, headers);
      out["content-type"] ??= "text/plain; charset=utf-8";
      out["content-length"] = typeof body === "string" ? Buffer.byteLength(body) : body.byteLength;
      stream.respond(out);
    }
    stream.end(body);
  } catch {
    stream.destroy();
  }
}

/** What the HTTP/2 upgrade path reads of its server. */
export interface Http2UpgradeContext {
  readonly core: ServerCore;
  /** whether an upgrade is for this server at all (attach()'s `shouldHandle`) */
  shouldHandle?(req: UpgradeRequest<unknown>): boolean;
  /** takes the extended CONNECTs no service claims (serve()'s and attach()'s `fetch`) */
  fetch?: FetchHandler;
}

type Timer = ReturnType<typeof setTimeout> | undefined;

/** Writes an upgrade's outcome on its stream: 200 and the connection opened over the stream, or the refusal. */
function answerStream(stream: http2.ServerHttp2Stream, outcome: UpgradeOutcome, timer: Timer): Connection<unknown> | undefined {
  clearTimeout(timer);
  if (stream.destroyed || stream.closed) {
    if (outcome.ok) outcome.release(); // the client reset the stream while the upgrade was decided
    return undefined;
  }
  if (!outcome.ok) {
    refuseStream(stream, outcome.status, `${outcome.reason}\n`, outcome.headers);
    return undefined;
  }
  stream.respond(http2Headers(200, outcome.headers));
  stream.setTimeout(0);
  const conn = outcome.open(socketByteStream(stream));
  stream.off("error", ignoreError); // the connection's stream listens for errors now
  return conn;
}

function failedStream(core: ServerCore, stream: http2.ServerHttp2Stream, error: unknown, timer: Timer): undefined {
  clearTimeout(timer);
  core.logger.error({ err: error }, `upgrade failed: ${error instanceof Error ? error.message : String(error)}`);
  stream.destroy();
  return undefined;
}

/**
 * Takes one extended CONNECT: routes it, decides it through the server core (validation, maxConnections, the
 * service's gate bounded by handshakeTimeout, subprotocol, permessage-deflate) and answers on the stream — 200
 * and the connection opened over the stream, or the refusal. One no service claims goes to the `fetch` handler,
 * when there is one. Resolves to the connection once open, undefined when refused or the stream went away; never
 * rejects.
 */
export function upgradeStream(
  context: Http2UpgradeContext,
  req: http2.Http2ServerRequest,
  stream: http2.ServerHttp2Stream,
): Connection<unknown> | undefined | Promise<Connection<unknown> | undefined> {
  const { core } = context;
  stream.on("error", ignoreError);
  watchResets(core, stream);
  let request: Http2UpgradeRequest;
  try {
    request = toHttp2UpgradeRequest(req, stream);
  } catch {
    refuseStream(stream, 400, "malformed extended CONNECT\n");
    return undefined;
  }
  const handled = !context.shouldHandle || context.shouldHandle(request);
  const route: RouteMatch | null = handled ? core.route(request) : null;
  if (!route && handled && context.fetch) return upgradeStreamViaFetch(core, req, stream, request, context.fetch);
  let timer: Timer;
  if (route?.service.upgrade) {
    timer = setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), core.settings.handshakeTimeout);
    timer.unref();
  }
  try {
    const outcome = core.negotiateNow(request, route);
    if (outcome instanceof Promise) {
      return outcome.then((o) => {
        try {
          return answerStream(stream, o, timer);
        } catch (error) {
          return failedStream(core, stream, error, timer);
        }
      }, (error: unknown) => failedStream(core, stream, error, timer));
    }
    return answerStream(stream, outcome, timer);
  } catch (error) {
    return failedStream(core, stream, error, timer);
  }
}

/**
 * The fetch-API Request a fetch handler is given for an extended CONNECT: a GET with `Upgrade: websocket` and
 * `Connection: Upgrade` (a Request cannot have the CONNECT method, and the handler's `isWebSocketRequest` and
 * routing read it as the same WebSocket request as over HTTP/1.1), the `:scheme`, `:authority` and `:path` as its
 * URL, the other header fields as they came.
 */
export function http2UpgradeFetchRequest(req: http2.Http2ServerRequest): Request {
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]!.charCodeAt(0) !== 0x3a) headers.append(raw[i]!, raw[i + 1]!);
  headers.set("upgrade", "websocket");
  headers.set("connection", "Upgrade");
  const scheme = req.headers[":scheme"] === "http" ? "http" : "https";
  const authority = req.headers[":authority"] ?? req.headers.host ?? "localhost";
  return new Request(`${scheme}://${String(authority)}${String(req.headers[":path"] ?? "/")}`, { method: "GET", headers });
}

/**
 * An extended CONNECT no service claims, handed to the fetch handler (as on HTTP/1.1): its `info.upgrade` decides
 * it through the server core, with the HTTP/2 request; what the handler returns is the 200 (`upgrade()`'s Response)
 * or the refusal — status, headers and at most 64 KiB of body on the stream. Bounded by handshakeTimeout.
 */
async function upgradeStreamViaFetch(
  core: ServerCore,
  req: http2.Http2ServerRequest,
  stream: http2.ServerHttp2Stream,
  request: Http2UpgradeRequest,
  fetch: FetchHandler,
): Promise<Connection<unknown> | undefined> {
  let call: CoreFetchUpgrade | undefined;
  const timer = setTimeout(() => {
    call?.abandon();
    stream.close(http2.constants.NGHTTP2_CANCEL);
  }, core.settings.handshakeTimeout);
  timer.unref();
  const started = Date.now();
  const peer = { remoteAddress: request.remoteAddress, remotePort: request.remotePort };
  let response: Response;
  try {
    const fetchRequest = http2UpgradeFetchRequest(req);
    call = new CoreFetchUpgrade(core, fetchRequest, peer.remoteAddress, peer.remotePort, request);
    response = await fetch(fetchRequest, { ...peer, upgrade: call.upgrade });
    if (!(response instanceof Response)) throw new TypeError(`the fetch handler returned ${String(response)}, not a Response`);
  } catch (error) {
    call?.abandon();
    clearTimeout(timer);
    core.logger.error({ err: error, url: logText(request.url) }, `fetch handler failed on an upgrade request: ${error instanceof Error ? error.message : String(error)}`);
    refuseStream(stream, 500, "Internal Server Error\n");
    return undefined;
  }
  const answer = call.settle(response);
  if (!(answer instanceof Response)) return answerStream(stream, answer, timer);
  try {
    const status = answer.status >= 200 && answer.status <= 999 ? answer.status : 500;
    const headers: Record<string, string> = {};
    answer.headers.forEach((value, name) => {
      if (name !== "content-length" && name !== "set-cookie") headers[name] = value;
    });
    const parts = answer.body ? await boundedBody(answer.body, MAX_REFUSAL_BODY, Math.max(0, core.settings.handshakeTimeout - (Date.now() - started))) : [];
    clearTimeout(timer);
    refuseStream(stream, status, Buffer.concat(parts), headers);
  } catch (error) {
    return failedStream(core, stream, error, timer);
  }
  return undefined;
}

/** Whether node:http2's compatibility request is an extended CONNECT (it has a `:protocol`). */
export function isExtendedConnect(req: http2.Http2ServerRequest): boolean {
  return req.method === "CONNECT" && req.headers[":protocol"] !== undefined;
}

/**
 * Listens for extended CONNECTs on a node:http2 server: through its 'connect' event when it has a request
 * listener (node:http2's compatibility layer turns every CONNECT into one, and answers 405 when nothing listens),
 * else through its 'stream' event. A CONNECT that is not an extended one is left to the server's other 'connect'
 * listeners, else answered 405. Advertises SETTINGS_ENABLE_CONNECT_PROTOCOL on the server's new sessions, and
 * SETTINGS_MAX_CONCURRENT_STREAMS when `maxConcurrentStreams` is given. Returns the function that removes the
 * listeners.
 */
export function listenForExtendedConnect(server: AnyHttp2Server, context: Http2UpgradeContext, maxConcurrentStreams?: number): () => void {
  const settings: http2.Settings = { enableConnectProtocol: true };
  if (maxConcurrentStreams !== undefined) settings.maxConcurrentStreams = concurrentStreams(maxConcurrentStreams);
  server.updateSettings(settings);
  const onConnect = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
    if (isExtendedConnect(req)) {
      void upgradeStream(context, req, req.stream);
      return;
    }
    if (server.listenerCount("connect") > 1) return; // another listener's (a CONNECT proxy)
    res.writeHead(405, { allow: "GET, HEAD, POST" });
    res.end();
  };
  const onStream = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => {
    if (server.listenerCount("request") > 0) return; // the compatibility layer emits 'connect' for it
    if (headers[":method"] !== "CONNECT" || headers[":protocol"] === undefined) return;
    const req = new http2.Http2ServerRequest(stream, headers, {}, rawHeaders);
    void upgradeStream(context, req, stream);
  };
  // no Nagle delay on the session's socket: WebSocket frames are small and go out at once, as on HTTP/1.1
  const onSession = (socket: { setNoDelay?(on: boolean): void }) => void socket.setNoDelay?.(true);
  server.on("connect", onConnect);
  server.on("stream", onStream);
  server.on("connection", onSession);
  return () => {
    server.off("connect", onConnect);
    server.off("stream", onStream);
    server.off("connection", onSession);
  };
}

/** What `serve({ http2: true })` takes to make its node:http2 server. */
export interface Http2ServeOptions {
  tls?: { key: string | Buffer; cert: string | Buffer; ca?: string | Buffer };
}

/** node:http2's own `maxSessionMemory` (MB): its credit for what a session holds besides our WebSockets' send buffers. */
const NODE_SESSION_MEMORY_MB = 10;

/**
 * node:http2's `maxSessionMemory` (in MB) for a session of `streams` WebSockets of `sendBuffer` bytes each: node:http2
 * refuses every new stream of a session (RST_STREAM ENHANCE_YOUR_CALM) while the data queued on it is above that
 * credit, so one WebSocket sending a large message to a slow reader would lock the session's other WebSockets and
 * requests out. Each WebSocket's queue is bounded by `maxBufferedAmount` already (as on its own HTTP/1.1
 * connection), so the credit is node's default plus one send buffer per stream.
 */
export function sessionMemoryMb(streams: number, sendBuffer: number): number {
  return NODE_SESSION_MEMORY_MB + Math.ceil((Math.max(1, streams) * sendBuffer) / (1024 * 1024));
}

/**
 * `serve({ http2: true })`'s server: with `tls`, node:http2's secure server with HTTP/1.1 allowed on the same port
 * (ALPN picks; the HTTP/1.1 connections upgrade as on node:https); without, cleartext HTTP/2 with prior knowledge
 * (h2c). Both advertise SETTINGS_ENABLE_CONNECT_PROTOCOL; `listenForExtendedConnect` sets the streams per session.
 * `maxSessionMemory`: node:http2's option, in MB (see `sessionMemoryMb`).
 */
export function createHttp2Server(
  options: Http2ServeOptions,
  requestListener: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
  maxSessionMemory?: number,
): AnyHttp2Server {
  const settings: http2.Settings = { enableConnectProtocol: true };
  const memory = maxSessionMemory === undefined ? {} : { maxSessionMemory };
  if (options.tls) {
    const { key, cert, ca } = options.tls;
    return http2.createSecureServer({ key, cert, ca, allowHTTP1: true, settings, ...memory }, requestListener);
  }
  return http2.createServer({ settings, ...memory }, requestListener);
}

/** The largest SETTINGS_MAX_CONCURRENT_STREAMS (RFC 9113 §6.5.2: a 32-bit value). */
const MAX_STREAMS = 2 ** 32 - 1;

/** SETTINGS_MAX_CONCURRENT_STREAMS for `maxConcurrentStreams`. */
export function concurrentStreams(maxConcurrentStreams: number): number {
  return Math.min(MAX_STREAMS, Math.max(1, Math.floor(maxConcurrentStreams)));
}

/**
 * The sessions of a node:http2 server (and, with allowHTTP1, its HTTP/1.1 sockets), for a graceful close: each
 * session is sent GOAWAY and closes once its streams have ended; a session or socket still there when `close`
 * gives up (the `timeout`) is destroyed.
 */
export class Http2Sessions {
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly sockets = new Set<import("node:net").Socket>();

  /**
   * `idleTimeout`: a session without an open stream for that many ms is closed (GOAWAY), as an idle keep-alive
   * HTTP/1.1 connection is (0: never); one with a stream open — a WebSocket, however quiet — is not.
   */
  constructor(server: AnyHttp2Server, idleTimeout = 0) {
    server.on("session", (session: http2.ServerHttp2Session) => {
      this.sessions.add(session);
      session.once("close", () => this.sessions.delete(session));
      session.on("error", ignoreError); // node:http2 closes the session; its streams report their own close
      if (idleTimeout > 0) {
        let open = 0;
        session.on("stream", (stream: http2.ServerHttp2Stream) => {
          open++;
          stream.once("close", () => open--);
        });
        session.setTimeout(idleTimeout, () => {
          if (open === 0) session.close();
        });
      }
    });
    server.on("connection", (socket: import("node:net").Socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
  }

  /** Sessions open now. */
  get size(): number {
    return this.sessions.size;
  }

  /** GOAWAY to every session; the sessions and sockets left after `timeout` ms are destroyed. */
  async close(timeout: number): Promise<void> {
    for (const session of this.sessions) session.close();
    if (this.sessions.size === 0 && this.sockets.size === 0) return;
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (this.sessions.size === 0) finish();
      }, 10);
      const limit = setTimeout(finish, timeout);
      function finish() {
        clearInterval(check);
        clearTimeout(limit);
        resolve();
      }
    });
    for (const session of this.sessions) session.destroy();
    // the HTTP/1.1 keep-alive sockets of allowHTTP1 (node:http2 has no closeIdleConnections)
    for (const socket of this.sockets) socket.destroy();
  }
}
