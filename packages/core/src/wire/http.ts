/**
 * The little HTTP/1.1 the opening handshake needs when an adapter has only a raw byte stream (a client, or a
 * server on a raw TCP listener): parsing a request or response head (RFC 9112 §2–§5) and a header map.
 */

/** Read access to HTTP headers, case-insensitive; the fetch API's `Headers` satisfies it. */
export interface HeadersLike {
  get(name: string): string | null;
  has?(name: string): boolean;
  forEach?(callback: (value: string, name: string) => void): void;
}

/**
 * A minimal case-insensitive header map (repeated fields joined with ", " as RFC 9110 §5.3 allows).
 *
 * @example
 * ```ts
 * import { HeaderMap } from "@ws/core";
 *
 * const headers = new HeaderMap({ Host: "example.com", "Sec-WebSocket-Protocol": ["chat", "superchat"] });
 * headers.append("X-Trace", "1");
 * console.log(headers.get("sec-websocket-protocol")); // "chat, superchat": names are case-insensitive, repeats joined
 * console.log([...headers.entries()].length); // 3
 * ```
 */
export class HeaderMap implements HeadersLike {
  private readonly map = new Map<string, string>();
  constructor(init?: Iterable<readonly [string, string]> | Record<string, string | string[] | undefined>) {
    if (!init) return;
    const entries: Iterable<readonly [string, unknown]> =
      Symbol.iterator in Object(init) ? (init as Iterable<readonly [string, string]>) : Object.entries(init);
    for (const [name, value] of entries) {
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const v of value) this.append(name, String(v));
      else this.append(name, String(value));
    }
  }
  append(name: string, value: string): void {
    const key = name.toLowerCase();
    const prev = this.map.get(key);
    this.map.set(key, prev === undefined ? value : `${prev}, ${value}`);
  }
  set(name: string, value: string): void {
    this.map.set(name.toLowerCase(), value);
  }
  get(name: string): string | null {
    return this.map.get(name.toLowerCase()) ?? null;
  }
  has(name: string): boolean {
    return this.map.has(name.toLowerCase());
  }
  forEach(callback: (value: string, name: string) => void): void {
    for (const [k, v] of this.map) callback(v, k);
  }
  entries(): IterableIterator<[string, string]> {
    return this.map.entries();
  }
}

export interface HttpHead {
  /** request: method, target, version; response: version, status, reason */
  startLine: [string, string, string];
  /** the header fields as sent, names and values of common handshake fields as shared strings (RawHeaders.sharing) */
  headers: RawHeaders;
  /** bytes taken by the head including the blank line: what follows is already protocol data */
  length: number;
}

/** decodes the ASCII heads (for ASCII, UTF-8 and ISO-8859-1 agree) */
const asciiDecoder = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * bytes → string, one char per byte (ISO-8859-1, as RFC 9110 §5.5 reads field values): ASCII (nearly every head)
 * with the runtime's native decoder, at about half the cost on JavaScriptCore and V8; else in chunks of 4 KiB
 */
function latin1(bytes: Uint8Array, start: number, end: number): string {
  let i = start;
  while (i < end && bytes[i]! < 0x80) i++;
  if (i === end) return asciiDecoder.decode(bytes.subarray(start, end));
  let out = "";
  for (let i = start; i < end; i += 4096) out += String.fromCharCode.apply(null, bytes.subarray(i, Math.min(end, i + 4096)) as unknown as number[]);
  return out;
}

/** The most bytes a head may take, its blank line included (the start line and the fields together). */
export const MAX_HTTP_HEAD = 16 * 1024;

/**
 * A head that cannot be read as HTTP/1.1 (RFC 9112): `status` is what a server answers — 400 for bad syntax
 * (a bare CR or LF, a control character in the request-target or a field value, a field name that is not a
 * token), 414 when the request line alone is over `MAX_HTTP_HEAD`, 431 when the head is. The message never
 * repeats the peer's bytes (it becomes a response body and a log line).
 *
 * @example
 * ```ts
 * import { HttpHeadError, buildRejectResponse, parseHttpHead } from "@ws/core/protocol";
 *
 * const head = parseHttpHead(new TextEncoder().encode("GET /chat HTTP/1.1\nHost: example.com\n\n")); // bare LFs
 * if (head instanceof HttpHeadError) {
 *   console.log(head.status); // 400
 *   const response = buildRejectResponse(head.status, head.message); // then close the connection
 * }
 * ```
 */
