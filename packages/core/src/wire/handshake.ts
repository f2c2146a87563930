/**
 * The opening handshake (RFC 6455 §4), as pure functions: the server validates an upgrade request and builds
 * the 101 response; the client builds a request with a fresh key and validates the response.
 */
import { base64Encode } from "./base64.ts";
import { equalsLowercaseAt, parseCookieHeader, serializeHttpHead, statusText, type HeadersLike } from "./http.ts";
import { sha1 } from "./sha1.ts";

/** RFC 6455 §1.3: the GUID appended to the key before hashing. */
export const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/**
 * The upgrade request as the server sees it: what the runtime handed over, plus `query`, `cookies` (both parsed
 * on first use) and the route's `params`. Built with `createUpgradeRequest`. `Raw` is the runtime's own request
 * (`IncomingMessage` on node:http, `Request` on fetch-style servers); each adapter names its type.
 */
export interface UpgradeRequest<Raw = unknown> {
  method: string;
  /** request target as sent: path and query, e.g. "/chat?room=1" */
  url: string;
  /**
   * the HTTP version the upgrade came over: "1.1" for an HTTP/1.1 Upgrade, "2" for an HTTP/2 extended CONNECT
   * (RFC 8441: the connection is one stream of an HTTP/2 session)
   */
  httpVersion: string;
  headers: HeadersLike;
  remoteAddress?: string;
  remotePort?: number;
  /** the query of `url` ("?room=1&x" → room: "1", x: "") */
  readonly query: URLSearchParams;
  /** the Cookie header's name=value pairs (RFC 6265 §5.4 / §4.2.1), values as sent; the first of a repeated name wins */
  readonly cookies: ReadonlyMap<string, string>;
  /** the path parameters of the route that matched ("/chat/:room" on "/chat/lobby" → room: "lobby"); set by the router */
  params: Readonly<Record<string, string>>;
  /**
   * the runtime's own request object, for what the toolkit does not expose (undefined where there is none: a
   * client's connection, a Durable Object connection rebuilt after hibernation). On a server's connection it is
   * there in the upgrade gate and during `connected` (its synchronous part) and released afterwards, unless the
   * server or service sets `keepRawRequest: true`: an idle connection does not keep the runtime's request alive.
   */
  readonly raw: Raw;
}

/** What an adapter knows of an upgrade request; `createUpgradeRequest` makes the UpgradeRequest of it. */
export interface UpgradeRequestInit<Raw = undefined>
  extends Pick<UpgradeRequest<Raw>, "method" | "url" | "httpVersion" | "headers" | "remoteAddress" | "remotePort"> {
  raw?: Raw;
}

const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});

class ParsedUpgradeRequest<Raw> implements UpgradeRequest<Raw> {
  method: string;
  url: string;
  httpVersion: string;
  headers: HeadersLike;
  remoteAddress?: string;
  remotePort?: number;
  params: Readonly<Record<string, string>> = NO_PARAMS;
  raw: Raw;
  private parsedQuery?: URLSearchParams;
  private parsedCookies?: ReadonlyMap<string, string>;

  constructor(init: UpgradeRequestInit<Raw>) {
    this.method = init.method;
    this.url = init.url;
    this.httpVersion = init.httpVersion;
    this.headers = init.headers;
    this.remoteAddress = init.remoteAddress;
    this.remotePort = init.remotePort;
    this.raw = init.raw as Raw;
  }

  get query(): URLSearchParams {
    if (!this.parsedQuery) {
      const start = this.url.indexOf("?");
      const end = this.url.indexOf("#", start + 1);
      this.parsedQuery = new URLSearchParams(start < 0 ? "" : this.url.slice(start + 1, end < 0 ? undefined : end));
    }
    return this.parsedQuery;
  }

  get cookies(): ReadonlyMap<string, string> {
    return (this.parsedCookies ??= parseCookieHeader(this.headers.get("cookie")));
  }
}

/**
 * Lets go of the runtime's request (`raw` becomes undefined) of an UpgradeRequest made by createUpgradeRequest,
 * so that an open connection does not keep it alive; the parsed parts (url, headers, query, cookies, params) stay.
 */
