/**
 * The Node client's HTTP/2 sessions for WebSockets over HTTP/2 (RFC 8441): one node:http2 session per origin (and
 * TLS options), shared by every WebSocket to it; the extended CONNECT is sent only after the server's SETTINGS have
 * advertised ENABLE_CONNECT_PROTOCOL (§3); the session is closed `http2SessionIdleTimeout` after its last stream
 * has ended. An origin that does not speak HTTP/2 or does not advertise the setting is remembered for a minute,
 * so that `http2: "auto"` does not try it again for every WebSocket.
 */
import * as http2 from "node:http2";
import * as net from "node:net";
import type * as tls from "node:tls";
import type { ExtendedConnectResponse, StreamTarget } from "@ws/core/adapter";
import { socketByteStream } from "./byte-stream.ts";

/** How long an origin without extended CONNECT is not tried again over HTTP/2. */
const NO_HTTP2_MEMORY = 60_000;
/** The most origins remembered without it (the oldest is forgotten first). */
const NO_HTTP2_ORIGINS = 1000;

/** One shared session and the WebSockets on it. */
interface SharedSession {
  readonly session: http2.ClientHttp2Session;
  /** resolves once the server's first SETTINGS arrived: whether they advertise ENABLE_CONNECT_PROTOCOL */
  readonly ready: Promise<boolean>;
  /** WebSocket streams open on it */
  streams: number;
  idle: ReturnType<typeof setTimeout> | undefined;
}

const sessions = new Map<string, SharedSession>();
const withoutHttp2 = new Map<string, number>();

/**
 * The client's HTTP/2 sessions open now (one per origin and TLS options in use): for tests and diagnostics.
 *
 * @example
 * ```ts
 * import { http2SessionCount } from "@ws/node-http";
 *
 * console.log(`HTTP/2 sessions open: ${http2SessionCount()}`);
 * ```
 */
export function http2SessionCount(): number {
  return sessions.size;
}

/** The key a session is shared under: the origin and the TLS options (a session is never shared across different ones). */
function sessionKey(target: StreamTarget<tls.ConnectionOptions>): string {
  const origin = `${target.secure ? "https" : "http"}://${target.hostname.includes(":") ? `[${target.hostname}]` : target.hostname}:${target.port}`;
  if (!target.tls) return origin;
  // functions (checkServerIdentity, …) cannot be compared: such options get a session of their own
  if (Object.values(target.tls).some((v) => typeof v === "function")) return `${origin} ${Math.random()}`;
  return `${origin} ${JSON.stringify(target.tls)}`;
}

function openSession(key: string, target: StreamTarget<tls.ConnectionOptions>): SharedSession {
  const authority = `${target.secure ? "https" : "http"}://${target.hostname.includes(":") ? `[${target.hostname}]` : target.hostname}:${target.port}`;
  const options: http2.SecureClientSessionOptions = { ...target.tls };
  if (target.secure && !net.isIP(target.hostname) && options.servername === undefined) options.servername = target.hostname;
  const session = http2.connect(authority, options);
  const ready = new Promise<boolean>((resolve) => {
    session.once("remoteSettings", (settings) => resolve(settings.enableConnectProtocol === true));
    session.once("error", () => resolve(false));
    session.once("close", () => resolve(false));
  });
  const shared: SharedSession = { session, ready, streams: 0, idle: undefined };
  session.on("error", () => {}); // reported through the streams' close
  session.once("close", () => {
    clearTimeout(shared.idle);
    if (sessions.get(key) === shared) sessions.delete(key);
  });
  session.once("goaway", () => {
    if (sessions.get(key) === shared) sessions.delete(key); // new WebSockets open a new session
  });
  session.unref(); // an idle session does not keep the process alive; its streams' sockets are what count
  return shared;
}

/** The session's last stream has ended: it closes after `delay` ms unless another stream opens first. */
function streamEnded(key: string, shared: SharedSession, delay: number): void {
  shared.streams--;
  if (shared.streams > 0) return;
  clearTimeout(shared.idle);
  const close = () => {
    if (sessions.get(key) === shared) sessions.delete(key);
    shared.session.close();
  };
  if (delay === 0) return close();
  shared.idle = setTimeout(close, delay);
  shared.idle.unref();
}

