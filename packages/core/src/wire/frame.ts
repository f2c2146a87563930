/**
 * RFC 6455 §5.2 base framing: an incremental parser that accepts any chunking of its input (down to one byte
 * at a time) and a serializer. Payload bytes are delivered as they arrive, already unmasked, so a frame of
 * any size never has to sit whole in memory; a frame that lies whole inside one input chunk is delivered as a
 * view of that chunk, without a copy. A sink that copies the payload anyway (into a message being assembled)
 * may take it still masked and unmask it while copying (`FrameSink.maskedPayload`, `copyMasked`).
 */

import { applyMaskSimd, copyMaskedSimd, simdUnmaskAvailable } from "./mask-simd.ts";

export const Opcode = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

/**
 * Whether `opcode` is a control frame's (Close, Ping, Pong: the opcode's high bit is set, RFC 6455 §5.2).
 *
 * @example
 * ```ts
 * import { Opcode, isControlOpcode } from "@ws/core/protocol";
 *
 * console.log(isControlOpcode(Opcode.Ping)); // true: at most 125 bytes, never fragmented
 * console.log(isControlOpcode(Opcode.Text)); // false
 * ```
 */
export function isControlOpcode(opcode: number): boolean {
  return (opcode & 0x8) !== 0;
}

export function isKnownOpcode(opcode: number): opcode is Opcode {
  return opcode <= 0x2 || (opcode >= 0x8 && opcode <= 0xa);
}

export interface FrameHeader {
  fin: boolean;
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  /** 4-bit opcode as received; may be a reserved value, which the protocol layer rejects */
  opcode: number;
  masked: boolean;
  /** the masking key, when masked */
  mask: Uint8Array | null;
  payloadLength: number;
}

/** What the parser reports; returning a string from `header` rejects the frame (the parser stops). */
export interface FrameSink {
  /** A frame header is complete. Return an error message to stop parsing. */
  header(header: FrameHeader): string | void;
  /** Unmasked payload bytes of the current frame, in order; `final` is true on the frame's last bytes. */
  payload(bytes: Uint8Array, final: boolean): void;
  /**
   * Optional; when present it is called instead of `payload`, with the payload bytes still masked, the frame's
   * masking key (null for an unmasked frame) and the position in the masking sequence of the first byte
   * (`maskPhase`, 0–3). The sink unmasks them where they go: in place (`applyMask`) or while copying them into
   * a buffer of its own (`copyMasked`), one pass over the bytes instead of two.
   */
  maskedPayload?(bytes: Uint8Array, mask: Uint8Array | null, maskPhase: number, final: boolean): void;
  /**
   * Optional; offered, right after `header` accepted it, a frame whose whole payload is in the chunk being
   * parsed: the payload is `chunk[start, end)`, still masked, its masking key the four bytes at `chunk[maskAt]`
   * (-1: unmasked). The header of such a frame comes with `mask` null (`masked` says whether it is masked): the
   * key is copied only when the sink declines the frame. Returning true takes the frame whole (the sink unmasks what it reads, in place, and keeps no
   * view of the chunk beyond what it hands on): `payload` / `maskedPayload` are then not called for it. Returning
   * false declines: the payload comes through them as usual. A sink takes the common small message this way
   * without a view of the chunk per frame (on JavaScriptCore a `subarray` costs about as much as the rest of the
   * frame's parsing).
   */
  wholeFrame?(chunk: Uint8Array, start: number, end: number, maskAt: number): boolean;
  /** The parser stopped on malformed framing (e.g. a 64-bit length with the top bit set). */
  error(message: string): void;
}

/**
 * Where an encoder allocates the bytes it returns. A runtime whose sockets prefer their own buffer type passes
 * its allocator (Node: `Buffer.allocUnsafe`, which its socket writes take as is); the default is a plain
 * Uint8Array. Nothing relies on more than Uint8Array behaviour from what it returns.
 */
export type Allocate = (size: number) => Uint8Array;
export const allocateUint8Array: Allocate = (size) => new Uint8Array(size);

/**
 * The chunks as one buffer.
 *
 * @example
 * ```ts
 * import { concatChunks } from "@ws/core/protocol";
 *
 * const parts = [new Uint8Array([1, 2]), new Uint8Array([3])];
 * console.log(concatChunks(parts)); // Uint8Array(3) [ 1, 2, 3 ]
 * ```
 */
