// The HTTP/2 transport of the runner (RFC 8441, WebSockets over HTTP/2), on node:http2 only — independent of
// @ws/core, like the frame writer. A WebSocket is an extended CONNECT stream (`:method CONNECT`,
// `:protocol websocket`); `:status 200` opens it, and the stream is the byte pipe the frame writer and reader use.
// END_STREAM stands for the TCP FIN, RST_STREAM (CANCEL) for the reset.
import { EventEmitter } from "node:events";
import * as http2 from "node:http2";
import type { ClientHandshakeResult } from "./handshake.ts";
import { HandshakeError } from "./handshake.ts";
import type { ByteSocket } from "./session.ts";

const { NGHTTP2_CANCEL } = http2.constants;

/** `h2`: HTTP/2 over TLS (ALPN h2); `h2c`: cleartext HTTP/2 with prior knowledge. */
export type H2Transport = "h2" | "h2c";

/** How long a stream we ended waits for the peer's END_STREAM before we reset it (as the TCP close of a socket). */
const LINGER_MS = 1000;

/** Streams the runner had to reset because the peer never ended its side after ours (see `StreamSocket.destroySoon`). */
export const h2Stats = { lingeringResets: 0 };

/**
 * An HTTP/2 stream as the session's byte socket. As a net.Socket without allowHalfOpen, the peer's END_STREAM ends
 * our side too; `destroySoon` ends ours and waits for the peer's, `destroy` resets the stream (RST_STREAM CANCEL).
 */
export class StreamSocket extends EventEmitter {
  readonly stream: http2.Http2Stream;

  constructor(stream: http2.Http2Stream) {
    super();
    this.stream = stream;
    stream.on("data", (chunk: Buffer) => this.emit("data", chunk));
    stream.on("drain", () => this.emit("drain"));
    stream.on("error", (e: Error) => this.emit("error", e));
    stream.on("end", () => {
      if (!stream.writableEnded && !stream.destroyed) stream.end();
    });
    stream.once("close", () => this.emit("close"));
  }

  get destroyed(): boolean {
    return this.stream.destroyed || this.stream.closed;
  }

  setNoDelay(): this {
    return this;
  }

  resume(): this {
    this.stream.resume();
    return this;
  }

  write(data: Uint8Array | string, cb?: (err?: Error | null) => void): boolean {
    if (this.destroyed) return true;
    return this.stream.write(data, cb);
  }

  end(): this {
    if (!this.destroyed && !this.stream.writableEnded) this.stream.end();
    return this;
  }

  /** The reset: RST_STREAM with CANCEL (the TCP RST of a dropped connection). */
  destroy(): this {
    if (!this.destroyed) this.stream.close(NGHTTP2_CANCEL);
    return this;
  }

  /** The close: END_STREAM, then the peer's END_STREAM is awaited 1 s before the stream is reset. */
  destroySoon(): void {
    if (this.destroyed) return;
    this.end();
    const t = setTimeout(() => {
      if (this.destroyed) return;
      h2Stats.lingeringResets++;
      this.destroy();
    }, LINGER_MS);
    this.stream.once("close", () => clearTimeout(t));
  }
}