export class HttpHeadError extends Error {
  override readonly name = "HttpHeadError";
  readonly status: 400 | 414 | 431;
  constructor(status: 400 | 414 | 431, message: string) {
    super(message);
    this.status = status;
  }
}

/** Character classes of ISO-8859-1, one bit each (RFC 9110 §5.6.2 tchar, §5.5 field-vchar, RFC 9112 §3.2 target). */
const TCHAR = 1;
/** what a field value may hold: HTAB, SP, VCHAR, obs-text (RFC 9110 §5.5); no other control character */
const FIELD = 2;
/**
 * what a request-target may hold: visible ASCII (RFC 9112 §3.2: its forms are RFC 3986's, all ASCII); no space,
 * no control character, no byte over 0x7e (Node's parser refuses them too: a client percent-encodes)
 */
const TARGET = 4;
const CLASSES = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const visible = (c > 0x20 && c < 0x7f) || c >= 0x80;
  if (visible || c === 0x20 || c === 0x09) CLASSES[c]! |= FIELD;
  if (c > 0x20 && c < 0x7f) CLASSES[c]! |= TARGET;
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c))) CLASSES[c]! |= TCHAR;
}

/** Whether every char of `text` from `start` to `end` has `bit`, and there is at least one. */
function all(text: string, start: number, end: number, bit: number): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) if ((CLASSES[text.charCodeAt(i)]! & bit) === 0) return false;
  return true;
}

/** The start line's three parts, or an error: a request line (RFC 9112 §3) or a status line (§4). */
function parseStartLine(line: string): [string, string, string] | HttpHeadError {
  const sp1 = line.indexOf(" ");
  if (line.startsWith("HTTP/")) {
    // status-line = HTTP-version SP status-code SP [ reason-phrase ]; "HTTP/1.1 101" without the second SP is read too
    const version = sp1 < 0 ? line : line.slice(0, sp1);
    const sp2 = sp1 < 0 ? -1 : line.indexOf(" ", sp1 + 1);
    const status = sp1 < 0 ? "" : line.slice(sp1 + 1, sp2 < 0 ? line.length : sp2);
    if (!/^HTTP\/\d\.\d$/.test(version) || !/^\d{3}$/.test(status)) return new HttpHeadError(400, "malformed status line");
    if (sp2 >= 0 && sp2 + 1 < line.length && !all(line, sp2 + 1, line.length, FIELD)) return new HttpHeadError(400, "malformed status line");
    return [version, status, sp2 < 0 ? "" : line.slice(sp2 + 1)];
  }
  // request-line = method SP request-target SP HTTP-version, single spaces
  const sp2 = sp1 < 0 ? -1 : line.indexOf(" ", sp1 + 1);
  if (sp2 < 0 || !all(line, 0, sp1, TCHAR)) return new HttpHeadError(400, "malformed request line");
  if (!all(line, sp1 + 1, sp2, TARGET)) return new HttpHeadError(400, "malformed request-target");
  const version = line.slice(sp2 + 1);
  if (!/^HTTP\/\d\.\d$/.test(version)) return new HttpHeadError(400, "malformed request line");
  return [line.slice(0, sp1), line.slice(sp1 + 1, sp2), version];
}

/** The start lines' common parts, each one string shared by every head (as `COMMON_HEADER_STRINGS`). */
const COMMON_START_STRINGS = new Map<string, string>(["GET", "HTTP/1.1", "HTTP/1.0", "101", "Switching Protocols", "/"].map((v) => [v, v]));

/**
 * `text` from `start` to `end` as a string of its own (`text` is `bytes` read as latin1: the same offsets), or the
 * shared string of a common name or value. A slice would do on V8, but on JavaScriptCore a slice keeps the whole
 * string it was cut from: a connection keeping its url or a header value would keep its whole request head.
 */
function own(text: string, bytes: Uint8Array, start: number, end: number): string {
  if (end - start < 2) return text.slice(start, end); // "" and one character: never a view
  const piece = text.slice(start, end);
  return COMMON_HEADER_STRINGS.get(piece) ?? COMMON_START_STRINGS.get(piece) ?? latin1(bytes, start, end);
}