export function releaseRawRequest(req: UpgradeRequest<unknown>): void {
  if (!(req instanceof ParsedUpgradeRequest)) return;
  // an adapter's own `raw` accessor without a setter (built on first use, as on Bun's native sockets) would throw
  // on assignment, and a thrown error costs its stack trace: it is replaced without trying
  const own = Object.getOwnPropertyDescriptor(req, "raw");
  if (own?.get === undefined || own.set !== undefined) {
    try {
      req.raw = undefined;
      return;
    } catch {
      // read-only: replaced below when it may be
    }
  }
  try {
    Object.defineProperty(req, "raw", { value: undefined, writable: true, enumerable: true, configurable: true });
  } catch {
    // not configurable: it stays
  }
}

/**
 * The UpgradeRequest for what an adapter knows of a request; `query` and `cookies` are parsed on first use.
 *
 * @example
 * ```ts
 * import { createUpgradeRequest, HeaderMap } from "@ws/core";
 *
 * // an upgrade request for a service's `upgrade` gate in a unit test, or from a runtime this toolkit has no adapter for
 * const req = createUpgradeRequest({
 *   method: "GET",
 *   url: "/chat?room=lobby",
 *   httpVersion: "1.1",
 *   headers: new HeaderMap({ host: "example.com", cookie: "session=abc" }),
 *   remoteAddress: "127.0.0.1",
 * });
 * console.log(req.query.get("room"), req.cookies.get("session")); // "lobby" "abc"
 * ```
 */
export function createUpgradeRequest<Raw = undefined>(init: UpgradeRequestInit<Raw>): UpgradeRequest<Raw> {
  return new ParsedUpgradeRequest(init);
}

/** One extension offer or response element: `name; param; param=value` (RFC 6455 §9.1). */
export interface ExtensionOffer {
  name: string;
  params: Record<string, string | true>;
}

export type HandshakeRejection = { ok: false; status: number; reason: string; headers?: Record<string, string> };

export type ServerHandshakeResult =
  | { ok: true; key: string; protocols: string[]; extensions: ExtensionOffer[] }
  | HandshakeRejection;

/**
 * Sec-WebSocket-Accept for a key: base64(SHA-1(key + GUID)).
 *
 * @example
 * ```ts
 * import { acceptKey } from "@ws/core/protocol";
 *
 * console.log(acceptKey("dGhlIHNhbXBsZSBub25jZQ==")); // "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" (RFC 6455 §1.3)
 * ```
 */
export function acceptKey(key: string): string {
  const text = key + WEBSOCKET_GUID;
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
  return base64Encode(sha1(bytes));
}

/**
 * Splits a comma-separated header list into trimmed, non-empty elements.
 *
 * @example
 * ```ts
 * import { parseHeaderList } from "@ws/core/protocol";
 *
 * console.log(parseHeaderList("chat, superchat ,")); // [ "chat", "superchat" ]
 * ```
 */