export function concatChunks(chunks: readonly Uint8Array[], total = -1, allocate: Allocate = allocateUint8Array): Uint8Array {
  if (total < 0) {
    total = 0;
    for (const c of chunks) total += c.byteLength;
  }
  const out = allocate(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Payloads at least this large may go through the WebAssembly SIMD kernel (wire/mask-simd.ts). */
export const SIMD_UNMASK_THRESHOLD = 4096;

/**
 * Which kernel unmasks large payloads. "simd" (the default) uses the WebAssembly kernel wherever it can be
 * instantiated and the word loop elsewhere; "js" always the word loop. V8 (Node, Deno) runs the SIMD kernel
 * 2–5× faster from 4 KiB up; on JavaScriptCore the word loop is the faster one, so the Bun adapter picks "js".
 */
export type UnmaskKernel = "simd" | "js";
let useSimd: boolean | undefined;

/**
 * Chooses the unmasking kernel for this process (see UnmaskKernel).
 *
 * @example
 * ```ts
 * import { setUnmaskKernel, simdUnmaskInUse } from "@ws/core/protocol";
 *
 * setUnmaskKernel("js"); // the word loop for every size (what @ws/bun picks on JavaScriptCore)
 * console.log(simdUnmaskInUse()); // false
 * ```
 */
export function setUnmaskKernel(kind: UnmaskKernel): void {
  useSimd = kind === "simd" ? undefined : false;
}

/**
 * Whether large payloads go through the SIMD kernel.
 *
 * @example
 * ```ts
 * import { simdUnmaskInUse } from "@ws/core/protocol";
 *
 * console.log(`payloads of 4 KiB and more are unmasked by ${simdUnmaskInUse() ? "the WebAssembly SIMD kernel" : "the word loop"}`);
 * ```
 */
export function simdUnmaskInUse(): boolean {
  return (useSimd ??= simdUnmaskAvailable());
}

/**
 * XORs `data` in place with the 4-byte `mask`, `maskOffset` bytes into the masking sequence
 * (RFC 6455 §5.3: octet i of the payload is XORed with octet i mod 4 of the key). From SIMD_UNMASK_THRESHOLD
 * bytes on, through the WebAssembly SIMD kernel (unless `setUnmaskKernel("js")`) where it can be instantiated;
 * else a word at a time.
 *
 * @example
 * ```ts
 * import { applyMask, encodeUtf8 } from "@ws/core/protocol";
 *
 * const mask = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]); // a client picks a fresh random key per frame
 * const data = encodeUtf8("Hello");
 * applyMask(data, mask); // masked in place: 7f 9f 4d 51 58 (RFC 6455 §5.7)
 * applyMask(data, mask); // the same XOR unmasks
 * console.log(new TextDecoder().decode(data)); // "Hello"
 * ```
 */
export function applyMask(data: Uint8Array, mask: Uint8Array, maskOffset = 0): void {
  if (data.length >= SIMD_UNMASK_THRESHOLD && (useSimd ??= simdUnmaskAvailable()) && applyMaskSimd(data, mask, maskOffset)) return;
  applyMaskWords(data, mask, maskOffset);
}

/**
 * applyMask's JavaScript kernel: 32-bit words, unrolled by four.
 *
 * @internal
 */
export function applyMaskWords(data: Uint8Array, mask: Uint8Array, maskOffset = 0): void {
  const n = data.length;
  let i = 0;
  if (n >= 64) { // below this, creating the word view costs more than it saves
    const misalign = data.byteOffset & 3;
    const head = misalign === 0 ? 0 : 4 - misalign;
    for (; i < head; i++) data[i]! ^= mask[(maskOffset + i) & 3]!;
    const words = (n - i) >>> 2;
    const m0 = mask[(maskOffset + i) & 3]!;
    const m1 = mask[(maskOffset + i + 1) & 3]!;
    const m2 = mask[(maskOffset + i + 2) & 3]!;
    const m3 = mask[(maskOffset + i + 3) & 3]!;
    // Int32 (not Uint32) keeps every value a small integer for the JIT, and unrolling by four lets it
    // pipeline the loads: together about twice the speed of the plain Uint32Array loop (measured on Node 20)
    const word = LITTLE_ENDIAN ? m0 | (m1 << 8) | (m2 << 16) | (m3 << 24) : (m0 << 24) | (m1 << 16) | (m2 << 8) | m3;
    const i32 = new Int32Array(data.buffer, data.byteOffset + i, words);
    let w = 0;
    for (const end4 = words - 3; w < end4; w += 4) {
      i32[w]! ^= word;
      i32[w + 1]! ^= word;
      i32[w + 2]! ^= word;
      i32[w + 3]! ^= word;
    }
    for (; w < words; w++) i32[w]! ^= word;
    i += words << 2;
  }
  for (; i < n; i++) data[i]! ^= mask[(maskOffset + i) & 3]!;
}

/**
 * Copies `data` into `target` at `offset`, XORed with `mask` from `maskOffset` bytes into the masking sequence
 * (masking and unmasking are the same operation); the source stays untouched. From SIMD_UNMASK_THRESHOLD bytes
 * on, where the SIMD kernel is in use, in one pass through it; else copied, then XORed in the target.
 *
 * @example
 * ```ts
 * import { copyMasked } from "@ws/core/protocol";
 *
 * const mask = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
 * const masked = new Uint8Array([0x7f, 0x9f, 0x4d, 0x51, 0x58]); // "Hello" as a client sends it (RFC 6455 §5.7)
 * const message = new Uint8Array(5);
 * copyMasked(masked, mask, message, 0); // unmasked while copied; `masked` is left as it was
 * console.log(new TextDecoder().decode(message)); // "Hello"
 * ```
 */
export function copyMasked(data: Uint8Array, mask: Uint8Array, target: Uint8Array, offset: number, maskOffset = 0): void {
  if (data.length >= SIMD_UNMASK_THRESHOLD && (useSimd ??= simdUnmaskAvailable()) && copyMaskedSimd(data, mask, maskOffset, target, offset)) return;
  target.set(data, offset);
  applyMaskWords(target.subarray(offset, offset + data.length), mask, maskOffset);
}

const enum_ = {
  /** gathering a frame header (possibly across chunks) */
  Header: 0,
  /** delivering payload bytes */
  Payload: 1,
  /** a malformed or rejected frame ended parsing for good */
  Stopped: 2,
} as const;
type ParserState = (typeof enum_)[keyof typeof enum_];

/**
 * Incremental frame parser. Feed it with `push()`; it reports to its sink.
 *
 * @example
 * ```ts
 * import { FrameParser, Opcode, concatChunks, encodeFrame, encodeUtf8 } from "@ws/core/protocol";
 *
 * const parts: Uint8Array[] = [];
 * const parser = new FrameParser({
 *   header(h) {
 *     if (h.payloadLength > 64 * 1024) return "frame too big"; // a string rejects the frame: error() gets it, parsing stops
 *     console.log("opcode", h.opcode, "fin", h.fin, "masked", h.masked); // opcode 1 fin true masked true
 *   },
 *   payload(bytes, final) {
 *     parts.push(bytes.slice()); // unmasked already; a view of the input chunk, so copy what you keep
 *     if (final) console.log(new TextDecoder().decode(concatChunks(parts))); // "hello"
 *   },
 *   error(message) {
 *     console.error("bad framing:", message); // close the connection with 1002
 *   },
 * });
 * const frame = encodeFrame(Opcode.Text, encodeUtf8("hello"), { mask: true }); // as a client sends it
 * parser.push(frame.subarray(0, 3)); // any chunking works: here the header arrives in two pieces
 * parser.push(frame.subarray(3));
 * ```
 */
export class FrameParser {
  private state: ParserState = enum_.Header;
  /** bytes of a header field that straddles input chunks */
  /** created the first time a header straddles two chunks */
  private scratch: Uint8Array | null = null;
  private scratchLength = 0;
  private scratchNeeded = 2;
  private header: FrameHeader | null = null;
  private remaining = 0;
  private maskOffset = 0;

  private readonly sink: FrameSink;

  constructor(sink: FrameSink) {
    this.sink = sink;
  }

  /** Stops parsing for good: later input is ignored. */
  stop(): void {
    this.state = enum_.Stopped;
  }

  get stopped(): boolean {
    return this.state === enum_.Stopped;
  }

  /** True between frames (no partial header or payload pending). */
  get idle(): boolean {
    return this.state === enum_.Header && this.scratchLength === 0;
  }

  push(chunk: Uint8Array): void {
    let offset = 0;
    const length = chunk.length;
    while (offset < length && this.state !== enum_.Stopped) {
      if (this.state === enum_.Payload) {
        const take = Math.min(this.remaining, length - offset);
        const bytes = chunk.subarray(offset, offset + take);
        const mask = this.header!.mask;
        const phase = this.maskOffset;
        this.maskOffset = (phase + take) & 3;
        this.remaining -= take;
        offset += take;
        const final = this.remaining === 0;
        if (final) {
          this.state = enum_.Header;
          this.header = null; // nothing of a finished frame is kept (its mask views the input)
        }
        const sink = this.sink;
        if (sink.maskedPayload !== undefined) {
          sink.maskedPayload(bytes, mask, phase, final);
        } else {
          if (mask) applyMask(bytes, mask, phase);
          sink.payload(bytes, final);
        }
        continue;
      }
      // Header fields. Fast path: the whole header is in this chunk.
      if (this.scratchLength === 0 && this.state === enum_.Header && length - offset >= 2) {
        const b1 = chunk[offset + 1]!;
        const len7 = b1 & 0x7f;
        const headerSize = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
        if (length - offset >= headerSize) {
          offset = this.readHeader(chunk, offset, headerSize);
          continue;
        }
      }
      // Slow path: gather header bytes across chunks into scratch.
      const need = this.scratchNeeded - this.scratchLength;
      const take = Math.min(need, length - offset);
      (this.scratch ??= new Uint8Array(14)).set(chunk.subarray(offset, offset + take), this.scratchLength);
      this.scratchLength += take;
      offset += take;
      if (this.scratchLength < this.scratchNeeded) break;
      const b1 = this.scratch![1]!;
      const len7 = b1 & 0x7f;
      const headerSize = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
      if (this.scratchLength < headerSize) {
        this.scratchNeeded = headerSize;
        continue;
      }
      const scratch = this.scratch!.slice(0, headerSize); // the mask must outlive the scratch buffer
      this.scratchLength = 0;
      this.scratchNeeded = 2;
      this.readHeader(scratch, 0, headerSize);
    }
  }

  /** Decodes a complete header at `at`; returns the offset after it. */
  private readHeader(bytes: Uint8Array, at: number, headerSize: number): number {
    const b0 = bytes[at]!;
    const b1 = bytes[at + 1]!;
    const len7 = b1 & 0x7f;
    let payloadLength = len7;
    let p = at + 2;
    if (len7 === 126) {
      payloadLength = (bytes[p]! << 8) | bytes[p + 1]!;
      p += 2;
    } else if (len7 === 127) {
      const high = ((bytes[p]! << 24) | (bytes[p + 1]! << 16) | (bytes[p + 2]! << 8) | bytes[p + 3]!) >>> 0;
      const low = ((bytes[p + 4]! << 24) | (bytes[p + 5]! << 16) | (bytes[p + 6]! << 8) | bytes[p + 7]!) >>> 0;
      if (high & 0x80000000) {
        this.state = enum_.Stopped;
        this.sink.error("64-bit payload length with the most significant bit set");
        return at + headerSize;
      }
      // lengths above 2^53 cannot be represented exactly; nothing that large can be accepted anyway
      payloadLength = high >= 0x200000 ? Number.MAX_SAFE_INTEGER : high * 0x100000000 + low;
      p += 8;
    }
    let maskAt = -1;
    if (b1 & 0x80) {
      maskAt = p;
      p += 4;
    }
    // a frame whole in this chunk is offered to a sink that takes such frames (wholeFrame) with its key's offset:
    // its header's `mask` stays null unless the sink declines it (never for a header gathered in scratch: the
    // payload's bytes are not in `bytes`)
    const offered = payloadLength > 0 && bytes.length - p >= payloadLength && this.sink.wholeFrame !== undefined;
    const mask = maskAt >= 0 && !offered ? copyKey(bytes, maskAt) : null;
    const header: FrameHeader = {
      fin: (b0 & 0x80) !== 0,
      rsv1: (b0 & 0x40) !== 0,
      rsv2: (b0 & 0x20) !== 0,
      rsv3: (b0 & 0x10) !== 0,
      opcode: b0 & 0x0f,
      masked: maskAt >= 0,
      mask,
      payloadLength,
    };
    this.header = header;
    this.remaining = payloadLength;
    this.maskOffset = 0;
    const rejection = this.sink.header(header);
    if (typeof rejection === "string") {
      this.state = enum_.Stopped;
      this.sink.error(rejection);
      return p;
    }
    if (this.state === enum_.Stopped) return p;
    if (offered) {
      if (this.sink.wholeFrame!(bytes, p, p + payloadLength, maskAt)) {
        this.header = null;
        return p + payloadLength;
      }
      if (maskAt >= 0) header.mask = copyKey(bytes, maskAt);
    }
    if (payloadLength === 0) {
      this.header = null;
      if (this.sink.maskedPayload !== undefined) this.sink.maskedPayload(EMPTY, mask, 0, true);
      else this.sink.payload(EMPTY, true);
    } else {
      this.state = enum_.Payload;
    }
    return p;
  }
}

const EMPTY = new Uint8Array(0);

/**
 * The masking key at `bytes[at]`, copied: four stores cost less than a `subarray` (JavaScriptCore), and a header
 * the sink keeps does not hold the input chunk.
 */
function copyKey(bytes: Uint8Array, at: number): Uint8Array {
  const key = new Uint8Array(4);
  key[0] = bytes[at]!;
  key[1] = bytes[at + 1]!;
  key[2] = bytes[at + 2]!;
  key[3] = bytes[at + 3]!;
  return key;
}

export interface EncodeOptions {
  fin?: boolean;
  rsv1?: boolean;
  rsv2?: boolean;
  rsv3?: boolean;
  /** client role: mask with this key, or `true` for a fresh random key */
  mask?: Uint8Array | boolean;
  /** where the frame's bytes are allocated (default: a plain Uint8Array) */
  allocate?: Allocate;
}

/**
 * Size of the header for a payload of `length` bytes.
 *
 * @example
 * ```ts
 * import { headerSize } from "@ws/core/protocol";
 *
 * console.log(headerSize(125, false)); // 2
 * console.log(headerSize(126, false)); // 4: a 16-bit extended length
 * console.log(headerSize(70_000, true)); // 14: a 64-bit length and the masking key
 * ```
 */
export function headerSize(length: number, masked: boolean): number {
  return (length < 126 ? 2 : length < 0x10000 ? 4 : 10) + (masked ? 4 : 0);
}

/** Writes a frame header into `target` at `offset`; returns the offset after it. */
export function writeHeader(
  target: Uint8Array,
  offset: number,
  opcode: number,
  length: number,
  fin: boolean,
  rsv: number,
  mask: Uint8Array | null,
): number {
  target[offset++] = (fin ? 0x80 : 0) | (rsv << 4) | (opcode & 0x0f);
  const maskBit = mask ? 0x80 : 0;
  if (length < 126) {
    target[offset++] = maskBit | length;
  } else if (length < 0x10000) {
    target[offset++] = maskBit | 126;
    target[offset++] = length >>> 8;
    target[offset++] = length & 0xff;
  } else {
    target[offset++] = maskBit | 127;
    const high = Math.floor(length / 0x100000000);
    const low = length >>> 0;
    target[offset++] = high >>> 24;
    target[offset++] = (high >>> 16) & 0xff;
    target[offset++] = (high >>> 8) & 0xff;
    target[offset++] = high & 0xff;
    target[offset++] = low >>> 24;
    target[offset++] = (low >>> 16) & 0xff;
    target[offset++] = (low >>> 8) & 0xff;
    target[offset++] = low & 0xff;
  }
  if (mask) {
    target.set(mask, offset);
    offset += 4;
  }
  return offset;
}

export function randomMask(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(4));
}

function rsvBits(o: EncodeOptions): number {
  return (o.rsv1 ? 4 : 0) | (o.rsv2 ? 2 : 0) | (o.rsv3 ? 1 : 0);
}

/**
 * Encodes one frame into a single new buffer (the payload is copied; masked when a mask is asked for).
 *
 * @example
 * ```ts
 * import { Opcode, applyMask, encodeFrame, encodeUtf8, headerSize } from "@ws/core/protocol";
 *
 * const payload = encodeUtf8("Hello");
 * const fromServer = encodeFrame(Opcode.Text, payload); // unmasked: 81 05 48 65 6c 6c 6f
 * const mask = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
 * const fromClient = encodeFrame(Opcode.Text, payload, { mask }); // or `mask: true` for a random key
 * const body = fromClient.subarray(headerSize(payload.length, true));
 * applyMask(body, mask); // unmasking is the same XOR
 * console.log(fromServer.length, new TextDecoder().decode(body)); // 7 "Hello"
 * ```
 */
export function encodeFrame(opcode: number, payload: Uint8Array, options: EncodeOptions = {}): Uint8Array {
  const mask = options.mask === true ? randomMask() : options.mask || null;
  const size = headerSize(payload.length, mask !== null);
  const out = (options.allocate ?? allocateUint8Array)(size + payload.length);
  writeHeader(out, 0, opcode, payload.length, options.fin ?? true, rsvBits(options), mask);
  if (mask) copyMasked(payload, mask, out, size);
  else out.set(payload, size);
  return out;
}

/** Payloads at least this large are written after a separate header instead of being copied behind it. */
export const COPY_THRESHOLD = 16 * 1024;

/**
 * Encodes one frame as one or two buffers: small frames (and every masked frame) in one buffer; large
 * unmasked frames as header + the caller's payload (no copy: the caller must not modify it afterwards).
 *
 * @example
 * ```ts
 * import { Opcode, encodeFrameParts } from "@ws/core/protocol";
 *
 * const big = new Uint8Array(64 * 1024);
 * const [header, payload] = encodeFrameParts(Opcode.Binary, big); // write both; do not change `big` afterwards
 * console.log(header.length, payload === big); // 10 true: the payload is not copied
 * ```
 */
export function encodeFrameParts(opcode: number, payload: Uint8Array, options: EncodeOptions = {}): Uint8Array[] {
  if (options.mask || payload.length < COPY_THRESHOLD) return [encodeFrame(opcode, payload, options)];
  const header = (options.allocate ?? allocateUint8Array)(headerSize(payload.length, false));
  writeHeader(header, 0, opcode, payload.length, options.fin ?? true, rsvBits(options), null);
  return [header, payload];
}

/** Bytes of `text` in UTF-8 (lone surrogates count 3: they are encoded as U+FFFD). */
export function utf8Length(text: string): number {
  const n = text.length;
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2; // 4 bytes for the pair's 2 code units
      i++;
    } else bytes += 2;
  }
  return bytes;
}

