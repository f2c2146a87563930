/**
 * permessage-deflate's DEFLATE primitive (core's `DeflateCodec` seam) on Bun, with zlib contexts shared by every
 * connection of the process instead of a new zlib stream per message.
 *
 * Core's `zlibCodec` calls node:zlib's one-shot `deflateRawSync` / `inflateRawSync`: each call builds a zlib
 * stream object, allocates its output buffer and its zlib state (`allocUnsafe`, `init`, the stream classes: more
 * samples than the compression itself in a profile of the compressed echo on Bun 1.4.5). Here one zlib context per
 * parameter set (window bits, level, memLevel) lives for the whole process and is reset before each message:
 *  - inflate: always (the peer's window, with context takeover, goes in front of the message as one stored DEFLATE
 *    block, as in core's codec, and is cut off the output again);
 *  - deflate: a message compressed without a preset dictionary (no context takeover, or the first message of a
 *    connection). With a dictionary (our compressor's history, context takeover) a zlib context cannot be given a
 *    new dictionary once made, so that message gets a native zlib handle of its own, made, used and closed at once
 *    (no stream object, no output buffer allocation), with the smallest window that holds the dictionary and the
 *    message (at most the agreed one: a compressor may always refer back less far; nothing it could find is lost)
 *    and a hash table no larger than that window (memLevel at most window bits − 7: zlib clears the table of each
 *    handle it makes, 64 KiB at memLevel 8).
 * The contexts are node:zlib's native handles driven through their synchronous `writeSync` (what node:zlib's own
 * one-shot functions call, the same on Node and Bun), never through the stream machinery. So an idle connection
 * still holds no zlib state at all; the process holds one deflate context (~260 KiB at 15 bits, memLevel 8) and one
 * inflate context (~44 KiB) per parameter set in use (window bits × level × memLevel: a handful). If a runtime's
 * node:zlib does not have that handle (checked once, by compressing and inflating a sample), the codec is core's
 * one-shot `zlibCodec`.
 *
 * Bounds are those of the seam: inflation stops, throwing a RangeError, before its output exceeds
 * `maxOutputLength` (the output buffer never grows past it), corrupt data throws an Error.
 */
import * as zlib from "node:zlib";
import { type DeflateCodec, zlibCodec } from "@ws/core/adapter";

/** The native handle of a node:zlib stream, as node:zlib's own sync functions use it. */
interface ZlibHandle {
  init(windowBits: number, level: number, memLevel: number, strategy: number, writeState: Uint32Array, processCallback: () => void, dictionary?: Uint8Array): void;
  writeSync(flush: number, input: Uint8Array, inOffset: number, inLength: number, output: Uint8Array, outOffset: number, outLength: number): void;
  reset(): void;
  close(): void;
  onerror: (message: string, errno: number) => void;
}

const SYNC_FLUSH = zlib.constants.Z_SYNC_FLUSH;
/** output buffers start this large; a context keeps one up to KEEP_OUTPUT bytes between messages */
const FIRST_OUTPUT = 16 * 1024;
const KEEP_OUTPUT = 256 * 1024;

/** One zlib stream (deflate or inflate), driven synchronously through its native handle. */
class ZlibContext {
  private readonly handle: ZlibHandle;
  /** [avail_out, avail_in] after each writeSync */
  private readonly state: Uint32Array;
  private output = new Uint8Array(FIRST_OUTPUT);
  private error: string | null = null;

  constructor(stream: unknown) {
    const s = stream as { _handle?: ZlibHandle; _writeState?: Uint32Array };
    if (!s._handle || typeof s._handle.writeSync !== "function" || !(s._writeState instanceof Uint32Array)) {
      throw new Error("node:zlib has no synchronous native handle here");
    }
    this.handle = s._handle;
    this.state = s._writeState;
    this.handle.onerror = (message) => {
      this.error = message;
    };
  }

