/**
 * The argument checks of the WHATWG WebSocket (WebSockets Standard, "The WebSocket interface"): the
 * constructor's URL and protocols, close()'s code and reason, and the sizes `send()` adds to bufferedAmount.
 * Each failure is the DOMException the standard names.
 */
import { utf8Length } from "../wire/frame.ts";
import { MAX_CLOSE_REASON_BYTES } from "../wire/close-codes.ts";

/** new WebSocket(url) steps 1–5: parse (against `base`), http: → ws:, https: → wss:, only ws(s), no fragment. */
export function parseWebSocketUrl(url: string | URL, base?: string): URL {
  let record: URL;
  try {
    record = new URL(String(url), base);
  } catch {
    throw new DOMException(`invalid URL: ${String(url)}`, "SyntaxError");
  }
  if (record.protocol === "http:") record.protocol = "ws:";
  else if (record.protocol === "https:") record.protocol = "wss:";
  if (record.protocol !== "ws:" && record.protocol !== "wss:") {
    throw new DOMException(`the URL's scheme must be ws or wss, not ${record.protocol.slice(0, -1)}`, "SyntaxError");
  }
  // a fragment, even an empty one ("ws://h/#"), is not allowed; the serialization shows it as "#"
  if (record.href.includes("#")) throw new DOMException("a WebSocket URL may not have a fragment", "SyntaxError");
  return record;
}

/** RFC 7230 token characters: what a Sec-WebSocket-Protocol element may be made of (RFC 6455 §4.1). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Steps 6–7: a string is a list of one; every protocol a token, none twice; else SyntaxError. */
export function checkProtocols(protocols: string | Iterable<string> | undefined): string[] {
  const list = protocols === undefined ? [] : typeof protocols === "string" ? [protocols] : Array.from(protocols, String);
  const seen = new Set<string>();
  for (const p of list) {
    if (!TOKEN.test(p)) throw new DOMException(`invalid subprotocol ${JSON.stringify(p)}`, "SyntaxError");
    if (seen.has(p)) throw new DOMException(`subprotocol ${JSON.stringify(p)} given twice`, "SyntaxError");
    seen.add(p);
  }
  return list;
}

/** WebIDL [Clamp] unsigned short: NaN → 0, clamped to 0–65535, rounded half to even. */
export function clampUnsignedShort(value: unknown): number {
  const x = Number(value);
  if (Number.isNaN(x)) return 0;
  const clamped = Math.min(Math.max(x, 0), 65535);
  const floor = Math.floor(clamped);
  const fraction = clamped - floor;
  if (fraction > 0.5 || (fraction === 0.5 && floor % 2 === 1)) return floor + 1;
  return floor;
}

/** WebIDL USVString: lone surrogates become U+FFFD. */
export function toUSVString(value: unknown): string {
  return String(value).replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");
}

/**
 * close(code, reason) steps 1–2: a code must be 1000 or 3000–4999 (else InvalidAccessError); a reason at most
 * 123 bytes of UTF-8 (else SyntaxError). Absent arguments stay undefined.
 */
export function checkCloseArguments(code: unknown, reason: unknown): { code: number | undefined; reason: string | undefined } {
  const c = code === undefined ? undefined : clampUnsignedShort(code);
  if (c !== undefined && c !== 1000 && !(c >= 3000 && c <= 4999)) {
    throw new DOMException(`close code ${c} is neither 1000 nor in 3000–4999`, "InvalidAccessError");
  }
  const r = reason === undefined ? undefined : toUSVString(reason);
  if (r !== undefined && utf8Length(r) > MAX_CLOSE_REASON_BYTES) throw new DOMException(`the close reason is longer than ${MAX_CLOSE_REASON_BYTES} bytes`, "SyntaxError");
  return { code: c, reason: r };
}

/** What send() may be given (WebIDL: BufferSource or Blob or USVString). */
export type WebSocketData = string | ArrayBuffer | ArrayBufferView | Blob;

/** The bytes `data` adds to bufferedAmount: UTF-8 bytes of text, bytes of binary data or a Blob. */
export function sizeOfData(data: WebSocketData): number {
  if (typeof data === "string") return utf8Length(data);
  if (data instanceof Blob) return data.size;
  return data.byteLength;
}