export function parseHeaderList(value: string | null): string[] {
  if (!value) return [];
  return value.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Whether `s` is an HTTP token (RFC 9110 §5.6.2), the syntax of subprotocol and extension names. */
export function isToken(s: string): boolean {
  return TOKEN.test(s);
}

/**
 * Parses Sec-WebSocket-Extensions (RFC 6455 §9.1): `ext; p; p=v, ext2`. Values may be tokens or quoted
 * strings. Returns null when the header is malformed.
 *
 * @example
 * ```ts
 * import { parseExtensionHeader } from "@ws/core/protocol";
 *
 * console.log(parseExtensionHeader("permessage-deflate; client_max_window_bits, x-foo; level=3"));
 * // [ { name: "permessage-deflate", params: { client_max_window_bits: true } }, { name: "x-foo", params: { level: "3" } } ]
 * console.log(parseExtensionHeader("permessage-deflate;;")); // null: refuse the upgrade with 400
 * ```
 */
export function parseExtensionHeader(value: string | null): ExtensionOffer[] | null {
  if (value === null || value.trim() === "") return [];
  const result: ExtensionOffer[] = [];
  let i = 0;
  const n = value.length;
  const skipSpace = () => {
    while (i < n && (value[i] === " " || value[i] === "\t")) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < n && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(value[i]!)) i++;
    return value.slice(start, i);
  };
  while (i < n) {
    skipSpace();
    if (value[i] === ",") { i++; continue; } // empty list elements are allowed
    const name = readToken();
    if (!name) return null;
    const offer: ExtensionOffer = { name, params: {} };
    skipSpace();
    while (i < n && value[i] === ";") {
      i++;
      skipSpace();
      const param = readToken();
      if (!param) return null;
      skipSpace();
      let paramValue: string | true = true;
      if (value[i] === "=") {
        i++;
        skipSpace();
        if (value[i] === '"') {
          i++;
          let v = "";
          while (i < n && value[i] !== '"') {
            if (value[i] === "\\") i++;
            v += value[i] ?? "";
            i++;
          }
          if (value[i] !== '"') return null;
          i++;
          if (!isToken(v)) return null; // RFC 6455 §9.1: a quoted value must still be a token
          paramValue = v;
        } else {
          paramValue = readToken();
          if (!paramValue) return null;
        }
        skipSpace();
      }
      if (Object.prototype.hasOwnProperty.call(offer.params, param)) {
        // a duplicate parameter is the extension's business (RFC 7692 §7 rejects it); keep the first
        // occurrence and mark the offer so negotiation can decline it
        offer.params[`\u0000duplicate:${param}`] = true;
      } else {
        offer.params[param] = paramValue;
      }
    }
    skipSpace();
    if (i < n && value[i] !== ",") return null;
    result.push(offer);
  }
  return result;
}

/**
 * Serializes extension response elements back into a header value.
 *
 * @example
 * ```ts
 * import { serializeExtensions } from "@ws/core/protocol";
 *
 * const header = serializeExtensions([{ name: "permessage-deflate", params: { client_max_window_bits: "10", server_no_context_takeover: true } }]);
 * console.log(header); // "permessage-deflate; client_max_window_bits=10; server_no_context_takeover"
 * ```
 */
export function serializeExtensions(extensions: ExtensionOffer[]): string {
  return extensions
    .map((e) =>
      [e.name, ...Object.entries(e.params).map(([k, v]) => (v === true ? k : `${k}=${v}`))].join("; "),
    )
    .join(", ");
}

/** Whether a comma-separated header list has `token` (lowercase) as an element, compared case-insensitively, without splitting it. */
/**
 * True when the headers ask for the WebSocket protocol: an Upgrade header whose comma-separated list holds the
 * token "websocket", case-insensitively (RFC 6455 §4.1 and §4.2.1, RFC 9110 §7.8). The one upgrade-token check
 * of the request's validation, the client's check of the response and the adapters' routing of a request.
 *
 * @example
 * ```ts
 * import { asksForWebSocket } from "@ws/core/protocol";
 *
 * console.log(asksForWebSocket(new Headers({ upgrade: "WebSocket" }))); // true
 * console.log(asksForWebSocket(new Headers({ upgrade: "h2c" }))); // false
 * ```
 */
export function asksForWebSocket(headers: { get(name: string): string | null }): boolean {
  return listHas(headers.get("upgrade"), "websocket");
}

function listHas(value: string | null, token: string): boolean {
  if (value === null) return false;
  const n = value.length;
  let i = 0;
  while (i < n) {
    let end = value.indexOf(",", i);
    if (end < 0) end = n;
    let a = i;
    let b = end;
    while (a < b && (value.charCodeAt(a) === 0x20 || value.charCodeAt(a) === 0x09)) a++;
    while (b > a && (value.charCodeAt(b - 1) === 0x20 || value.charCodeAt(b - 1) === 0x09)) b--;
    if (b - a === token.length && equalsLowercaseAt(value, a, token)) return true;
    i = end + 1;
  }
  return false;
}