/**
 * Fields whose value is most often the same on every connection (the server's Host, a site's Origin, a browser's
 * User-Agent, …) and holds nothing secret: their recent values are kept (`RECENT_VALUES`), so that the connections
 * that send the same one share one string rather than keep a copy each (a browser's User-Agent alone is over 100
 * bytes), and the copy is not made.
 */
const SHARED_VALUE_FIELDS = new Set([
  "host",
  "origin",
  "user-agent",
  "accept-language",
  "accept-encoding",
  "cache-control",
  "pragma",
  "sec-websocket-extensions",
  "sec-websocket-protocol",
]);
/** the values of SHARED_VALUE_FIELDS seen lately, up to this many (then forgotten, and kept again as they come) */
const RECENT_VALUES_MAX = 64;
/** the longest value kept there */
const RECENT_VALUE_MAX_LENGTH = 512;
const RECENT_VALUES = new Map<string, string>();

/**
 * `value` from `start` to `end` without the optional whitespace (SP, HTAB) at either end (RFC 9110 §5.5), as `own`
 * gives it; of a field in SHARED_VALUE_FIELDS (`name`, lowercase), the string of the same value seen lately if any.
 */
function trimOws(text: string, bytes: Uint8Array, start: number, end: number, name: string): string {
  while (start < end && (text.charCodeAt(start) === 0x20 || text.charCodeAt(start) === 0x09)) start++;
  while (end > start && (text.charCodeAt(end - 1) === 0x20 || text.charCodeAt(end - 1) === 0x09)) end--;
  if (end - start < 2 || end - start > RECENT_VALUE_MAX_LENGTH || !SHARED_VALUE_FIELDS.has(name)) return own(text, bytes, start, end);
  const piece = text.slice(start, end);
  const recent = RECENT_VALUES.get(piece);
  if (recent !== undefined) return recent;
  const value = own(text, bytes, start, end);
  if (RECENT_VALUES.size >= RECENT_VALUES_MAX) RECENT_VALUES.clear();
  RECENT_VALUES.set(value, value);
  return value;
}

/**
 * Parses an HTTP/1.x head (RFC 9112 §2–§5) from the start of `bytes`. Returns null when more bytes are needed, or
 * an `HttpHeadError` (with the status a server answers) when the head is malformed or over `MAX_HTTP_HEAD`,
 * whether it is complete or not. Strict where RFC 9112 lets a recipient choose, as Node's parser is: every line
 * ends in CRLF (a bare LF or CR is refused, never read as an end of line); a request-target is visible ASCII
 * (no space, no control character, no raw byte over 0x7e); a field name is a token; a field value has no control character but HTAB (NUL, CR
 * and LF included); a folded line (obs-fold) is refused.
 *
 * @example
 * ```ts
 * import { HttpHeadError, parseHttpHead } from "@ws/core/protocol";
 *
 * const received = new TextEncoder().encode("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\nhi");
 * const head = parseHttpHead(received);
 * if (head === null) {
 *   // incomplete: read more bytes and parse again from the start
 * } else if (head instanceof HttpHeadError) {
 *   console.log(head.status, head.message); // malformed or too large: 400, 414 or 431
 * } else {
 *   const [version, status] = head.startLine; // "HTTP/1.1" "101"
 *   console.log(version, status, head.headers.get("upgrade")); // HTTP/1.1 101 websocket
 *   const rest = received.subarray(head.length); // what follows the head is protocol data already
 *   console.log(rest.length); // 2
 * }
 * ```
 */
