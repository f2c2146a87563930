/**
 * The load generator's own minimal WebSocket client side, on raw bytes: the opening handshake, frames encoded
 * and masked once up front, and a reply scanner that reads frame headers only (payloads are skipped by length)
 * unless a frame is being sampled, in which case its payload is copied out and checked.
 *
 * Written for speed over generality: the generator must never be the bottleneck. It is not a conforming
 * client (the frames of a run are masked once, so a frame sent again repeats its key); it only has to be
 * understood by servers.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Socket } from "node:net";

export const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

/** The default masking key (control frames); the data frames of a run each get a key of their own (`randomMask`). */
export const MASK = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

/** A fresh masking key, as a browser picks one per frame (RFC 6455 §5.3). */
export function randomMask(): Buffer {
  return randomBytes(4);
}

export function acceptFor(key: string): string {
  return createHash("sha1").update(key + GUID).digest("base64");
}

export interface HandshakeRequest {
  key: string;
  bytes: Buffer;
}

/** An upgrade request; `deflate` offers permessage-deflate with client_no_context_takeover. */
export function handshakeRequest(host: string, port: number, path: string, deflate: boolean): HandshakeRequest {
  const key = randomBytes(16).toString("base64");
  const lines = [
    `GET ${path} HTTP/1.1`,
    `Host: ${host}:${port}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${key}`,
    "Sec-WebSocket-Version: 13",
  ];
  // client_no_context_takeover: every message we send is compressed on its own, so one pre-compressed
  // frame stays valid for every send. The server keeps its own context (the common default).
  if (deflate) lines.push("Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover");
  return { key, bytes: Buffer.from(lines.join("\r\n") + "\r\n\r\n", "latin1") };
}

export interface HandshakeResponse {
  status: number;
  headers: Map<string, string>;
  /** bytes that followed the response head (frames the server sent at once) */
  rest: Buffer;
}

/** Finds the end of an HTTP response head in `buf`; null while incomplete. */
export function parseResponseHead(buf: Buffer): HandshakeResponse | null {
  const end = buf.indexOf("\r\n\r\n");
  if (end < 0) return null;
  const lines = buf.subarray(0, end).toString("latin1").split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "")?.[1] ?? 0);
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status, headers, rest: buf.subarray(end + 4) };
}

/** Checks a 101 response; returns an error message or null. */
export function checkHandshake(res: HandshakeResponse, key: string, expectDeflate: boolean): string | null {
  if (res.status !== 101) return `expected 101, got ${res.status}`;
  if (res.headers.get("sec-websocket-accept") !== acceptFor(key)) return "wrong Sec-WebSocket-Accept";
  const ext = res.headers.get("sec-websocket-extensions") ?? "";
  if (expectDeflate && !ext.includes("permessage-deflate")) return "permessage-deflate not negotiated";
  return null;
}

/** One prepared handshake: the request bytes, with their key, and the Sec-WebSocket-Accept a server must answer. */
export interface PreparedHandshake {
  request: Buffer;
  accept: string;
}

/**
 * A small pool of handshakes prepared once for one target (host, port, path, offer): each has its own random
 * 16-byte Sec-WebSocket-Key, its request bytes and the accept value its 101 must carry. Connections take them in
 * turn, so no key, request or SHA-1 is made per connection, and every 101 is still checked against the key that
 * connection sent.
 */
export class HandshakeKeys {
  private readonly pool: PreparedHandshake[] = [];
  private turn = 0;

  constructor(host: string, port: number, path: string, deflate: boolean, size = 64) {
    for (let i = 0; i < size; i++) {
      const { key, bytes } = handshakeRequest(host, port, path, deflate);
      this.pool.push({ request: bytes, accept: acceptFor(key) });
    }
  }

  next(): PreparedHandshake {
    const h = this.pool[this.turn]!;
    this.turn = (this.turn + 1) % this.pool.length;
    return h;
  }
}

const HEAD_END = Buffer.from("\r\n\r\n", "latin1");
const STATUS_101 = Buffer.from("HTTP/1.1 101 ", "latin1");

/** The result of `checkUpgradeResponse`: null while the head is incomplete, an error, or where the head ends. */
export type UpgradeCheck = null | { error: string } | { headLength: number; extensions: string };

/**
 * Checks a server's answer to an upgrade request, from its first byte (RFC 6455 §4.1): the status line is
 * `HTTP/1.1 101`, `Upgrade` is `websocket`, `Connection` holds the `upgrade` token, and there is exactly one
 * `Sec-WebSocket-Accept`, equal to `accept` (the value for the key that was sent). Returns null while `buf` does
 * not yet hold the whole head; otherwise an error or the head's length (the bytes after it are frames).
 *
 * Built for the common case of a head that arrives whole in one read: one search for its end, one byte
 * comparison of the status line, one latin1 string of the head and a walk over its lines, no header map.
 */