/** base64 digit values, -1 for the rest */
const BASE64_DIGIT = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) BASE64_DIGIT["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".charCodeAt(i)] = i;

/**
 * Whether `key` is the canonical padded base64 of 16 bytes (RFC 6455 §4.2.1 item 5), as `base64Decode(key)`
 * of length 16 says, without decoding: 22 digits, the last of them with its 4 unused low bits zero, then "==".
 */
export function isWebSocketKey(key: string): boolean {
  if (key.length !== 24 || key.charCodeAt(22) !== 0x3d || key.charCodeAt(23) !== 0x3d) return false;
  for (let i = 0; i < 22; i++) {
    const c = key.charCodeAt(i);
    if (c >= 128 || BASE64_DIGIT[c]! < 0) return false;
  }
  return (BASE64_DIGIT[key.charCodeAt(21)]! & 0x0f) === 0;
}

/** The empty offer lists of a request without Sec-WebSocket-Protocol / -Extensions (shared, never written to). */
const NO_PROTOCOLS: string[] = Object.freeze([]) as unknown as string[];
const NO_EXTENSIONS: ExtensionOffer[] = Object.freeze([]) as unknown as ExtensionOffer[];

function reject(status: number, reason: string, headers?: Record<string, string>): HandshakeRejection {
  return headers ? { ok: false, status, reason, headers } : { ok: false, status, reason };
}

/**
 * Whether `httpVersion` names HTTP/2 ("2", or node:http2's "2.0"): the upgrade is an extended CONNECT (RFC 8441).
 *
 * @example
 * ```ts
 * import { isHttp2 } from "@ws/core/protocol";
 *
 * console.log(isHttp2("2"), isHttp2("2.0"), isHttp2("1.1")); // true true false
 * ```
 */
export function isHttp2(httpVersion: string): boolean {
  return httpVersion === "2" || httpVersion === "2.0";
}

/**
 * Validates an HTTP/2 extended CONNECT (RFC 8441 §4–5): the CONNECT method with `:protocol` = "websocket",
 * `:scheme`, `:path` and `:authority` (the pseudo-header fields, as headers of those names), and
 * `sec-websocket-version: 13`; subprotocols and extensions as over HTTP/1.1. There is no Sec-WebSocket-Key (the
 * `:protocol` field does its job): `key` is "".
 *
 * @example
 * ```ts
 * import { HeaderMap, validateExtendedConnect } from "@ws/core/protocol";
 *
 * const headers = new HeaderMap({ ":protocol": "websocket", ":scheme": "https", ":path": "/chat", ":authority": "example.com", "sec-websocket-version": "13" });
 * const result = validateExtendedConnect({ method: "CONNECT", url: "/chat", httpVersion: "2", headers });
 * console.log(result.ok); // true
 * ```
 */
export function validateExtendedConnect(req: UpgradeRequestInit<unknown>): ServerHandshakeResult {
  const headers = req.headers;
  if (req.method !== "CONNECT") return reject(405, "a WebSocket over HTTP/2 is opened with an extended CONNECT", { Allow: "CONNECT" });
  const protocol = headers.get(":protocol");
  // RFC 9220 §3 (the same extended CONNECT over HTTP/3): an unknown :protocol SHOULD get 501
  if (protocol === null) return reject(400, "the extended CONNECT has no :protocol");
  if (protocol !== "websocket") return reject(501, `unsupported :protocol ${logSafe(protocol)}`);
  if (!headers.get(":scheme") || !headers.get(":path") || !headers.get(":authority")) {
    return reject(400, "the extended CONNECT needs :scheme, :path and :authority");
  }
  return validateOffers(headers, "");
}

/** At most 64 characters of a peer's value, for a refusal's reason. */
function logSafe(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}