const textEncoder = new TextEncoder();

/**
 * An unmasked (server-role) text frame for `text` if it is ASCII, else null: the UTF-8 length need not be counted
 * first (one pass over the string instead of two for the common case); the caller encodes a non-ASCII text with
 * `encodeTextFrame` and its counted length.
 *
 * @example
 * ```ts
 * import { encodeAsciiTextFrame, encodeTextFrame } from "@ws/core/protocol";
 *
 * const text = "héllo";
 * const frame = encodeAsciiTextFrame(text) ?? encodeTextFrame(text, new TextEncoder().encode(text).length);
 * console.log(frame.length, encodeAsciiTextFrame("hello")?.length); // 8 7
 * ```
 */
export function encodeAsciiTextFrame(text: string, allocate: Allocate = allocateUint8Array): Uint8Array | null {
  const n = text.length;
  const size = headerSize(n, false);
  const out = allocate(size + n);
  writeHeader(out, 0, 0x1, n, true, 0, null);
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return null;
    out[size + i] = c;
  }
  return out;
}

/**
 * An unmasked (server-role) frame for a text message, encoded straight into the frame buffer: one allocation,
 * no intermediate byte array.
 *
 * @example
 * ```ts
 * import { encodeTextFrame, encodeUtf8 } from "@ws/core/protocol";
 *
 * const text = "héllo";
 * const byteLength = encodeUtf8(text).length; // 6: known already where a size limit was checked
 * const frame = encodeTextFrame(text, byteLength);
 * console.log(frame.length); // 8: a 2-byte header and the UTF-8 bytes
 * ```
 */
export function encodeTextFrame(text: string, byteLength: number, fin = true, allocate: Allocate = allocateUint8Array): Uint8Array {
  const size = headerSize(byteLength, false);
  const out = allocate(size + byteLength);
  writeHeader(out, 0, 0x1, byteLength, fin, 0, null);
  if (byteLength === text.length) {
    for (let i = 0; i < byteLength; i++) out[size + i] = text.charCodeAt(i); // ASCII
  } else {
    textEncoder.encodeInto(text, out.subarray(size));
  }
  return out;
}