export function checkUpgradeResponse(buf: Buffer, accept: string, expectDeflate: boolean): UpgradeCheck {
  const end = buf.indexOf(HEAD_END);
  if (end < 0) return null;
  if (end < STATUS_101.length || buf.compare(STATUS_101, 0, STATUS_101.length, 0, STATUS_101.length) !== 0) {
    const line = buf.toString("latin1", 0, Math.min(end, 80)).split("\r\n")[0]!;
    return { error: `expected 101, got ${/^HTTP\/\d\.\d (\d{3})/.exec(line)?.[1] ?? JSON.stringify(line)}` };
  }
  const head = buf.toString("latin1", 0, end);
  let upgrade = false;
  let connection = false;
  let accepts = 0;
  let acceptRight = false;
  let extensions = "";
  let at = head.indexOf("\r\n") + 2;
  while (at > 1 && at < end) {
    let eol = head.indexOf("\r\n", at);
    if (eol < 0) eol = end;
    const colon = head.indexOf(":", at);
    if (colon > at && colon < eol) {
      const n = colon - at;
      // names compared only at the lengths that matter
      if (n === 7 || n === 10 || n === 20 || n === 24) {
        const name = head.slice(at, colon).toLowerCase();
        const value = head.slice(colon + 1, eol).trim();
        if (name === "upgrade") upgrade = value.toLowerCase() === "websocket";
        else if (name === "connection") connection = value.split(",").some((t) => t.trim().toLowerCase() === "upgrade");
        else if (name === "sec-websocket-accept") {
          accepts++;
          acceptRight = value === accept;
        } else if (name === "sec-websocket-extensions") extensions = extensions ? `${extensions}, ${value}` : value;
      }
    }
    at = eol + 2;
  }
  if (!upgrade) return { error: "no Upgrade: websocket" };
  if (!connection) return { error: "no Connection: upgrade" };
  if (accepts !== 1 || !acceptRight) return { error: "wrong Sec-WebSocket-Accept" };
  if (expectDeflate && !extensions.includes("permessage-deflate")) return { error: "permessage-deflate not negotiated" };
  return { headLength: end + 4, extensions };
}

/** A complete client frame (FIN set), masked with `mask`; `rsv1` marks a compressed message. */
export function encodeClientFrame(opcode: number, payload: Uint8Array, rsv1 = false, mask: Buffer = MASK): Buffer {
  const n = payload.length;
  const lengthBytes = n < 126 ? 0 : n < 0x10000 ? 2 : 8;
  const out = Buffer.allocUnsafe(2 + lengthBytes + 4 + n);
  out[0] = 0x80 | (rsv1 ? 0x40 : 0) | opcode;
  let p = 2;
  if (n < 126) out[1] = 0x80 | n;
  else if (n < 0x10000) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(n, 2);
    p = 4;
  } else {
    out[1] = 0x80 | 127;
    out.writeUInt32BE(Math.floor(n / 0x100000000), 2);
    out.writeUInt32BE(n >>> 0, 6);
    p = 10;
  }
  mask.copy(out, p);
  p += 4;
  for (let i = 0; i < n; i++) out[p + i] = payload[i]! ^ mask[i & 3]!;
  return out;
}

/**
 * Pre-encoded frames laid out so that any run of up to `maxRun` consecutive frames of the cycle, starting at
 * any of them, is one contiguous slice: each batch of sends is one `socket.write` of a view, no copy. The bytes
 * are shared by every connection; each keeps its own position in the cycle.
 */
export class FrameRing {
  readonly frames: Buffer[];
  private readonly buffer: Buffer;
  private readonly offsets: number[];

  constructor(frames: Buffer[], maxRun: number) {
    this.frames = frames;
    const copies = Math.ceil(maxRun / frames.length) + 1;
    const all: Buffer[] = [];
    for (let c = 0; c < copies; c++) all.push(...frames);
    this.buffer = Buffer.concat(all);
    this.offsets = [0];
    for (const f of all) this.offsets.push(this.offsets[this.offsets.length - 1]! + f.length);
  }

  /** `count` (at most maxRun) frames starting with frame `start` of the cycle, as one slice. */
  slice(start: number, count: number): Buffer {
    return this.buffer.subarray(this.offsets[start]!, this.offsets[start + count]!);
  }
}

/** What the scanner reports for each complete frame it was asked to capture. */
export type FrameCapture = (opcode: number, rsv1: boolean, payload: Buffer) => void;