/** Sec-WebSocket-Version, -Protocol and -Extensions: the same over HTTP/1.1 and HTTP/2. */
function validateOffers(headers: HeadersLike, key: string): ServerHandshakeResult {
  const versionHeader = headers.get("sec-websocket-version");
  if (versionHeader === null || versionHeader.trim() !== "13") {
    return reject(426, "unsupported Sec-WebSocket-Version (13 is required)", { "Sec-WebSocket-Version": "13" });
  }
  // the offers are parsed only when there are any
  const protocolHeader = headers.get("sec-websocket-protocol");
  const protocols = protocolHeader === null ? NO_PROTOCOLS : parseHeaderList(protocolHeader);
  if (protocols.some((p) => !isToken(p))) return reject(400, "invalid Sec-WebSocket-Protocol");
  const extensionHeader = headers.get("sec-websocket-extensions");
  const extensions = extensionHeader === null ? NO_EXTENSIONS : parseExtensionHeader(extensionHeader);
  if (extensions === null) return reject(400, "malformed Sec-WebSocket-Extensions");
  return { ok: true, key, protocols, extensions };
}

/**
 * Validates a server-side upgrade request: RFC 6455 §4.2.1 over HTTP/1.1, RFC 8441's extended CONNECT when
 * `httpVersion` is HTTP/2's (`validateExtendedConnect`).
 *
 * @example
 * ```ts
 * import { HeaderMap, buildAcceptResponse, buildRejectResponse, validateUpgradeRequest } from "@ws/core/protocol";
 *
 * const result = validateUpgradeRequest({
 *   method: "GET",
 *   url: "/chat",
 *   httpVersion: "1.1",
 *   headers: new HeaderMap({
 *     host: "example.com",
 *     upgrade: "websocket",
 *     connection: "Upgrade",
 *     "sec-websocket-version": "13",
 *     "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
 *   }),
 * });
 * const head = result.ok ? buildAcceptResponse({ key: result.key }) : buildRejectResponse(result.status, result.reason, result.headers);
 * console.log(head.split("\r\n")[0]); // "HTTP/1.1 101 Switching Protocols"
 * ```
 */
export function validateUpgradeRequest(req: UpgradeRequestInit<unknown>): ServerHandshakeResult {
  if (isHttp2(req.httpVersion)) return validateExtendedConnect(req);
  if (req.method !== "GET" && req.method.toUpperCase() !== "GET") return reject(405, "the upgrade request must use GET", { Allow: "GET" });
  if (req.httpVersion !== "1.1") {
    const version = /^(\d+)\.(\d+)$/.exec(req.httpVersion);
    if (!version || Number(version[1]) < 1 || (Number(version[1]) === 1 && Number(version[2]) < 1)) {
      return reject(400, "the upgrade request must be HTTP/1.1 or later");
    }
  }
  const headers = req.headers;
  if (!headers.get("host")) return reject(400, "missing Host header");
  if (!asksForWebSocket(headers)) return reject(400, "missing or invalid Upgrade: websocket header");
  if (!listHas(headers.get("connection"), "upgrade")) return reject(400, "the Connection header must contain upgrade");
  const versionHeader = headers.get("sec-websocket-version");
  if (versionHeader === null || versionHeader.trim() !== "13") {
    return reject(426, "unsupported Sec-WebSocket-Version (13 is required)", { "Sec-WebSocket-Version": "13" });
  }
  const key = headers.get("sec-websocket-key")?.trim() ?? "";
  if (!isWebSocketKey(key)) return reject(400, "Sec-WebSocket-Key must be the base64 encoding of 16 bytes");
  return validateOffers(headers, key);
}

/**
 * Chooses the subprotocol: the first one the client offers that the server supports (the client lists them
 * in its order of preference, RFC 6455 §4.1). `supported` may be a list or a selector function.
 *
 * @example
 * ```ts
 * import { selectProtocol } from "@ws/core/protocol";
 *
 * console.log(selectProtocol(["chat.v2", "chat.v1"], ["chat.v1", "chat.v2"])); // "chat.v2": the client's order decides
 * console.log(selectProtocol(["mqtt"], ["chat.v1"])); // null: answer without Sec-WebSocket-Protocol
 * ```
 */
