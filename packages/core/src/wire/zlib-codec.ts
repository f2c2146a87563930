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

/**
 * The DeflateCodec over `zlib`'s synchronous raw DEFLATE (the window of earlier messages goes in as a stored
 * block, so it needs no `dictionary` support from the binding).
 *
 * @example
 * ```ts
 * import * as zlib from "node:zlib"; // the same on Bun and Deno
 * import { PerMessageDeflate, zlibCodec } from "@ws/core/protocol";
 *
 * const codec = zlibCodec(zlib);
 * const deflate = new PerMessageDeflate({ sendWindowBits: 15, receiveWindowBits: 15, sendNoContextTakeover: true, receiveNoContextTakeover: true }, codec);
 * ```
 */
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
    inflate: (data, o) => {
      const window = o.dictionary;
      if (!window || window.length === 0) {
        return plain(zlib.inflateRawSync(data, { windowBits: o.windowBits, finishFlush: sync, maxOutputLength: Math.max(1, o.maxOutputLength) }));
      }
      // The previous messages' window goes in front of the data as one stored (uncompressed) DEFLATE block,
      // and is cut off the output again. Every message starts on a byte boundary (the peer ended the one
      // before with a sync flush), so the result is one valid raw stream whose back-references reach into the
      // window. This needs no `dictionary` support from the zlib binding (Deno's inflateRawSync ignores it).
      const input = new Uint8Array(5 + window.length + data.length);
      const n = window.length; // ≤ 32 KiB: fits one stored block (RFC 1951 §3.2.4)
      input[0] = 0x00; // BFINAL 0, BTYPE 00, padding to the byte boundary
      input[1] = n & 0xff;
      input[2] = n >>> 8;
      input[3] = ~n & 0xff;
      input[4] = (~n >>> 8) & 0xff;
      input.set(window, 5);
      input.set(data, 5 + n);
      const out = zlib.inflateRawSync(input, { windowBits: o.windowBits, finishFlush: sync, maxOutputLength: n + Math.max(1, o.maxOutputLength) });
      return plain(out).subarray(n);
    },
  };
}