/**
 * `ClientRuntime.connectStream` on node:http2 (Node's, Bun's, Deno's): the extended CONNECT on the origin's shared
 * session, resolved with its response; null when the origin does not speak HTTP/2 or does not advertise
 * ENABLE_CONNECT_PROTOCOL. `target.tls` is node:tls's options (an adapter maps its own onto them).
 *
 * @example
 * ```ts
 * import * as net from "node:net";
 * import * as tls from "node:tls";
 * import { connectWith, type ClientRuntime } from "@ws/core/adapter";
 * import { connectStream, socketByteStream } from "@ws/node-http";
 *
 * // a client runtime whose connect() takes { http2: "auto" }: HTTP/2 streams, else its own TCP/TLS dial
 * const runtime: ClientRuntime<tls.ConnectionOptions> = {
 *   connectStream,
 *   dial: ({ hostname, port, secure, tls: options }) =>
 *     new Promise((resolve, reject) => {
 *       const socket = secure ? tls.connect({ host: hostname, port, ...options }) : net.connect({ host: hostname, port });
 *       socket.once(secure ? "secureConnect" : "connect", () => resolve(socketByteStream(socket))).once("error", reject);
 *     }),
 * };
 * const conn = await connectWith("wss://example.com/chat", { http2: "auto" }, runtime);
 * console.log(conn.request.httpVersion); // "2" when example.com offers WebSockets over HTTP/2
 * ```
 */
export async function connectStream(target: StreamTarget<tls.ConnectionOptions>): Promise<ExtendedConnectResponse | null> {
  const key = sessionKey(target);
  const refusedUntil = withoutHttp2.get(key);
  if (refusedUntil !== undefined) {
    if (refusedUntil > Date.now()) return null;
    withoutHttp2.delete(key);
  }
  let shared = sessions.get(key);
  if (!shared || shared.session.closed || shared.session.destroyed) {
    shared = openSession(key, target);
    sessions.set(key, shared);
  }
  const session = shared.session;
  // counted before the wait, so that the idle timer of a session being shared does not close it under us
  shared.streams++;
  clearTimeout(shared.idle);
  shared.idle = undefined;
  let counted = true;
  const release = () => {
    if (!counted) return;
    counted = false;
    streamEnded(key, shared, target.sessionIdleTimeout);
  };
  const abort = () => session.destroy();
  target.signal.addEventListener("abort", abort, { once: true });
  try {
    if (!(await shared.ready)) {
      withoutHttp2.delete(key);
      if (withoutHttp2.size >= NO_HTTP2_ORIGINS) withoutHttp2.delete(withoutHttp2.keys().next().value!);
      withoutHttp2.set(key, Date.now() + NO_HTTP2_MEMORY);
      release();
      if (sessions.get(key) === shared) sessions.delete(key);
      if (shared.streams === 0) session.close();
      return null;
    }
    if (target.signal.aborted) throw new Error("connect gave up");
    session.ref();
    const stream = session.request(target.headers, { endStream: false });
    stream.once("close", () => {
      release();
      if (shared.streams === 0 && !session.closed) session.unref();
    });
    return await new Promise<ExtendedConnectResponse>((resolve, reject) => {
      const failed = (error: Error) => reject(error);
      stream.once("error", failed);
      stream.once("close", () => reject(new Error(`the stream was closed before a response (RST_STREAM ${stream.rstCode ?? 0})`)));
      stream.once("response", (headers) => {
        stream.off("error", failed);
        stream.on("error", () => {}); // reported through the connection's close
        const { ":status": status, ...rest } = headers;
        resolve({ status: Number(status), headers: rest as Record<string, string | string[] | undefined>, stream: socketByteStream(stream) });
      });
    });
  } catch (error) {
    release();
    throw error;
  } finally {
    target.signal.removeEventListener("abort", abort);
  }
}