export function parseHttpHead(bytes: Uint8Array): HttpHead | null | HttpHeadError {
  // the head's end, looked for within MAX_HTTP_HEAD only; every LF must follow a CR
  const limit = Math.min(bytes.length, MAX_HTTP_HEAD);
  let end = -1;
  let firstLine = -1;
  for (let lf = bytes.indexOf(0x0a); lf >= 0 && lf < limit; lf = bytes.indexOf(0x0a, lf + 1)) {
    if (lf === 0 || bytes[lf - 1] !== 0x0d) return new HttpHeadError(400, "bare LF in the head");
    if (firstLine < 0) firstLine = lf - 1;
    else if (bytes[lf - 2] === 0x0a) {
      end = lf + 1;
      break;
    }
  }
  if (end < 0) {
    if (bytes.length < MAX_HTTP_HEAD) return null;
    const request = !(bytes[0] === 0x48 && bytes[1] === 0x54 && bytes[2] === 0x54 && bytes[3] === 0x50); // not "HTTP"
    return firstLine < 0 && request
      ? new HttpHeadError(414, `request line over ${MAX_HTTP_HEAD} bytes`)
      : new HttpHeadError(431, `head over ${MAX_HTTP_HEAD} bytes`);
  }
  const text = latin1(bytes, 0, end - 4);
  const lineEnd = firstLine < end - 4 ? firstLine : text.length;
  const parsed = parseStartLine(text.slice(0, lineEnd));
  if (parsed instanceof HttpHeadError) return parsed;
  // the three parts as strings of their own: each follows the one before and one space
  const at1 = parsed[0].length + 1;
  const at2 = at1 + parsed[1].length + 1;
  const startLine: [string, string, string] = [
    own(text, bytes, 0, parsed[0].length),
    own(text, bytes, at1, at1 + parsed[1].length),
    own(text, bytes, at2, at2 + parsed[2].length),
  ];
  // the fields as a flat [name, value, …] list: one pass over the lines, no copy of a line but its name and value.
  // A CR inside a line is a control character, so the checks of names and values refuse a bare CR too
  const raw: string[] = [];
  for (let at = lineEnd + 2; at < text.length; ) {
    let next = text.indexOf("\r\n", at);
    if (next < 0) next = text.length;
    const colon = text.indexOf(":", at);
    // field-line = field-name ":" OWS field-value OWS, the name a token (no whitespace before the colon, no obs-fold)
    if (colon < 0 || colon >= next || !all(text, at, colon, TCHAR)) return new HttpHeadError(400, "malformed header line");
    if (colon + 1 < next && !all(text, colon + 1, next, FIELD)) return new HttpHeadError(400, "control character in a header value");
    const name = own(text, bytes, at, colon);
    raw.push(name, trimOws(text, bytes, colon + 1, next, name.toLowerCase()));
    at = next + 2;
  }
  // common names and values are shared already (own)
  return { startLine, headers: new RawHeaders(raw), length: end };
}

/**
 * Serializes a head: start line, then each header, then the blank line.
 *
 * @example
 * ```ts
 * import { serializeHttpHead } from "@ws/core/protocol";
 *
 * const head = serializeHttpHead("GET /chat HTTP/1.1", [["Host", "example.com"], ["Upgrade", "websocket"]]);
 * console.log(JSON.stringify(head)); // "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\r\n"
 * ```
 */
export function serializeHttpHead(startLine: string, headers: Iterable<readonly [string, string]>): string {
  let out = `${startLine}\r\n`;
  for (const [name, value] of headers) out += `${name}: ${value}\r\n`;
  return `${out}\r\n`;
}

const STATUS_TEXT: Record<number, string> = {
  101: "Switching Protocols",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  414: "URI Too Long",
  426: "Upgrade Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/**
 * The reason phrase of a status code a WebSocket server answers ("Error" for one it does not name).
 *
 * @example
 * ```ts
 * import { statusText } from "@ws/core/protocol";
 *
 * console.log(`HTTP/1.1 426 ${statusText(426)}`); // "HTTP/1.1 426 Upgrade Required"
 * ```
 */
export function statusText(status: number): string {
  return STATUS_TEXT[status] ?? "Error";
}

/** The names and values most handshakes send, each as one string shared by all connections (RawHeaders.sharing). */
const COMMON_HEADER_STRINGS = new Map<string, string>(
  [
    "Host", "Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Extensions",
    "Sec-WebSocket-Protocol", "Origin", "User-Agent", "Cookie", "Pragma", "Cache-Control", "Accept-Encoding",
    "Accept-Language", "Authorization", "X-Forwarded-For", "X-Forwarded-Proto", "X-Real-IP",
    "websocket", "WebSocket", "keep-alive, Upgrade", "Keep-Alive, Upgrade", "13", "no-cache", "gzip, deflate, br",
    "gzip, deflate, br, zstd", "gzip, deflate", "permessage-deflate; client_max_window_bits", "permessage-deflate",
  ].flatMap((v) => (/^[A-Z]/.test(v) && !v.includes(" ") ? [v, v.toLowerCase()] : [v])).map((v) => [v, v]),
);

/**
 * Whether `value` from `at`, for `lower.length` chars, lowercased equals `lower` (lowercase), without a copy for
 * ASCII; a stretch with other chars is compared by toLowerCase.
 */
export function equalsLowercaseAt(value: string, at: number, lower: string): boolean {
  for (let j = 0; j < lower.length; j++) {
    let c = value.charCodeAt(at + j);
    if (c >= 0x80) return value.slice(at, at + lower.length).toLowerCase() === lower;
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== lower.charCodeAt(j)) return false;
  }
  return true;
}

