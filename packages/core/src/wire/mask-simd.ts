/**
 * RFC 6455 §5.3 unmasking with a WebAssembly SIMD kernel: 64 bytes per loop turn, XORed 16 at a time with the
 * masking key splatted across a v128. The kernel works in its own one-page (64 KiB) memory, so a payload goes
 * through it in blocks: copied in, XORed, copied back. Two copies and a SIMD XOR still beat the JavaScript word
 * loop on V8 (Node, Deno) 2–5× from 4 KiB up; on JavaScriptCore (Bun) the word loop is as fast or (from
 * 16 KiB) far faster, so the Bun adapter chooses it (`setUnmaskKernel("js")` in wire/frame.ts).
 *
 * The module is written by hand, below, as its bytes with the text format beside them: no toolchain and no
 * dependency. Where compiling WebAssembly from bytes at run time is not allowed (Cloudflare Workers) or
 * WebAssembly SIMD is missing, instantiation throws and the word loop is used.
 *
 *   (module
 *     (memory (export "memory") 1)
 *     (func (export "unmask") (param $len i32) (param $mask i32) (local $i i32) (local $m v128)
 *       (local.set $m (i32x4.splat (local.get $mask)))
 *       (block $done (loop $next
 *         (br_if $done (i32.gt_u (i32.add (local.get $i) (i32.const 64)) (local.get $len)))
 *         (v128.store offset=0  (local.get $i) (v128.xor (v128.load offset=0  (local.get $i)) (local.get $m)))
 *         (v128.store offset=16 (local.get $i) (v128.xor (v128.load offset=16 (local.get $i)) (local.get $m)))
 *         (v128.store offset=32 (local.get $i) (v128.xor (v128.load offset=32 (local.get $i)) (local.get $m)))
 *         (v128.store offset=48 (local.get $i) (v128.xor (v128.load offset=48 (local.get $i)) (local.get $m)))
 *         (local.set $i (i32.add (local.get $i) (i32.const 64)))
 *         (br $next)))))
 *
 * `unmask(len, mask)` XORs bytes [0, len) of the memory, len a multiple of 64, with the little-endian mask word.
 */

/** One 16-byte lane of the loop body: memory[i + offset .. +16] ^= m. */
function lane(offset: number): number[] {
  return [
    0x20, 0x02, // local.get $i (store address)
    0x20, 0x02, // local.get $i (load address)
    0xfd, 0x00, 0x04, offset, // v128.load align=16 offset
    0x20, 0x03, // local.get $m
    0xfd, 0x51, // v128.xor
    0xfd, 0x0b, 0x04, offset, // v128.store align=16 offset
  ];
}

const BODY = [
  0x02, 0x01, 0x7f, 0x01, 0x7b, // locals: 1 × i32 ($i), 1 × v128 ($m)
  0x20, 0x01, 0xfd, 0x11, 0x21, 0x03, // $m = i32x4.splat($mask)
  0x02, 0x40, // block $done
  0x03, 0x40, // loop $next
  0x20, 0x02, 0x41, 0xc0, 0x00, 0x6a, // $i + 64
  0x20, 0x00, 0x4b, // > $len (unsigned)
  0x0d, 0x01, // br_if $done
  ...lane(0x00), ...lane(0x10), ...lane(0x20), ...lane(0x30),
  0x20, 0x02, 0x41, 0xc0, 0x00, 0x6a, 0x21, 0x02, // $i += 64
  0x0c, 0x00, // br $next
  0x0b, 0x0b, // end loop, end block
  0x0b, // end func
];

/** The module's bytes (wasm binary format 1). */
export const UNMASK_WASM = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x06, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x00, // type section: (func (param i32 i32))
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x05, 0x03, 0x01, 0x00, 0x01, // memory section: one memory, min 1 page, no max
  0x07, 0x13, 0x02, // export section, two exports:
  0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, // "memory" memory 0
  0x06, 0x75, 0x6e, 0x6d, 0x61, 0x73, 0x6b, 0x00, 0x00, // "unmask" func 0
  0x0a, BODY.length + 2, 0x01, BODY.length, ...BODY, // code section: one body
]);

