/**
 * A DeflateCodec over a node:zlib-compatible module, passed in by the adapter (`import * as zlib from
 * "node:zlib"` works on Node, Bun and Deno), so the core itself imports nothing runtime-specific.
 */
import type { DeflateCodec } from "./deflate.ts";

/** The part of node:zlib the codec uses. */
export interface ZlibModule {
  deflateRawSync(data: Uint8Array, options: Record<string, unknown>): Uint8Array;
  inflateRawSync(data: Uint8Array, options: Record<string, unknown>): Uint8Array;
  constants: { Z_SYNC_FLUSH: number };
}

/** A plain Uint8Array view (Node hands back Buffers, whose slice() differs). */
function plain(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function zlibCodec(zlib: ZlibModule): DeflateCodec {
  const sync = zlib.constants.Z_SYNC_FLUSH;
  return {
    deflate: (data, o) =>
      plain(zlib.deflateRawSync(data, {
        windowBits: o.windowBits,
        level: o.level,
        memLevel: o.memLevel,
        finishFlush: sync,
        ...(o.dictionary && o.dictionary.length > 0 ? { dictionary: o.dictionary } : {}),
      })),
    inflate: (data, o) =>
      plain(zlib.inflateRawSync(data, {
        windowBits: o.windowBits,
        finishFlush: sync,
        maxOutputLength: Math.max(1, o.maxOutputLength),
        ...(o.dictionary && o.dictionary.length > 0 ? { dictionary: o.dictionary } : {}),
      })),
  };
}