/**
 * Counts complete messages in a byte stream from the server by reading frame headers only. Payloads are skipped
 * by length, except control frames (answered: ping → pong) and frames captured for checking.
 */
export class FrameScanner {
  /** complete data messages (FIN frames of text, binary or continuation) */
  messages = 0;
  /** a close frame arrived */
  closed = false;
  /** capture the next frames' payloads (while > 0): the sample that is checked fully */
  capture = 0;
  onCapture: FrameCapture | null = null;

  private readonly header = Buffer.alloc(14);
  private headerLength = 0;
  private remaining = 0;
  private opcode = 0;
  private fin = false;
  private rsv1 = false;
  private mask: Buffer | null = null;
  /** payload being gathered (control frames, captured frames) */
  private gather: Buffer | null = null;
  private gathered = 0;
  private readonly socket: Socket | null;

  constructor(socket: Socket | null) {
    this.socket = socket;
  }

  push(chunk: Buffer): void {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, n - i);
        if (this.gather) chunk.copy(this.gather, this.gathered, i, i + take);
        this.gathered += take;
        this.remaining -= take;
        i += take;
        if (this.remaining === 0) this.frameDone();
        continue;
      }
      // header: fast path when it lies whole in this chunk
      let h: Buffer;
      let at: number;
      if (this.headerLength === 0 && n - i >= 2 && n - i >= headerSize(chunk[i + 1]!)) {
        h = chunk;
        at = i;
        i += headerSize(chunk[i + 1]!);
      } else {
        const need = this.headerLength < 2 ? 2 : headerSize(this.header[1]!);
        const take = Math.min(need - this.headerLength, n - i);
        chunk.copy(this.header, this.headerLength, i, i + take);
        this.headerLength += take;
        i += take;
        if (this.headerLength < 2 || this.headerLength < headerSize(this.header[1]!)) continue;
        h = this.header;
        at = 0;
        this.headerLength = 0;
      }
      this.readHeader(h, at);
      if (this.remaining === 0) this.frameDone();
    }
  }

  private readHeader(h: Buffer, at: number): void {
    const b0 = h[at]!;
    const b1 = h[at + 1]!;
    this.fin = (b0 & 0x80) !== 0;
    this.rsv1 = (b0 & 0x40) !== 0;
    this.opcode = b0 & 0x0f;
    let len = b1 & 0x7f;
    let p = at + 2;
    if (len === 126) {
      len = h.readUInt16BE(p);
      p += 2;
    } else if (len === 127) {
      len = h.readUInt32BE(p) * 0x100000000 + h.readUInt32BE(p + 4);
      p += 8;
    }
    // a raw TCP echo sends our masked frames back unchanged: skip (and, when capturing, undo) the mask
    this.mask = b1 & 0x80 ? Buffer.from(h.subarray(p, p + 4)) : null;
    this.remaining = len;
    this.gathered = 0;
    const control = (this.opcode & 0x8) !== 0;
    this.gather = control || this.capture > 0 ? Buffer.allocUnsafe(len) : null;
  }

  private frameDone(): void {
    const opcode = this.opcode;
    let payload = this.gather;
    this.gather = null;
    if (payload && this.mask) unmask(payload, this.mask);
    if (opcode === OP_PING) {
      this.socket?.write(encodeClientFrame(OP_PONG, payload ?? Buffer.alloc(0)));
      return;
    }
    if (opcode === OP_PONG) return;
    if (opcode === OP_CLOSE) {
      this.closed = true;
      return;
    }
    if (payload && this.capture > 0) {
      this.capture--;
      this.onCapture?.(opcode, this.rsv1, payload);
      payload = null;
    }
    if (this.fin) this.messages++;
  }
}

/** Undoes a mask in place, a 32-bit word at a time where the buffer is aligned (a raw echo's 1 MiB frames). */
function unmask(data: Buffer, mask: Buffer): void {
  let i = 0;
  if (data.length >= 64 && (data.byteOffset & 3) === 0) {
    const words = new Uint32Array(data.buffer, data.byteOffset, data.length >>> 2);
    const key = new Uint32Array(Uint8Array.from(mask).buffer)[0]!; // native byte order, like the view
    for (let w = 0; w < words.length; w++) words[w]! ^= key;
    i = words.length << 2;
  }
  for (; i < data.length; i++) data[i]! ^= mask[i & 3]!;
}

/** Size of a frame header whose second byte is `b1`. */
export function headerSize(b1: number): number {
  const len = b1 & 0x7f;
  return 2 + (len === 126 ? 2 : len === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
}

export const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