/** The kernel's block size: its whole memory. A multiple of 4, so every block starts at the same mask phase. */
const BLOCK = 65536;

interface Kernel {
  memory: Uint8Array;
  unmask(len: number, mask: number): void;
}

/** The part of the WebAssembly JS API used (declared here: the core's typings name only what every runtime has). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}

let kernel: Kernel | null | undefined;

/** The instantiated kernel, or null where WebAssembly (SIMD) cannot be compiled here. */
function loadKernel(): Kernel | null {
  if (kernel !== undefined) return kernel;
  kernel = null;
  try {
    const wasm = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
    if (wasm === undefined) return null;
    const instance = new wasm.Instance(new wasm.Module(UNMASK_WASM));
    const exports = instance.exports as { memory: { buffer: ArrayBuffer }; unmask: (len: number, mask: number) => void };
    kernel = { memory: new Uint8Array(exports.memory.buffer, 0, BLOCK), unmask: exports.unmask };
  } catch {
    kernel = null; // e.g. Workers: "Wasm code generation disallowed by embedder"
  }
  return kernel;
}

/**
 * XORs `data` in place with `mask`, `maskOffset` bytes into the masking sequence, through the SIMD kernel (the
 * last `data.length % 64` bytes in JavaScript). False, with `data` untouched, when the kernel is not available.
 *
 * @internal
 */
export function applyMaskSimd(data: Uint8Array, mask: Uint8Array, maskOffset = 0): boolean {
  return xorThroughKernel(data, mask, maskOffset, data, 0);
}

/**
 * Writes `data` XORed with `mask` (`maskOffset` bytes into the masking sequence) into `target` at `offset`,
 * through the SIMD kernel, `data` untouched: one copy into the kernel's memory and one out of it, the same as
 * unmasking in place, so unmasking while copying costs no more than unmasking alone. False, with nothing
 * written, when the kernel is not available.
 *
 * @internal
 */
export function copyMaskedSimd(data: Uint8Array, mask: Uint8Array, maskOffset: number, target: Uint8Array, offset: number): boolean {
  return xorThroughKernel(data, mask, maskOffset, target, offset);
}

/** `target[offset + i] = data[i] ^ mask[(maskOffset + i) & 3]`, block by block through the kernel's memory. */
function xorThroughKernel(data: Uint8Array, mask: Uint8Array, maskOffset: number, target: Uint8Array, offset: number): boolean {
  const k = loadKernel();
  if (k === null) return false;
  const m0 = mask[maskOffset & 3]!;
  const m1 = mask[(maskOffset + 1) & 3]!;
  const m2 = mask[(maskOffset + 2) & 3]!;
  const m3 = mask[(maskOffset + 3) & 3]!;
  const word = m0 | (m1 << 8) | (m2 << 16) | (m3 << 24); // WebAssembly memory is little-endian everywhere
  const n = data.length;
  const bulk = n - (n & 63);
  const memory = k.memory;
  for (let at = 0; at < bulk; at += BLOCK) {
    const len = Math.min(BLOCK, bulk - at);
    memory.set(data.subarray(at, at + len));
    k.unmask(len, word);
    target.set(len === BLOCK ? memory : memory.subarray(0, len), offset + at);
  }
  for (let i = bulk; i < n; i++) target[offset + i] = data[i]! ^ mask[(maskOffset + i) & 3]!;
  return true;
}

/**
 * Whether the kernel is available on this runtime (it is instantiated on the first call).
 *
 * @example
 * ```ts
 * import { setUnmaskKernel, simdUnmaskAvailable } from "@ws/core/protocol";
 *
 * if (!simdUnmaskAvailable()) console.log("no WebAssembly here (Workers): the word loop unmasks");
 * setUnmaskKernel("simd"); // the default: the kernel wherever it is available
 * ```
 */
export function simdUnmaskAvailable(): boolean {
  return loadKernel() !== null;
}