  /**
   * Resets the stream, feeds it `inputs` in order (sync flush) and returns a copy of the output from byte `skip`
   * on. Throws a RangeError as soon as the output would exceed `limit` bytes, an Error on corrupt data.
   */
  run(inputs: readonly Uint8Array[], skip: number, limit: number): Uint8Array {
    this.handle.reset();
    this.error = null;
    let out = this.output;
    let produced = 0;
    try {
      for (const input of inputs) {
        let offset = 0;
        let remaining = input.byteLength;
        for (;;) {
          // room for one byte past the limit, so that going over it is seen
          const room = Math.min(out.byteLength, limit + 1) - produced;
          this.handle.writeSync(SYNC_FLUSH, input, offset, remaining, out, produced, room);
          if (this.error !== null) throw new Error(`zlib: ${this.error}`);
          const availOut = this.state[0]!;
          const availIn = this.state[1]!;
          offset += remaining - availIn;
          remaining = availIn;
          produced += room - availOut;
          if (produced > limit) throw new RangeError(`output exceeds ${limit} bytes`);
          if (availOut !== 0) break; // all of this input is in (or the stream ended: what follows is ignored)
          // the output buffer is full: a larger one, never larger than the limit allows
          const bigger = new Uint8Array(Math.min(out.byteLength * 2, limit + 1));
          bigger.set(out.subarray(0, produced));
          out = bigger;
        }
      }
      return out.slice(skip, produced);
    } finally {
      this.output = out.byteLength <= KEEP_OUTPUT ? out : new Uint8Array(FIRST_OUTPUT);
    }
  }
}

/** The 5-byte header of a non-final stored DEFLATE block of `n` ≤ 65,535 bytes (RFC 1951 §3.2.4). */
function storedBlockHeader(n: number): Uint8Array {
  return Uint8Array.of(0x00, n & 0xff, n >>> 8, ~n & 0xff, (~n >>> 8) & 0xff);
}

const NO_LIMIT = 0x7fffffff;

/** The smallest window (9–`max` bits) that holds `bytes` bytes. */
function windowFor(bytes: number, max: number): number {
  let bits = 9;
  while (bits < max && 1 << bits < bytes) bits++;
  return bits;
}

/**
 * Compresses one message with a preset dictionary on a native handle made for it (`new` of the handle class of a
 * node:zlib stream, as node:zlib itself does), closed again before returning.
 */
function deflateWithDictionary(
  Handle: new (mode: number) => ZlibHandle,
  data: Uint8Array,
  dictionary: Uint8Array,
  o: { windowBits: number; level: number; memLevel: number },
): Uint8Array {
  const handle = new Handle(zlib.constants.DEFLATERAW);
  let error: string | null = null;
  handle.onerror = (message) => {
    error = message;
  };
  const state = new Uint32Array(2);
  try {
    const windowBits = windowFor(dictionary.length + data.length, o.windowBits);
    // a hash table no larger than the window (memLevel + 7 bits): zlib clears it for every handle it makes
    const memLevel = Math.max(1, Math.min(o.memLevel, windowBits - 7));
    handle.init(windowBits, o.level, memLevel, zlib.constants.Z_DEFAULT_STRATEGY, state, () => {}, dictionary);
    // deflate's output is at most the input plus 5 bytes per 16 KiB stored block and the flush marker
    let out = new Uint8Array(data.length + 5 * Math.ceil(data.length / 16384) + 64);
    let produced = 0;
    let offset = 0;
    let remaining = data.length;
    for (;;) {
      const room = out.length - produced;
      handle.writeSync(SYNC_FLUSH, data, offset, remaining, out, produced, room);
      if (error !== null) throw new Error(`zlib: ${error}`);
      offset += remaining - state[1]!;
      remaining = state[1]!;
      produced += room - state[0]!;
      if (state[0] !== 0) break;
      const bigger = new Uint8Array(out.length * 2);
      bigger.set(out);
      out = bigger;
    }
    return out.subarray(0, produced);
  } finally {
    handle.close();
  }
}

/**
 * The Bun codec: shared zlib contexts (see the module comment), or core's one-shot `zlibCodec` where node:zlib has
 * no synchronous native handle. Nothing is made (nor checked) before the first message is compressed or inflated:
 * a server that never negotiates permessage-deflate holds no zlib context.
 */
