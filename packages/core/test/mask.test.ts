import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { applyMask, applyMaskWords, copyMasked, setUnmaskKernel, simdUnmaskInUse, SIMD_UNMASK_THRESHOLD } from "../src/wire/frame.ts";
import { applyMaskSimd, copyMaskedSimd, simdUnmaskAvailable } from "../src/wire/mask-simd.ts";

/** RFC 6455 §5.3 as written: octet i XOR octet (i mod 4) of the key. */
function reference(data: Uint8Array, mask: Uint8Array, maskOffset: number): void {
  for (let i = 0; i < data.length; i++) data[i]! ^= mask[(maskOffset + i) & 3]!;
}

/** Index of the first differing byte, -1 when equal (toEqual on 100 KiB arrays is far too slow). */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

function filled(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed | 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A payload at an unaligned offset of a larger buffer, with guard bytes around it that must stay untouched. */
const cases = fc.record({
  length: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 200_000 })),
  before: fc.integer({ min: 0, max: 19 }),
  seed: fc.integer(),
  mask: fc.uint8Array({ minLength: 4, maxLength: 4 }),
  maskOffset: fc.integer({ min: 0, max: 3 }),
});

function check(kernel: (data: Uint8Array, mask: Uint8Array, maskOffset: number) => unknown) {
  fc.assert(
    fc.property(cases, ({ length, before, seed, mask, maskOffset }) => {
      const whole = filled(before + length + 13, seed);
      const expected = whole.slice();
      reference(expected.subarray(before, before + length), mask, maskOffset);
      kernel(whole.subarray(before, before + length), mask, maskOffset);
      expect(firstDifference(whole, expected)).toBe(-1);
    }),
    { numRuns: 100 },
  );
}

afterEach(() => setUnmaskKernel("simd"));

describe("unmasking (RFC 6455 §5.3): every kernel equals the byte-wise definition", () => {
  it("the WebAssembly SIMD kernel is available on Node", () => {
    expect(simdUnmaskAvailable()).toBe(true);
  });

  it("SIMD kernel, any length (across 64 KiB blocks), unaligned offsets, any mask phase", () => {
    check((d, m, o) => expect(applyMaskSimd(d, m, o)).toBe(true));
  });

  it("JavaScript word loop, same cases", () => {
    check(applyMaskWords);
  });

  it("applyMask under each kernel choice (SIMD by default where available)", () => {
    expect(simdUnmaskInUse()).toBe(true);
    for (const kind of ["simd", "js"] as const) {
      setUnmaskKernel(kind);
      check(applyMask);
    }
    setUnmaskKernel("simd");
    expect(simdUnmaskInUse()).toBe(true);
    setUnmaskKernel("js");
    expect(simdUnmaskInUse()).toBe(false);
  });

  it("unmasking while copying (copyMasked, copyMaskedSimd): the target equals the definition, the source and the target's other bytes stay", () => {
    const copying = (kernel: (data: Uint8Array, mask: Uint8Array, maskOffset: number, target: Uint8Array, offset: number) => unknown) =>
      fc.assert(
        fc.property(cases, fc.integer({ min: 0, max: 9 }), ({ length, before, seed, mask, maskOffset }, at) => {
          const source = filled(before + length + 5, seed);
          const original = source.slice();
          const target = filled(at + length + 11, ~seed);
          const expected = target.slice();
          expected.set(source.subarray(before, before + length), at);
          reference(expected.subarray(at, at + length), mask, maskOffset);
          kernel(source.subarray(before, before + length), mask, maskOffset, target, at);
          expect(firstDifference(target, expected)).toBe(-1);
          expect(firstDifference(source, original)).toBe(-1);
        }),
        { numRuns: 100 },
      );
    copying((d, m, o, t, at) => expect(copyMaskedSimd(d, m, o, t, at)).toBe(true));
    for (const kind of ["simd", "js"] as const) {
      setUnmaskKernel(kind);
      copying((d, m, o, t, at) => copyMasked(d, m, t, at, o));
    }
  });

  it("a payload unmasked in pieces at every split equals one unmasked whole (the parser's chunking)", () => {
    setUnmaskKernel("simd");
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 70_000 }), fc.integer({ min: 0, max: 70_000 }), fc.integer(), fc.uint8Array({ minLength: 4, maxLength: 4 }), (length, at, seed, mask) => {
        const split = Math.min(at, length);
        const whole = filled(length, seed);
        const pieces = whole.slice();
        reference(whole, mask, 0);
        applyMask(pieces.subarray(0, split), mask, 0);
        applyMask(pieces.subarray(split), mask, split & 3);
        expect(firstDifference(pieces, whole)).toBe(-1);
      }),
      { numRuns: 60 },
    );
  });

  it("falls back to the word loop where WebAssembly cannot be compiled (as on Workers)", async () => {
    // the core's typings leave WebAssembly out; vitest runs on Node, which has it
    const WebAssembly = (globalThis as unknown as { WebAssembly: { Module: new () => object; CompileError: new (m: string) => Error } }).WebAssembly;
    vi.resetModules();
    const original = WebAssembly.Module;
    const spy = vi.spyOn(WebAssembly, "Module").mockImplementation(() => {
      throw new WebAssembly.CompileError("Wasm code generation disallowed by embedder");
    });
    try {
      const simd = await import("../src/wire/mask-simd.ts");
      const frame = await import("../src/wire/frame.ts");
      expect(simd.simdUnmaskAvailable()).toBe(false);
      const data = filled(SIMD_UNMASK_THRESHOLD * 4 + 5, 9);
      expect(simd.applyMaskSimd(data, new Uint8Array([1, 2, 3, 4]), 0)).toBe(false);
      expect(firstDifference(data, filled(SIMD_UNMASK_THRESHOLD * 4 + 5, 9))).toBe(-1); // untouched
      frame.setUnmaskKernel("simd");
      expect(frame.simdUnmaskInUse()).toBe(false);
      const expected = data.slice();
      reference(expected, new Uint8Array([1, 2, 3, 4]), 1);
      frame.applyMask(data, new Uint8Array([1, 2, 3, 4]), 1);
      expect(firstDifference(data, expected)).toBe(-1);
      expect(frame.simdUnmaskInUse()).toBe(false);
    } finally {
      spy.mockRestore();
      expect(WebAssembly.Module).toBe(original);
      vi.resetModules();
    }
  });
});
