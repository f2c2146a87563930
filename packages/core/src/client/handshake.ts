/**
 * The client side of the opening handshake over any ByteStream (RFC 6455 §4.1): write the request, read the
 * response head, validate it, and hand the stream to a client-role Connection; or, when the server refuses, read
 * the start of its body (./refusal-body.ts) and reject with a HandshakeError that says why. Adapters supply the
 * TCP or TLS stream (through ./connect.ts); this part is the same on every runtime.
 */
import type { ByteStream } from "../session/byte-stream.ts";
import { Connection } from "../session/connection.ts";
import { consoleLogger } from "../session/errors.ts";
import { createClientHandshake, createUpgradeRequest, serializeExtensions, validateHandshakeResponse, type UpgradeRequest } from "../wire/handshake.ts";
import { parseHttpHead, type HeadersLike, type HttpHead } from "../wire/http.ts";
import { logText } from "../session/log-text.ts";
import { bodyExcerpt, RefusalBody, REFUSAL_BODY_WAIT } from "./refusal-body.ts";
import type { ClientSettings } from "../settings/options.generated.ts";
import { resolveSettings } from "../settings/resolve.ts";
import { checkClientOptions } from "../server/options.ts";
import type { Logger } from "../session/errors.ts";
import type { MetricsHooks } from "../session/metrics.ts";
import { encodeUtf8 } from "../wire/utf8.ts";
import { concatChunks } from "../wire/frame.ts";
import { acceptDeflateResponse, deflateClientOffer, EXTENSION_NAME, PerMessageDeflate, type PerMessageDeflateOptions } from "../wire/deflate.ts";
import type { AdapterPlumbing } from "../server/plumbing.ts";

/**
 * A client's options. Its connection settings have the server's defaults (the settings table): a 16 MiB send
 * buffer (`maxBufferedAmount`, with the `backpressure` policy; automatic pongs wait while it is full), a 60 s
 * `messageTimeout`, and a keepalive (`idleTimeout`, 120 s: a ping after 60 s of silence, dropped with 1006
 * after as long again without an answer — which is also how a client whose reading is paused learns that the
 * server has gone).
 */
export interface ClientOptions extends ClientSettings {
  /** subprotocols to offer, in order of preference */
  protocols?: string[];
  /** extra request headers */
  headers?: Record<string, string>;
  origin?: string;
  logger?: Logger;
  /**
   * the Error each time one of the connection's listeners throws or rejects, or a `ProtocolViolationError` when
   * the server broke the protocol (as a server's `onError`)
   */
  onError?: (error: Error, conn: Connection) => unknown;
  /** metrics hooks for this connection (`opened`, `closed`, `messageIn`, `messageOut`, `handlerError`, `protocolError`) */
  metrics?: Partial<MetricsHooks>;
  /**
   * offer permessage-deflate (RFC 7692): `true` or preferences; `false` not to offer it
   * @defaultValue `true` with an adapter's `connect()` (each supplies the DEFLATE codec)
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /**
   * WebSockets over HTTP/2 (RFC 8441), where the adapter's client has HTTP/2 (Node): `"auto"` opens the WebSocket
   * as a stream of the origin's HTTP/2 session (one session per origin, shared by every WebSocket to it) when the
   * server advertises SETTINGS_ENABLE_CONNECT_PROTOCOL, else over HTTP/1.1; `true` makes HTTP/2 mandatory (a
   * `HandshakeError` when the server does not offer it). The session closes `http2SessionIdleTimeout` after its
   * last stream has ended.
   * @defaultValue `false` (HTTP/1.1)
   */
  http2?: boolean | "auto";
}

/** What a HandshakeError knows of the server's response, when there was one. */
export interface HandshakeResponse {
  status: number;
  statusText: string;
  headers: Headers;
  body: string;
}

/**
 * The handshake failed: the server refused (any status but 101), answered wrongly, or did not answer in time.
 * When the server answered, the error carries its response: `status`, `statusText`, `headers` and the start of
 * the `body` as text (at most 4 KiB, read for at most 1 s after the head), and its message says the status and
 * quotes the body: `unexpected HTTP status 401 Unauthorized: missing or bad token`.
 *
 * @example
 * ```ts
 * import { connect, HandshakeError } from "@ws/node";
 *
 * try {
 *   await connect("ws://localhost:8080/chat");
 * } catch (error) {
 *   if (error instanceof HandshakeError) {
 *     console.log(error.status, error.statusText); // 401 "Unauthorized" (undefined, "" without a response)
 *     console.log(error.headers.get("www-authenticate"), error.body); // the start of the body, at most 4 KiB
 *   }
 * }
 * ```
 */
export class HandshakeError extends Error {
  override readonly name = "HandshakeError";
  /** the response's status (undefined: no response, e.g. a timeout or a closed connection) */
  readonly status: number | undefined;
  /** the response's reason phrase ("Unauthorized"; "" without a response) */
  readonly statusText: string;
  /** the response's headers (empty without a response) */
  readonly headers: Headers;
  /** the start of the response's body as UTF-8 text, malformed bytes as U+FFFD ("" without one) */
  readonly body: string;
  /** `response`: what the server answered, or (as before 0.2) only its status */
  constructor(message: string, response?: Partial<HandshakeResponse> | number) {
    super(message);
    if (typeof response === "number") response = { status: response };
    this.status = response?.status;
    this.statusText = response?.statusText ?? "";
    this.headers = response?.headers ?? new Headers();
    this.body = response?.body ?? "";
  }
}

/** The response's headers as a WHATWG Headers (a value Headers will not hold is left out). */
export function fetchHeaders(headers: HeadersLike): Headers {
  const out = new Headers();
  headers.forEach?.((value, name) => {
    try {
      out.append(name, value);
    } catch {
      // not a ByteString: left out
    }
  });
  return out;
}

