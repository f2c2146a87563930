/**
 * Micro-benchmark of RFC 6455 unmasking: the JavaScript word loop against the WebAssembly SIMD kernel, in ns per
 * byte (best of 7 rounds), at the sizes of the medium and large scenarios.
 *
 *   node bench/dist/unmask.js        bun bench/dist/unmask.js        deno run bench/dist/unmask.js
 */
import { applyMaskSimd, applyMaskWords, setUnmaskKernel, simdUnmaskAvailable, simdUnmaskInUse } from "@ws/core/protocol";

const mask = new Uint8Array([0x12, 0x34, 0x56, 0x78]);

function nsPerByte(run: (data: Uint8Array) => void, size: number): number {
  const data = new Uint8Array(size + 1).subarray(1); // unaligned, as a payload after a header is
  const iterations = Math.max(16, Math.floor((32 << 20) / size));
  for (let i = 0; i < iterations / 4; i++) run(data);
  let best = Infinity;
  for (let round = 0; round < 7; round++) {
    const start = performance.now();
    for (let i = 0; i < iterations; i++) run(data);
    best = Math.min(best, ((performance.now() - start) * 1e6) / iterations / size);
  }
  return best;
}

setUnmaskKernel("simd");
console.log(`SIMD kernel available: ${simdUnmaskAvailable()}; in use by default: ${simdUnmaskInUse()}`);
for (const size of [1024, 4096, 16384, 1 << 20]) {
  const words = nsPerByte((d) => applyMaskWords(d, mask, 1), size);
  const simd = simdUnmaskAvailable() ? nsPerByte((d) => void applyMaskSimd(d, mask, 1), size) : NaN;
  console.log(`${String(size).padStart(8)} B   word loop ${words.toFixed(3)} ns/B   SIMD ${simd.toFixed(3)} ns/B   ${(words / simd).toFixed(2)}×`);
}