export function selectProtocol(
  offered: string[],
  supported: readonly string[] | ((offered: string[]) => string | null | undefined) | undefined,
): string | null {
  if (!supported || offered.length === 0) return null;
  if (typeof supported === "function") {
    const chosen = supported(offered);
    return chosen && offered.includes(chosen) ? chosen : null;
  }
  return offered.find((p) => supported.includes(p)) ?? null;
}

/**
 * The 101 response head.
 *
 * @example
 * ```ts
 * import { buildAcceptResponse } from "@ws/core/protocol";
 *
 * const head = buildAcceptResponse({ key: "dGhlIHNhbXBsZSBub25jZQ==", protocol: "chat" });
 * // "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n
 * //  Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n"
 * console.log(head.endsWith("\r\n\r\n")); // true: frames follow right after it
 * ```
 */
export function buildAcceptResponse(options: {
  key: string;
  protocol?: string | null;
  extensions?: ExtensionOffer[];
  headers?: Record<string, string>;
  /** computes Sec-WebSocket-Accept from the key (a runtime's native SHA-1); default: `acceptKey` */
  accept?: (key: string) => string;
}): string {
  // one string, no list of header pairs: this runs for every connection
  let head = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${(options.accept ?? acceptKey)(options.key)}\r\n`;
  if (options.protocol) head += `Sec-WebSocket-Protocol: ${options.protocol}\r\n`;
  if (options.extensions && options.extensions.length > 0) head += `Sec-WebSocket-Extensions: ${serializeExtensions(options.extensions)}\r\n`;
  const extra = options.headers;
  if (extra !== undefined) for (const name in extra) if (Object.hasOwn(extra, name)) head += `${name}: ${extra[name]}\r\n`;
  return `${head}\r\n`;
}

/**
 * A complete HTTP error response (head and a short text body) for a refused upgrade.
 *
 * @example
 * ```ts
 * import { buildRejectResponse } from "@ws/core/protocol";
 *
 * const response = buildRejectResponse(403, "origin not allowed");
 * // "HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 19\r\n\r\norigin not allowed\n"
 * console.log(response.startsWith("HTTP/1.1 403 Forbidden")); // true
 * ```
 */
export function buildRejectResponse(status: number, reason: string, headers: Record<string, string> = {}): string {
  const body = `${reason}\n`;
  const all: [string, string][] = [
    ["Connection", "close"],
    ["Content-Type", "text/plain; charset=utf-8"],
    ["Content-Length", String(new TextEncoder().encode(body).length)],
    ...Object.entries(headers),
  ];
  return serializeHttpHead(`HTTP/1.1 ${status} ${statusText(status)}`, all) + body;
}

// ---------------------------------------------------------------------------------------------- client side

export interface ClientHandshake {
  key: string;
  /** the complete request head to write */
  request: string;
  protocols: string[];
  extensions: ExtensionOffer[];
}

/**
 * Builds the client's opening handshake for `url` (ws:, wss:, http: or https:) with a fresh random key.
 *
 * @example
 * ```ts
 * import { createClientHandshake } from "@ws/core/protocol";
 *
 * const handshake = createClientHandshake("wss://example.com/chat?room=1", { protocols: ["chat"], origin: "https://example.com" });
 * console.log(handshake.request.split("\r\n")[0]); // "GET /chat?room=1 HTTP/1.1"
 * // write handshake.request to the connection, then check the response with validateHandshakeResponse(response, handshake)
 * ```
 */
export function createClientHandshake(
  url: string | URL,
  options: { protocols?: string[]; headers?: Record<string, string>; extensions?: ExtensionOffer[]; origin?: string } = {},
): ClientHandshake {
  const u = typeof url === "string" ? new URL(url) : url;
  const keyBytes = crypto.getRandomValues(new Uint8Array(16));
  const key = base64Encode(keyBytes);
  const protocols = options.protocols ?? [];
  for (const p of protocols) if (!isToken(p)) throw new SyntaxError(`invalid subprotocol name: ${p}`);
  if (new Set(protocols).size !== protocols.length) throw new SyntaxError("duplicate subprotocol names");
  const extensions = options.extensions ?? [];
  const headers: [string, string][] = [
    ["Host", u.host],
    ["Upgrade", "websocket"],
    ["Connection", "Upgrade"],
    ["Sec-WebSocket-Key", key],
    ["Sec-WebSocket-Version", "13"],
  ];
  if (protocols.length > 0) headers.push(["Sec-WebSocket-Protocol", protocols.join(", ")]);
  if (extensions.length > 0) headers.push(["Sec-WebSocket-Extensions", serializeExtensions(extensions)]);
  if (options.origin) headers.push(["Origin", options.origin]);
  for (const [k, v] of Object.entries(options.headers ?? {})) headers.push([k, v]);
  const target = (u.pathname || "/") + u.search;
  return { key, request: serializeHttpHead(`GET ${target} HTTP/1.1`, headers), protocols, extensions };
}

export type ClientHandshakeResult =
  | { ok: true; protocol: string | null; extensions: ExtensionOffer[] }
  | { ok: false; reason: string };

/**
 * Validates the server's response to our handshake (RFC 6455 §4.1, the client's checks).
 *
 * @example
 * ```ts
 * import { HeaderMap, acceptKey, createClientHandshake, validateHandshakeResponse } from "@ws/core/protocol";
 *
 * const handshake = createClientHandshake("ws://example.com/chat", { protocols: ["chat"] });
 * // the response head as read back (parseHttpHead gives its status line and headers)
 * const response = {
 *   status: 101,
 *   headers: new HeaderMap({ upgrade: "websocket", connection: "Upgrade", "sec-websocket-accept": acceptKey(handshake.key), "sec-websocket-protocol": "chat" }),
 * };
 * const result = validateHandshakeResponse(response, handshake);
 * console.log(result.ok ? result.protocol : result.reason); // "chat"
 * ```
 */
export function validateHandshakeResponse(
  response: { status: number; headers: HeadersLike },
  handshake: Pick<ClientHandshake, "key" | "protocols" | "extensions">,
): ClientHandshakeResult {
  if (response.status !== 101) return { ok: false, reason: `unexpected HTTP status ${response.status}` };
  if (!asksForWebSocket(response.headers)) return { ok: false, reason: "missing Upgrade: websocket" };
  const connection = parseHeaderList(response.headers.get("connection"));
  if (!connection.some((c) => c.toLowerCase() === "upgrade")) return { ok: false, reason: "missing Connection: Upgrade" };
  const accept = response.headers.get("sec-websocket-accept");
  if (accept?.trim() !== acceptKey(handshake.key)) return { ok: false, reason: "invalid Sec-WebSocket-Accept" };
  return validateAgreement(response.headers, handshake);
}

/**
 * The client's checks of what a server agreed to, the same over HTTP/1.1 (a 101) and HTTP/2 (an extended
 * CONNECT's 200, RFC 8441 §5): the subprotocol is one offered, each extension one offered, once.
 */
export function validateAgreement(headers: HeadersLike, handshake: Pick<ClientHandshake, "protocols" | "extensions">): ClientHandshakeResult {
  const response = { headers };
  const protocol = response.headers.get("sec-websocket-protocol");
  if (protocol !== null) {
    if (!handshake.protocols.includes(protocol.trim())) {
      return { ok: false, reason: `server chose a subprotocol that was not offered: ${protocol}` };
    }
  } else if (handshake.protocols.length > 0) {
    // RFC 6455 leaves this to the client; like browsers, accept a server that picks none
  }
  const extensions = parseExtensionHeader(response.headers.get("sec-websocket-extensions"));
  if (extensions === null) return { ok: false, reason: "malformed Sec-WebSocket-Extensions" };
  const seen = new Set<string>();
  for (const e of extensions) {
    if (!handshake.extensions.some((o) => o.name === e.name)) {
      return { ok: false, reason: `server accepted an extension that was not offered: ${e.name}` };
    }
    if (seen.has(e.name)) return { ok: false, reason: `extension ${e.name} accepted twice` };
    seen.add(e.name);
  }
  return { ok: true, protocol: protocol?.trim() ?? null, extensions };
}