/** The error for a response other than a 101: the status, the reason phrase and an excerpt of the body. */
export function refusedError(reason: string, response: HandshakeResponse): HandshakeError {
  const excerpt = bodyExcerpt(response.body);
  const status = response.statusText ? `${reason} ${logText(response.statusText, 60)}` : reason;
  return new HandshakeError(excerpt ? `${status}: ${excerpt}` : status, response);
}

/**
 * Runs the client handshake on `stream` (already connected to the server) and opens the connection.
 * `plumbing`: what the runtime adapter gives (its `deflateCodec`), apart from the user's options.
 *
 * @example
 * ```ts
 * import { once } from "node:events";
 * import { request } from "node:http";
 * import type { Socket } from "node:net";
 * import { connectOverStream } from "@ws/core/adapter";
 * import { socketByteStream } from "@ws/node";
 *
 * // a WebSocket through an HTTP proxy: CONNECT opens a tunnel, the handshake runs inside it
 * const tunnel = request({ host: "proxy.internal", port: 3128, method: "CONNECT", path: "example.com:80" });
 * tunnel.end();
 * const [, socket] = (await once(tunnel, "connect")) as [unknown, Socket];
 * const conn = await connectOverStream(socketByteStream(socket), "ws://example.com/chat", { protocols: ["chat"] });
 * conn.onText((text) => console.log(text));
 * ```
 */
export function connectOverStream(stream: ByteStream, url: string | URL, options: ClientOptions = {}, plumbing: AdapterPlumbing = {}): Promise<Connection> {
  checkClientOptions(url, options);
  const logger = options.logger ?? consoleLogger;
  const settings = resolveSettings("client", [options], (m) => logger.warn({}, m));
  const u = new URL(url);
  const deflateSettings = options.perMessageDeflate === true ? {} : options.perMessageDeflate || undefined;
  const codec = plumbing.deflateCodec;
  const offer = deflateSettings && codec ? deflateClientOffer(deflateSettings) : undefined;
  const handshake = createClientHandshake(u, {
    protocols: options.protocols,
    headers: options.headers,
    origin: options.origin,
    extensions: offer ? [offer] : [],
  });
  return new Promise<Connection>((resolve, reject) => {
    let buffered: Uint8Array = new Uint8Array(0);
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stream.destroy();
      reject(error);
    };
    const timer = setTimeout(
      () => fail(new HandshakeError(`no handshake response within ${settings.handshakeTimeout} ms`)),
      settings.handshakeTimeout,
    );
    /** a refusal's body being read (after its head), until it is complete, at its limit, or its time is up */
    let refusal: { body: RefusalBody; finish(): void } | undefined;
    const readRefusal = (reason: string, status: number, head: HttpHead, rest: Uint8Array) => {
      clearTimeout(timer);
      const body = new RefusalBody(status, head.headers);
      const finish = () => {
        clearTimeout(wait);
        fail(refusedError(reason, { status, statusText: head.startLine[2], headers: fetchHeaders(head.headers), body: body.text() }));
      };
      const wait = setTimeout(finish, REFUSAL_BODY_WAIT);
      refusal = { body, finish };
      body.push(rest);
      if (body.done) finish();
    };
    stream.start({
      data: (chunk) => {
        if (settled) return;
        if (refusal) {
          refusal.body.push(chunk);
          if (refusal.body.done) refusal.finish();
          return;
        }
        buffered = concatChunks([buffered, chunk]);
        const head = parseHttpHead(buffered);
        if (head === null) return;
        if (head instanceof Error) return fail(new HandshakeError(head.message));
        const status = Number(head.startLine[1]);
        const verdict = validateHandshakeResponse({ status, headers: head.headers }, handshake);
        if (!verdict.ok && status !== 101) return readRefusal(verdict.reason, status, head, buffered.subarray(head.length));
        const response = { status, statusText: head.startLine[2], headers: fetchHeaders(head.headers) };
        if (!verdict.ok) return fail(new HandshakeError(verdict.reason, response));
        let deflate: PerMessageDeflate | undefined;
        const accepted = verdict.extensions.find((e) => e.name === EXTENSION_NAME);
        if (accepted && offer) {
          const agreement = acceptDeflateResponse(accepted, offer);
          if (!agreement) return fail(new HandshakeError("unacceptable permessage-deflate response", response));
          deflate = new PerMessageDeflate(agreement, codec!, deflateSettings);
        }
        settled = true;
        clearTimeout(timer);
        const request: UpgradeRequest = createUpgradeRequest({
          method: "GET",
          url: u.pathname + u.search,
          httpVersion: "1.1",
          headers: head.headers,
          remoteAddress: u.hostname,
        });
        const conn = Connection.overStream(stream, {
          role: "client",
          request,
          protocol: verdict.protocol,
          extensions: serializeExtensions(verdict.extensions),
          logger,
          deflate,
          settings,
          onError: options.onError,
          metrics: options.metrics,
        });
        const rest = buffered.length > head.length ? buffered.slice(head.length) : undefined;
        // The connection is open now (it can send), but whoever awaited it attaches its handlers in the
        // promise continuations that follow: received data is held until the next macrotask.
        conn.start(rest, undefined, true);
        resolve(conn);
      },
      drain: () => {},
      end: () => (refusal ? refusal.finish() : fail(new HandshakeError("the server closed the connection during the handshake"))),
      close: (error) => (refusal ? refusal.finish() : fail(new HandshakeError(error ? error.message : "connection closed during the handshake"))),
    });
    stream.write(encodeUtf8(handshake.request));
  });
}
