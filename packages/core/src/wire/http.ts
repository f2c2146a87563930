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

/** A minimal case-insensitive header map (repeated fields joined with ", " as RFC 9110 §5.3 allows). */
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

const MAX_HEAD = 16 * 1024;

/** bytes → string, one char per byte (ISO-8859-1, as RFC 9110 §5.5 reads field values), in chunks of 4 KiB */
function latin1(bytes: Uint8Array, start: number, end: number): string {
  let out = "";
  for (let i = start; i < end; i += 4096) out += String.fromCharCode.apply(null, bytes.subarray(i, Math.min(end, i + 4096)) as unknown as number[]);
  return out;
}

/**
 * Parses an HTTP/1.x head from the start of `bytes`. Returns null when more bytes are needed, or an Error
 * when the head is malformed or longer than 16 KiB.
 */
export function parseHttpHead(bytes: Uint8Array): HttpHead | null | Error {
  let end = -1;
  for (let i = 3; i < bytes.length; i++) {
    if (bytes[i] === 0x0a && bytes[i - 1] === 0x0d && bytes[i - 2] === 0x0a && bytes[i - 3] === 0x0d) {
      end = i + 1;
      break;
    }
  }
  if (end < 0) return bytes.length > MAX_HEAD ? new Error("HTTP head too large") : null;
  const text = latin1(bytes, 0, end - 4);
  let lineEnd = text.indexOf("\r\n");
  if (lineEnd < 0) lineEnd = text.length;
  const first = text.slice(0, lineEnd);
  const start = first.split(" ");
  if (start.length < 3) {
    if (start.length === 2 && /^HTTP\/\d\.\d$/.test(start[0]!)) start.push("");
    else return new Error(`malformed start line: ${first}`);
  }
  const startLine: [string, string, string] = [start[0]!, start[1]!, start.length === 3 ? start[2]! : start.slice(2).join(" ")];
  // the fields as a flat [name, value, …] list: one pass over the lines, no copy of a line but its name and value
  const raw: string[] = [];
  for (let at = lineEnd + 2; at < text.length; ) {
    let next = text.indexOf("\r\n", at);
    if (next < 0) next = text.length;
    const colon = text.indexOf(":", at);
    if (colon <= at || colon >= next) return new Error(`malformed header line: ${text.slice(at, next)}`);
    for (let i = at; i < colon; i++) {
      const c = text.charCodeAt(i);
      // whitespace as /\s/ finds it in ISO-8859-1 text: HTAB, LF, VT, FF, CR, SP, NBSP
      if (c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0xa0) return new Error(`malformed header line: ${text.slice(at, next)}`);
    }
    raw.push(text.slice(at, colon), text.slice(colon + 1, next).trim());
    at = next + 2;
  }
  return { startLine, headers: RawHeaders.sharing(raw), length: end };
}

/** Serializes a head: start line, then each header, then the blank line. */
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
  426: "Upgrade Required",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

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