export function sharedContextCodec(z: typeof zlib = zlib): DeflateCodec {
  let chosen: DeflateCodec | null = null;
  const choose = (): DeflateCodec => {
    if (chosen) return chosen;
    const candidate = contextCodec(z);
    chosen = works(candidate) ? candidate : zlibCodec(z);
    sharing.set(codec, chosen === candidate);
    return chosen;
  };
  const codec: DeflateCodec = {
    deflate: (data, o) => (chosen ?? choose()).deflate(data, o),
    inflate: (data, o) => (chosen ?? choose()).inflate(data, o),
  };
  checks.set(codec, choose);
  return codec;
}

/** per codec of sharedContextCodec: whether it runs on shared contexts (once chosen), and how it chooses */
const sharing = new WeakMap<DeflateCodec, boolean>();
const checks = new WeakMap<DeflateCodec, () => DeflateCodec>();

/** The class of node:zlib's native handles (taken from a stream made for it, closed again). */
function handleClass(z: typeof zlib): new (mode: number) => ZlibHandle {
  const stream = z.createDeflateRaw();
  const handle = (stream as unknown as { _handle: ZlibHandle })._handle;
  const Handle = handle.constructor as new (mode: number) => ZlibHandle;
  stream.close();
  return Handle;
}

/** The codec over shared contexts, unchecked. */
function contextCodec(z: typeof zlib): DeflateCodec {
  let Handle: (new (mode: number) => ZlibHandle) | null = null;
  const deflaters = new Map<string, ZlibContext>();
  const inflaters = new Map<number, ZlibContext>();
  const codec: DeflateCodec = {
    deflate(data, o) {
      if (o.dictionary && o.dictionary.length > 0) {
        Handle ??= handleClass(z);
        return deflateWithDictionary(Handle, data, o.dictionary, o);
      }
      const key = `${o.windowBits}:${o.level}:${o.memLevel}`;
      let context = deflaters.get(key);
      if (!context) {
        context = new ZlibContext(z.createDeflateRaw({ windowBits: o.windowBits, level: o.level, memLevel: o.memLevel }));
        deflaters.set(key, context);
      }
      return context.run([data], 0, NO_LIMIT);
    },
    inflate(data, o) {
      let context = inflaters.get(o.windowBits);
      if (!context) {
        context = new ZlibContext(z.createInflateRaw({ windowBits: o.windowBits }));
        inflaters.set(o.windowBits, context);
      }
      const max = Math.max(1, o.maxOutputLength);
      const window = o.dictionary;
      if (!window || window.length === 0) return context.run([data], 0, max);
      // the previous messages' window as one stored block in front: back-references reach into it
      return context.run([storedBlockHeader(window.length), window, data], window.length, window.length + max);
    },
  };
  return codec;
}

/**
 * Whether `codec` (from sharedContextCodec) runs on shared contexts; false when it fell back to core's one-shot
 * `zlibCodec`. Makes the choice if no message has yet.
 */
export function usesSharedContexts(codec: DeflateCodec): boolean {
  checks.get(codec)?.();
  return sharing.get(codec) === true;
}

/** Whether the codec compresses and inflates a sample right (node:zlib's handle is not a public API). */
function works(codec: DeflateCodec): boolean {
  try {
    const sample = new TextEncoder().encode('{"check":"permessage-deflate","n":[1,2,3,1,2,3,1,2,3]}'.repeat(8));
    const options = { windowBits: 15, level: 1, memLevel: 8 };
    const first = codec.deflate(sample, options);
    const second = codec.deflate(sample, { ...options, dictionary: sample });
    const same = (a: Uint8Array) => a.length === sample.length && a.every((b, i) => b === sample[i]);
    return (
      same(codec.inflate(first, { windowBits: 15, maxOutputLength: sample.length })) &&
      same(codec.inflate(second, { windowBits: 15, maxOutputLength: sample.length, dictionary: sample }))
    );
  } catch {
    return false;
  }
}
