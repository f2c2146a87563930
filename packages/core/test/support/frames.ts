/**
 * Test helpers written independently of the code under test: a naive frame builder and decoder (byte loops
 * straight from RFC 6455 §5.2), feeding helpers, and a recording ProtocolHandler.
 */
import { ProtocolState, type ProtocolHandler, type ProtocolOptions } from "../../src/protocol.ts";
import { concatBytes } from "./memory-stream.ts";

export const te = new TextEncoder();
export const td = new TextDecoder();

export function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

export function utf8(text: string): Uint8Array {
  return te.encode(text);
}

export function hex(data: Uint8Array): string {
  return Array.from(data, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

export interface RawFrame {
  fin?: boolean;
  rsv?: number; // 3 bits: rsv1 = 4, rsv2 = 2, rsv3 = 1
  opcode: number;
  payload?: Uint8Array | string;
  /** a mask key, or none */
  mask?: Uint8Array | readonly number[] | null;
  /** force the 7-bit length field (for malformed frames) */
  len7?: number;
  /** force the extended length bytes */
  extended?: number[];
}

export const RFC_MASK = bytes(0x37, 0xfa, 0x21, 0x3d);

/** Builds one frame byte by byte (minimal length encoding unless forced). */
export function frame(f: RawFrame): Uint8Array {
  const payload = typeof f.payload === "string" ? utf8(f.payload) : (f.payload ?? new Uint8Array(0));
  const out: number[] = [];
  out.push(((f.fin ?? true) ? 0x80 : 0) | ((f.rsv ?? 0) << 4) | (f.opcode & 0x0f));
  const maskBit = f.mask ? 0x80 : 0;
  const n = payload.length;
  if (f.len7 !== undefined) {
    out.push(maskBit | f.len7);
    out.push(...(f.extended ?? []));
  } else if (n < 126) {
    out.push(maskBit | n);
  } else if (n < 65536) {
    out.push(maskBit | 126, n >> 8, n & 0xff);
  } else {
    out.push(maskBit | 127, 0, 0, 0, 0, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  }
  const head = Uint8Array.from(out);
  const result = new Uint8Array(head.length + (f.mask ? 4 : 0) + n);
  result.set(head, 0);
  let p = head.length;
  if (f.mask) {
    const m = Uint8Array.from(f.mask);
    result.set(m, p);
    p += 4;
    for (let i = 0; i < n; i++) result[p + i] = payload[i]! ^ m[i % 4]!;
  } else {
    result.set(payload, p);
  }
  return result;
}

/** A masked frame with a fixed mask (what a client sends). */
export function cframe(f: Omit<RawFrame, "mask">, mask: Uint8Array = RFC_MASK): Uint8Array {
  return frame({ ...f, mask });
}

export function closePayload(code: number, reason = ""): Uint8Array {
  const r = utf8(reason);
  const out = new Uint8Array(2 + r.length);
  out[0] = code >> 8;
  out[1] = code & 0xff;
  out.set(r, 2);
  return out;
}

export interface DecodedFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  mask: Uint8Array | null;
  payload: Uint8Array;
}

/** Decodes whole frames from a buffer (throws on a truncated one). */
export function decodeFrames(data: Uint8Array): DecodedFrame[] {
  const frames: DecodedFrame[] = [];
  let p = 0;
  while (p < data.length) {
    if (p + 2 > data.length) throw new Error(`truncated frame header at ${p}`);
    const b0 = data[p]!;
    const b1 = data[p + 1]!;
    p += 2;
    let len = b1 & 0x7f;
    if (len === 126) {
      len = (data[p]! << 8) | data[p + 1]!;
      p += 2;
    } else if (len === 127) {
      len = 0;
      for (let i = 0; i < 8; i++) len = len * 256 + data[p + i]!;
      p += 8;
    }
    let mask: Uint8Array | null = null;
    if (b1 & 0x80) {
      mask = data.slice(p, p + 4);
      p += 4;
    }
    if (p + len > data.length) throw new Error(`truncated frame payload at ${p}`);
    const payload = data.slice(p, p + len);
    if (mask) for (let i = 0; i < len; i++) payload[i] = payload[i]! ^ mask[i % 4]!;
    p += len;
    frames.push({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, masked: mask !== null, mask, payload });
  }
  return frames;
}

/** The two feedings every fixture goes through: the whole input in one chunk, and one byte at a time. */
export function feedings(input: Uint8Array): Array<{ name: string; chunks: Uint8Array[] }> {
  const byByte: Uint8Array[] = [];
  for (let i = 0; i < input.length; i++) byByte.push(input.slice(i, i + 1));
  // fresh copies: the parser unmasks in place
  return [
    { name: "whole", chunks: [input.slice()] },
    { name: "byte-by-byte", chunks: byByte },
  ];
}

/** Splits `input` at the given cut points (fresh copies). */
export function chunkAt(input: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.filter((c) => c > 0 && c < input.length))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let last = 0;
  for (const c of points) {
    out.push(input.slice(last, c));
    last = c;
  }
  out.push(input.slice(last));
  return out;
}

export type Event =
  | ["text", string]
  | ["binary", number[]]
  | ["fragment", number[], boolean, boolean]
  | ["ping", number[]]
  | ["pong", number[]]
  | ["closeReceived", number, string]
  | ["closeSent", number, string]
  | ["end"]
  | ["violation", number, string]
  | ["write", number[]];

/** A ProtocolState with a handler that records every call. */
export class Recorder {
  readonly events: Event[] = [];
  readonly writes: Uint8Array[] = [];
  readonly state: ProtocolState;
  violations: Array<[number, string]> = [];

  constructor(options: ProtocolOptions) {
    const handler: ProtocolHandler = {
      write: (chunks) => {
        const all = concatBytes(chunks);
        this.writes.push(all);
        this.events.push(["write", Array.from(all)]);
      },
      text: (t) => this.events.push(["text", t]),
      binary: (b) => this.events.push(["binary", Array.from(b)]),
      fragment: (d, isText, fin) => this.events.push(["fragment", Array.from(d), isText, fin]),
      ping: (p) => this.events.push(["ping", Array.from(p)]),
      pong: (p) => this.events.push(["pong", Array.from(p)]),
      closeReceived: (c, r) => this.events.push(["closeReceived", c, r]),
      closeSent: (c, r) => this.events.push(["closeSent", c, r]),
      end: () => this.events.push(["end"]),
      violation: (c, m) => {
        this.violations.push([c, m]);
        this.events.push(["violation", c, m]);
      },
    };
    this.state = new ProtocolState(options, handler);
  }

  feed(chunks: Uint8Array[]): this {
    for (const c of chunks) this.state.receive(c);
    return this;
  }

  /** All bytes written, as one buffer. */
  get written(): Uint8Array {
    return concatBytes(this.writes);
  }

  /** Events other than writes. */
  get delivered(): Event[] {
    return this.events.filter((e) => e[0] !== "write");
  }

  count(kind: Event[0]): number {
    return this.events.filter((e) => e[0] === kind).length;
  }
}

/** The exact close frame a server writes when it fails the connection: code plus the logged reason. */
export function expectedServerClose(code: number, reason: string): number[] {
  return Array.from(frame({ opcode: 0x8, payload: closePayload(code, reason) }));
}
