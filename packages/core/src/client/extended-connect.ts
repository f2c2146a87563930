/**
 * The client side of a WebSocket over HTTP/2 (RFC 8441 §4–5): the extended CONNECT's header fields (`:protocol`
 * "websocket", `:scheme`, `:path`, `:authority`, `sec-websocket-version: 13`, the subprotocol and extension offers;
 * no Sec-WebSocket-Key), the 200 checked as a 101 is (the subprotocol and extensions agreed are ones offered), and
 * the stream handed to a client-role Connection; any other status is a HandshakeError with the response's status,
 * headers and the start of its body. The runtime opens the stream on its HTTP/2 session (`ClientRuntime.connectStream`).
 */
import type { ByteStream } from "../session/byte-stream.ts";
import { Connection } from "../session/connection.ts";
import type { Settings } from "../settings/resolve.ts";
import type { Logger } from "../session/errors.ts";
import { createUpgradeRequest, isToken, serializeExtensions, validateAgreement, type ExtensionOffer } from "../wire/handshake.ts";
import { HeaderMap, statusText } from "../wire/http.ts";
import { acceptDeflateResponse, EXTENSION_NAME, PerMessageDeflate, type DeflateCodec, type PerMessageDeflateOptions } from "../wire/deflate.ts";
import { fetchHeaders, HandshakeError, refusedError, type ClientOptions } from "./handshake.ts";
import { RefusalBody, REFUSAL_BODY_WAIT } from "./refusal-body.ts";

/** What an HTTP/2 stream opened with an extended CONNECT answered. */
export interface ExtendedConnectResponse {
  /** the `:status` */
  status: number;
  /** the response's header fields (names in lowercase), `:status` left out */
  headers: Record<string, string | string[] | undefined>;
  /** the stream: the WebSocket's frames after a 200, a refusal's body otherwise */
  stream: ByteStream;
}

/**
 * The extended CONNECT's header fields for `url` (RFC 8441 §5): the pseudo-header fields first, then
 * sec-websocket-version, the offers, origin and the user's headers (names in lowercase, as HTTP/2 wants them; the
 * connection-specific ones HTTP/2 forbids left out).
 */
export function extendedConnectHeaders(
  url: URL,
  options: Pick<ClientOptions, "protocols" | "headers" | "origin">,
  extensions: ExtensionOffer[],
): Record<string, string> {
  const secure = url.protocol === "wss:" || url.protocol === "https:";
  const headers: Record<string, string> = {
    ":method": "CONNECT",
    ":protocol": "websocket",
    ":scheme": secure ? "https" : "http",
    ":path": (url.pathname || "/") + url.search,
    ":authority": url.host,
    "sec-websocket-version": "13",
  };
  const protocols = options.protocols ?? [];
  for (const p of protocols) if (!isToken(p)) throw new SyntaxError(`invalid subprotocol name: ${p}`);
  if (new Set(protocols).size !== protocols.length) throw new SyntaxError("duplicate subprotocol names");
  if (protocols.length > 0) headers["sec-websocket-protocol"] = protocols.join(", ");
  if (extensions.length > 0) headers["sec-websocket-extensions"] = serializeExtensions(extensions);
  if (options.origin) headers.origin = options.origin;
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    const lower = name.toLowerCase();
    if (lower === "host" || lower === "connection" || lower === "upgrade" || lower === "keep-alive" || lower === "transfer-encoding") continue;
    headers[lower] = value;
  }
  return headers;
}

/** What `openExtendedConnect` needs besides the response. */
export interface ExtendedConnectContext {
  url: URL;
  protocols: string[];
  /** the permessage-deflate offer made, if any */
  offer: ExtensionOffer | undefined;
  deflateSettings: PerMessageDeflateOptions | undefined;
  codec: DeflateCodec | undefined;
  settings: Settings;
  logger: Logger;
  options: Pick<ClientOptions, "onError" | "metrics">;
}

/**
 * Opens the connection over an extended CONNECT's stream once it answered 200 (RFC 8441 §5), or rejects with a
 * HandshakeError: another status (its headers and the start of its body, read for at most 1 s), or an agreement
 * the client did not offer.
 */
export function openExtendedConnect(response: ExtendedConnectResponse, context: ExtendedConnectContext): Promise<Connection> {
  const headers = new HeaderMap(response.headers);
  const { stream } = response;
  if (response.status !== 200) return readRefusal(response.status, headers, stream);
  const fail = (reason: string) => {
    stream.destroy();
    return Promise.reject(new HandshakeError(reason, { status: 200, statusText: "OK", headers: fetchHeaders(headers) }));
  };
  const verdict = validateAgreement(headers, { protocols: context.protocols, extensions: context.offer ? [context.offer] : [] });
  if (!verdict.ok) return fail(verdict.reason);
  let deflate: PerMessageDeflate | undefined;
  const accepted = verdict.extensions.find((e) => e.name === EXTENSION_NAME);
  if (accepted && context.offer) {
    const agreement = acceptDeflateResponse(accepted, context.offer);
    if (!agreement) return fail("unacceptable permessage-deflate response");
    deflate = new PerMessageDeflate(agreement, context.codec!, context.deflateSettings);
  }
  const u = context.url;
  const conn = Connection.overStream(stream, {
    role: "client",
    request: createUpgradeRequest({ method: "CONNECT", url: u.pathname + u.search, httpVersion: "2", headers, remoteAddress: u.hostname }),
    protocol: verdict.protocol,
    extensions: serializeExtensions(verdict.extensions),
    logger: context.logger,
    deflate,
    settings: context.settings,
    onError: context.options.onError,
    metrics: context.options.metrics,
  });
  // received data is held until the next macrotask: whoever awaits the connection attaches its handlers first
  conn.start(undefined, undefined, true);
  return Promise.resolve(conn);
}

/** A refusal on the stream: its body read (at most 4 KiB, for at most 1 s), then the HandshakeError. */
function readRefusal(status: number, headers: HeaderMap, stream: ByteStream): Promise<Connection> {
  return new Promise((_, reject) => {
    const body = new RefusalBody(status, headers);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(wait);
      stream.destroy();
      reject(refusedError(`unexpected HTTP status ${status}`, { status, statusText: statusText(status), headers: fetchHeaders(headers), body: body.text() }));
    };
    const wait = setTimeout(finish, REFUSAL_BODY_WAIT);
    stream.start({
      data: (chunk) => {
        body.push(chunk);
        if (body.done) finish();
      },
      drain: () => {},
      end: finish,
      close: finish,
    });
  });
}
