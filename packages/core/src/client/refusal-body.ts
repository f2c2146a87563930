/**
 * The start of the body of a response that refused the opening handshake, kept for `HandshakeError.body`: the
 * server's words on why ("missing or bad token"). Bounded: at most `REFUSAL_BODY_LIMIT` bytes of it are kept, and
 * the client waits at most `REFUSAL_BODY_WAIT` ms for them — a body that is huge or never ends holds the client no
 * longer. The message is framed as RFC 9112 §6.3 says: no body for 1xx, 204 and 304; chunked
 * (Transfer-Encoding) decoded; else Content-Length; else until the server closes.
 */
import type { HeadersLike } from "../wire/http.ts";
import { logText } from "../session/log-text.ts";
import { concatChunks } from "../wire/frame.ts";

/** Bytes of a refusal's body the client keeps (the start of it; the rest is not read). */
export const REFUSAL_BODY_LIMIT = 4096;

/** Milliseconds the client waits for a refusal's body once the head is in (then it keeps what came). */
export const REFUSAL_BODY_WAIT = 1000;

/** Chars of the body a HandshakeError's message quotes. */
const EXCERPT_LIMIT = 120;

/** Raw bytes of a chunked body read at most (its chunk lines included): twice the limit of the decoded body. */
const CHUNKED_RAW_LIMIT = 2 * REFUSAL_BODY_LIMIT;

type Framing = { kind: "none" } | { kind: "length"; length: number } | { kind: "chunked" } | { kind: "close" };

function framing(status: number, headers: HeadersLike): Framing {
  if ((status >= 100 && status < 200) || status === 204 || status === 304) return { kind: "none" };
  const te = headers.get("transfer-encoding");
  if (te !== null) return te.split(",").at(-1)!.trim().toLowerCase() === "chunked" ? { kind: "chunked" } : { kind: "close" };
  const cl = headers.get("content-length");
  if (cl !== null && /^\d+$/.test(cl.trim())) return Number(cl.trim()) === 0 ? { kind: "none" } : { kind: "length", length: Number(cl.trim()) };
  return { kind: "close" };
}

/** The body as it arrives, until it is complete or the limit is reached. */
export class RefusalBody {
  private readonly framing: Framing;
  /** what arrived (raw, for a chunked body), at most the limit */
  private bytes: Uint8Array = new Uint8Array(0);
  /** the decoded body, once a chunked one has ended */
  private decoded: Uint8Array | undefined;
  private full = false;

  constructor(status: number, headers: HeadersLike) {
    this.framing = framing(status, headers);
  }

  /** True when nothing more is wanted: the body is complete, or as much of it as is kept has arrived. */
  get done(): boolean {
    return this.framing.kind === "none" || this.full || this.decoded !== undefined;
  }

  /** Takes the next bytes of the response (those after the head). */
  push(chunk: Uint8Array): void {
    if (this.done || chunk.length === 0) return;
    const limit = this.framing.kind === "chunked" ? CHUNKED_RAW_LIMIT : this.framing.kind === "length" ? Math.min(this.framing.length, REFUSAL_BODY_LIMIT) : REFUSAL_BODY_LIMIT;
    const take = Math.min(chunk.length, limit - this.bytes.length);
    this.bytes = concatChunks([this.bytes, chunk.subarray(0, take)]);
    if (this.bytes.length >= limit) this.full = true;
    if (this.framing.kind === "chunked") {
      const body = dechunk(this.bytes);
      if (body.ended || body.data.length >= REFUSAL_BODY_LIMIT) this.decoded = body.data;
    }
  }

  /** The body kept, as UTF-8 text (malformed bytes as U+FFFD; a character cut at the limit left out). */
  text(): string {
    let data = this.framing.kind === "chunked" ? (this.decoded ?? dechunk(this.bytes).data) : this.bytes;
    if (data.length > REFUSAL_BODY_LIMIT) data = data.subarray(0, REFUSAL_BODY_LIMIT);
    const complete = this.framing.kind === "length" ? data.length === this.framing.length : this.decoded !== undefined && data.length < REFUSAL_BODY_LIMIT;
    return new TextDecoder("utf-8").decode(complete ? data : withoutCutCharacter(data));
  }
}

/** The decoded data of a chunked body so far (RFC 9112 §7.1), and whether its last chunk has come. */
function dechunk(raw: Uint8Array): { data: Uint8Array; ended: boolean } {
  const parts: Uint8Array[] = [];
  let size = 0;
  let at = 0;
  while (at < raw.length) {
    const lf = raw.indexOf(0x0a, at);
    if (lf < 0) break;
    // chunk-size [ chunk-ext ] CRLF: the hex digits before any ";" or whitespace
    let n = 0;
    let digits = 0;
    for (let i = at; i < lf; i++, digits++) {
      const c = raw[i]!;
      const v = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
      if (v < 0) break;
      n = n * 16 + v;
    }
    // the last chunk (size 0), or a line that is no chunk size (not chunked after all): what was decoded is all
    if (n === 0) return { data: concatChunks(parts, size), ended: true };
    const start = lf + 1;
    const end = Math.min(start + n, raw.length);
    parts.push(raw.subarray(start, end));
    size += end - start;
    if (end < start + n) break;
    at = end + 2; // the CRLF after the chunk's data
  }
  return { data: concatChunks(parts, size), ended: false };
}

/** `data` without a UTF-8 sequence cut short at its end (the rest of the character was not kept). */
function withoutCutCharacter(data: Uint8Array): Uint8Array {
  // the last lead byte within the last 3, and whether its sequence is complete
  for (let back = 1; back <= Math.min(3, data.length); back++) {
    const b = data[data.length - back]!;
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? data.subarray(0, data.length - back) : data;
  }
  return data;
}

/** A short excerpt of a body for an error message: whitespace folded, control characters escaped, cut. */
export function bodyExcerpt(body: string): string {
  return logText(body.replace(/\s+/g, " ").trim(), EXCERPT_LIMIT).replace(/…\(\+\d+ chars\)$/, "…");
}