/** The request and response heads as text for the reports (pseudo-headers first, as sent). */
export function renderHeaders(headers: Record<string, unknown>): string {
  return (
    Object.entries(headers)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(", ") : String(v)}`)
      .join("\r\n") + "\r\n\r\n"
  );
}

interface SharedSession {
  session: http2.ClientHttp2Session;
  /** whether the server's first SETTINGS advertised ENABLE_CONNECT_PROTOCOL */
  ready: Promise<boolean>;
}

const sessions = new Map<string, SharedSession>();

function sessionFor(origin: string): SharedSession {
  const existing = sessions.get(origin);
  if (existing && !existing.session.closed && !existing.session.destroyed) return existing;
  // a test server's certificate is generated for the run: not verified (the runner tests the WebSocket layer)
  // maxSessionMemory: node:http2 refuses new streams of a session holding more than this (MB) queued to send; the
  // cases queue up to 16 MiB each, several at once (the runner tests the server's limits, not its own)
  const session = http2.connect(origin, { rejectUnauthorized: false, maxSessionMemory: 1024 });
  session.on("error", () => {}); // reported through the streams
  const ready = new Promise<boolean>((resolve) => {
    session.once("remoteSettings", (s) => resolve(s.enableConnectProtocol === true));
    session.once("close", () => resolve(false));
  });
  const shared = { session, ready };
  const forget = () => {
    if (sessions.get(origin) === shared) sessions.delete(origin);
  };
  session.once("close", forget);
  session.once("goaway", forget); // the next case opens a new session
  sessions.set(origin, shared);
  return shared;
}

/** Close the fuzzing client's HTTP/2 sessions (after a run). */
export function closeH2Sessions(): void {
  for (const s of sessions.values()) s.session.close();
  sessions.clear();
}

/**
 * The fuzzing client's opening handshake over HTTP/2: an extended CONNECT on the origin's session, shared by the
 * run's cases (several streams at once with `--concurrency`: the server has to keep them apart, and a case that
 * fails one stream must not touch the others). `url` is ws:// or wss://; the transport picks http or https.
 */
export async function h2ClientHandshake(
  url: string,
  transport: H2Transport,
  opts: { extensions?: string; timeoutMs?: number; userAgent?: string } = {},
): Promise<Omit<ClientHandshakeResult, "socket"> & { socket: ByteSocket }> {
  const u = new URL(url);
  const origin = `${transport === "h2" ? "https" : "http"}://${u.host}`;
  const headers: http2.OutgoingHttpHeaders = {
    ":method": "CONNECT",
    ":protocol": "websocket",
    ":scheme": transport === "h2" ? "https" : "http",
    ":authority": u.host,
    ":path": `${u.pathname}${u.search}`,
    "sec-websocket-version": "13",
    "user-agent": opts.userAgent ?? "ws-autobahn-ts/0.1",
  };
  if (opts.extensions) headers["sec-websocket-extensions"] = opts.extensions;
  const httpRequest = renderHeaders(headers);
  const shared = sessionFor(origin);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HandshakeError("opening handshake timed out", httpRequest, "")), opts.timeoutMs ?? 5000);
  });
  try {
    const ok = await Promise.race([shared.ready, timeout]);
    if (!ok) throw new HandshakeError("the server's SETTINGS do not enable extended CONNECT (RFC 8441 §3)", httpRequest, "");
    const stream = shared.session.request(headers, { endStream: false });
    const response = await Promise.race([
      new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
        stream.once("response", resolve);
        stream.once("error", (e: Error) => reject(new HandshakeError(`stream error during opening handshake: ${e.message}`, httpRequest, "")));
        stream.once("close", () =>
          reject(new HandshakeError(`stream closed during opening handshake (RST_STREAM ${stream.rstCode})`, httpRequest, "")),
        );
      }),
      timeout,
    ]).catch((e: unknown) => {
      if (!stream.destroyed) stream.close(NGHTTP2_CANCEL);
      throw e;
    });
    const httpResponse = renderHeaders(response);
    if (Number(response[":status"]) !== 200) {
      stream.close(NGHTTP2_CANCEL);
      throw new HandshakeError(`unexpected status: ${response[":status"]}`, httpRequest, httpResponse);
    }
    stream.removeAllListeners("error");
    stream.removeAllListeners("close");
    stream.pause();
    const ext = response["sec-websocket-extensions"];
    return {
      socket: new StreamSocket(stream) as unknown as ByteSocket,
      rest: new Uint8Array(0),
      httpRequest,
      httpResponse,
      extensions: Array.isArray(ext) ? ext.join(", ") : ext,
    };
  } finally {
    clearTimeout(timer);
  }
}