/**
 * Headers over a flat [name, value, name, value, …] list as a runtime hands it over (Node's rawHeaders),
 * kept as is: no map is built, lookups scan the few handshake headers case-insensitively, repeated fields
 * are joined with ", ".
 *
 * @example
 * ```ts
 * import { RawHeaders } from "@ws/core/protocol";
 *
 * // the flat list a runtime hands over, such as node:http's `request.rawHeaders`
 * const headers = new RawHeaders(["Host", "example.com", "Upgrade", "websocket", "X-Tag", "a", "x-tag", "b"]);
 * console.log(headers.get("upgrade"), headers.get("x-tag")); // "websocket" "a, b"
 * ```
 */
export class RawHeaders implements HeadersLike {
  private readonly raw: readonly string[];
  constructor(raw: readonly string[]) {
    this.raw = raw;
  }

  /**
   * RawHeaders over `raw` (which it may change in place: each name or value equal to a common one of a
   * WebSocket handshake is replaced by the one shared string). An open connection keeps its request's
   * headers; the HTTP parser makes new strings for every request, and most of them are the same on every
   * connection ("Upgrade", "websocket", "Sec-WebSocket-Version", "13", …).
   */
  static sharing(raw: string[]): RawHeaders {
    for (let i = 0; i < raw.length; i++) {
      const shared = COMMON_HEADER_STRINGS.get(raw[i]!);
      if (shared !== undefined) raw[i] = shared;
    }
    return new RawHeaders(raw);
  }
  get(name: string): string | null {
    const key = name.toLowerCase();
    const raw = this.raw;
    let found: string | null = null;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const n = raw[i]!;
      // compared without making a lowercase copy of each name: lookups run several times per handshake
      if (n.length === key.length && equalsLowercaseAt(n, 0, key)) found = found === null ? raw[i + 1]! : `${found}, ${raw[i + 1]}`;
    }
    return found;
  }
  has(name: string): boolean {
    return this.get(name) !== null;
  }
  forEach(callback: (value: string, name: string) => void): void {
    const seen = new Set<string>();
    for (let i = 0; i + 1 < this.raw.length; i += 2) {
      const key = this.raw[i]!.toLowerCase();
      if (seen.has(key)) continue;
      seen.add(key);
      callback(this.get(key)!, key);
    }
  }
}

/**
 * The name=value pairs of a Cookie header (RFC 6265 §4.2.1: `name=value; name=value`), parsed leniently as
 * §5.4 has user agents send them: pairs split at ";", optional whitespace trimmed, the value's surrounding
 * double quotes removed (§4.1.1), nothing percent-decoded (the RFC defines no encoding). A pair without "=" or
 * with an empty name is skipped; of a repeated name the first wins (user agents send the most specific path
 * first, §5.4 step 2). Repeated Cookie fields joined with ", " (which HTTP/1.1 clients must not send) are not
 * split apart.
 *
 * @example
 * ```ts
 * import { parseCookieHeader } from "@ws/core/protocol";
 *
 * const cookies = parseCookieHeader('session=abc; theme="dark"; lone');
 * console.log(cookies.get("session"), cookies.get("theme"), cookies.has("lone")); // "abc" "dark" false
 * ```
 */
export function parseCookieHeader(header: string | null): Map<string, string> {
  const cookies = new Map<string, string>();
  if (!header) return cookies;
  for (const pair of header.split(";")) {
    const eq = pair.indexOf("=");
    if (eq < 0) continue;
    const name = pair.slice(0, eq).trim();
    if (name === "" || cookies.has(name)) continue;
    let value = pair.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    cookies.set(name, value);
  }
  return cookies;
}
