// The oracle's own raw frame writer and reader. Deliberately independent of @ws/core: it must be able to produce
// any bit pattern (bad opcodes, RSV bits, lying lengths, unmasked client frames, oversized control frames) and must
// not share the implementation's bugs when it reads the peer's frames.
import { randomBytes } from "node:crypto";

export const OPCODE = {
  continuation: 0,
  text: 1,
  binary: 2,
  close: 8,
  ping: 9,
  pong: 10,
} as const;

export interface FrameSpec {
  opcode: number;
  payload?: Uint8Array;
  fin?: boolean;
  /** 3-bit RSV field (RSV1 = 4, RSV2 = 2, RSV3 = 1). */
  rsv?: number;
  /** 4-byte masking key; `true` = random key; `false`/undefined = unmasked. */
  mask?: Uint8Array | boolean;
  /** Repeat `payload` cyclically until the frame payload has this many bytes. */
  payloadLen?: number;
}

/** Repeat `pattern` cyclically to `length` bytes. */
export function repeatTo(pattern: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  if (pattern.length === 0 || length === 0) return out;
  let filled = Math.min(pattern.length, length);
  out.set(pattern.subarray(0, filled), 0);
  while (filled < length) {
    const n = Math.min(filled, length - filled);
    out.copyWithin(filled, 0, n);
    filled += n;
  }
  return out;
}

export function encodeHeader(opts: { fin: boolean; rsv: number; opcode: number; length: number; maskKey?: Uint8Array }): Uint8Array {
  const { fin, rsv, opcode, length, maskKey } = opts;
  const extra = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const head = new Uint8Array(2 + extra + (maskKey ? 4 : 0));
  head[0] = (fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f);
  const maskBit = maskKey ? 0x80 : 0;
  if (extra === 0) head[1] = maskBit | length;
  else if (extra === 2) {
    head[1] = maskBit | 126;
    head[2] = length >>> 8;
    head[3] = length & 0xff;
  } else {
    head[1] = maskBit | 127;
    const hi = Math.floor(length / 2 ** 32);
    const lo = length >>> 0;
    new DataView(head.buffer).setUint32(2, hi);
    new DataView(head.buffer).setUint32(6, lo);
  }
  if (maskKey) head.set(maskKey, 2 + extra);
  return head;
}

/** XOR `data` in place with the 4-byte key, starting at key offset `offset`. */
export function applyMask(data: Uint8Array, key: Uint8Array, offset = 0): void {
  for (let i = 0; i < data.length; i++) data[i] ^= key[(i + offset) & 3];
}

export function resolveMask(mask: Uint8Array | boolean | undefined): Uint8Array | undefined {
  if (mask === true) return new Uint8Array(randomBytes(4));
  if (mask instanceof Uint8Array) return mask;
  return undefined;
}

/** Serialize one frame exactly as specified. */
export function encodeFrame(spec: FrameSpec): Uint8Array {
  const base = spec.payload ?? new Uint8Array(0);
  const payload = spec.payloadLen !== undefined ? repeatTo(base, spec.payloadLen) : new Uint8Array(base);
  const maskKey = resolveMask(spec.mask);
  const head = encodeHeader({ fin: spec.fin ?? true, rsv: spec.rsv ?? 0, opcode: spec.opcode, length: payload.length, maskKey });
  if (maskKey) applyMask(payload, maskKey);
  const out = new Uint8Array(head.length + payload.length);
  out.set(head, 0);
  out.set(payload, head.length);
  return out;
}

export interface ParsedFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  maskKey?: Uint8Array;
  /** Unmasked payload. */
  payload: Uint8Array;
}

/** Incremental frame reader: feed arbitrary chunks, get whole frames. */
export class FrameReader {
  private buf: Uint8Array = new Uint8Array(0);
  /** Largest payload accepted before `push` throws (guards the oracle's memory). */
  maxPayload = 256 * 1024 * 1024;

  push(chunk: Uint8Array): ParsedFrame[] {
    if (this.buf.length === 0) this.buf = chunk;
    else {
      const merged = new Uint8Array(this.buf.length + chunk.length);
      merged.set(this.buf, 0);
      merged.set(chunk, this.buf.length);
      this.buf = merged;
    }
    const frames: ParsedFrame[] = [];
    for (;;) {
      const f = this.tryParse();
      if (!f) break;
      frames.push(f);
    }
    return frames;
  }

  /** Bytes received but not yet part of a whole frame. */
  get pending(): number {
    return this.buf.length;
  }

  private tryParse(): ParsedFrame | undefined {
    const b = this.buf;
    if (b.length < 2) return undefined;
    const fin = (b[0] & 0x80) !== 0;
    const rsv = (b[0] >> 4) & 7;
    const opcode = b[0] & 0x0f;
    const masked = (b[1] & 0x80) !== 0;
    let len = b[1] & 0x7f;
    let pos = 2;
    if (len === 126) {
      if (b.length < 4) return undefined;
      len = (b[2] << 8) | b[3];
      pos = 4;
    } else if (len === 127) {
      if (b.length < 10) return undefined;
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      len = dv.getUint32(2) * 2 ** 32 + dv.getUint32(6);
      pos = 10;
    }
    if (len > this.maxPayload) throw new Error(`frame payload of ${len} bytes exceeds the runner's limit`);
    let maskKey: Uint8Array | undefined;
    if (masked) {
      if (b.length < pos + 4) return undefined;
      maskKey = b.slice(pos, pos + 4);
      pos += 4;
    }
    if (b.length < pos + len) return undefined;
    const payload = b.slice(pos, pos + len);
    if (maskKey) applyMask(payload, maskKey);
    this.buf = b.subarray(pos + len);
    if (this.buf.length === 0) this.buf = new Uint8Array(0);
    return { fin, rsv, opcode, masked, maskKey, payload };
  }
}

export function isControl(opcode: number): boolean {
  return opcode >= 8;
}

export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

export function hex(h: string): Uint8Array {
  const clean = h.replace(/^0x/, "").replace(/\s+/g, "");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function toHex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const strictDecoder = new TextDecoder("utf-8", { fatal: true });

export function isValidUtf8(b: Uint8Array): boolean {
  try {
    strictDecoder.decode(b);
    return true;
  } catch {
    return false;
  }
}

export function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
