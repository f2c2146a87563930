import { describe, expect, it } from "vitest";
import { decodeUtf8, decodeUtf8Strict, encodeUtf8, isValidUtf8, Utf8Validator } from "../src/protocol.ts";
import { bytes } from "./support/frames.ts";

/** [name, bytes, index of the first byte that makes the input invalid (-1: valid), complete when valid] */
const table: Array<[string, number[], number, boolean?]> = [
  ["empty", [], -1],
  ["ASCII", [0x48, 0x69, 0x00, 0x7f], -1],
  ["2-byte U+0080", [0xc2, 0x80], -1],
  ["2-byte U+07FF", [0xdf, 0xbf], -1],
  ["3-byte U+0800", [0xe0, 0xa0, 0x80], -1],
  ["3-byte U+D7FF (last before surrogates)", [0xed, 0x9f, 0xbf], -1],
  ["3-byte U+E000 (first after surrogates)", [0xee, 0x80, 0x80], -1],
  ["3-byte U+FFFF", [0xef, 0xbf, 0xbf], -1],
  ["U+FEFF byte order mark", [0xef, 0xbb, 0xbf], -1],
  ["4-byte U+10000", [0xf0, 0x90, 0x80, 0x80], -1],
  ["4-byte U+1F600", [0xf0, 0x9f, 0x98, 0x80], -1],
  ["4-byte U+10FFFF", [0xf4, 0x8f, 0xbf, 0xbf], -1],
  ["κόσμε", [0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5], -1],
  ["overlong '/' 2-byte C0 AF", [0xc0, 0xaf], 0],
  ["overlong C1 BF", [0xc1, 0xbf], 0],
  ["overlong '/' 3-byte E0 80 AF", [0xe0, 0x80, 0xaf], 1],
  ["overlong U+07FF 3-byte E0 9F BF", [0xe0, 0x9f, 0xbf], 1],
  ["overlong '/' 4-byte F0 80 80 AF", [0xf0, 0x80, 0x80, 0xaf], 1],
  ["overlong U+FFFF 4-byte F0 8F BF BF", [0xf0, 0x8f, 0xbf, 0xbf], 1],
  ["surrogate U+D800 ED A0 80", [0xed, 0xa0, 0x80], 1],
  ["surrogate U+DFFF ED BF BF", [0xed, 0xbf, 0xbf], 1],
  ["surrogate pair ED A0 80 ED B0 80", [0xed, 0xa0, 0x80, 0xed, 0xb0, 0x80], 1],
  ["U+110000 F4 90 80 80", [0xf4, 0x90, 0x80, 0x80], 1],
  ["F5", [0xf5, 0x80, 0x80, 0x80], 0],
  ["F8 (5-byte form)", [0xf8, 0x88, 0x80, 0x80, 0x80], 0],
  ["FC (6-byte form)", [0xfc, 0x84, 0x80, 0x80, 0x80, 0x80], 0],
  ["FE", [0xfe], 0],
  ["FF", [0xff], 0],
  ["stray continuation 80", [0x41, 0x80], 1],
  ["stray continuation BF", [0xbf], 0],
  ["continuation after a complete 2-byte", [0xc2, 0x80, 0x80], 2],
  ["2-byte lead followed by ASCII", [0xc2, 0x41], 1],
  ["3-byte lead, one continuation, then ASCII", [0xe2, 0x82, 0x41], 2],
  ["4-byte lead then a new lead", [0xf0, 0x90, 0xf0], 2],
  ["valid then invalid deep in the input", [0x61, 0x62, 0xce, 0xba, 0x63, 0xed, 0xa0, 0x80], 6],
  // truncated sequences: nothing invalid yet, but not complete
  ["truncated 2-byte", [0xc2], -1, false],
  ["truncated 3-byte", [0xe2, 0x82], -1, false],
  ["truncated 4-byte", [0xf0, 0x9f, 0x98], -1, false],
  ["truncated 4-byte after text", [0x61, 0xf4, 0x8f], -1, false],
];

describe("Utf8Validator: table of valid and invalid sequences", () => {
  for (const [name, seq, badAt, complete = true] of table) {
    it(name, () => {
      const input = Uint8Array.from(seq);
      // whole
      const v = new Utf8Validator();
      const ok = v.update(input);
      expect(ok).toBe(badAt < 0);
      expect(v.complete).toBe(badAt < 0 && complete);
      expect(isValidUtf8(input)).toBe(badAt < 0 && complete);
      expect(decodeUtf8Strict(input) !== null).toBe(badAt < 0 && complete);
      // byte by byte: fails exactly on the invalid byte and stays failed
      const w = new Utf8Validator();
      for (let i = 0; i < input.length; i++) {
        const r = w.update(input.subarray(i, i + 1));
        expect(r, `byte ${i}`).toBe(badAt < 0 || i < badAt);
      }
      if (badAt >= 0) expect(w.update(bytes(0x41))).toBe(false);
      expect(w.complete).toBe(badAt < 0 && complete);
    });
  }

  it("the start/end arguments select a range", () => {
    const v = new Utf8Validator();
    const input = bytes(0xff, 0xc2, 0x80, 0xff);
    expect(v.update(input, 1, 3)).toBe(true);
    expect(v.complete).toBe(true);
  });

  it("state carries across calls split at every point of multi-byte text", () => {
    const text = encodeUtf8("aé€😀z\u{10FFFF}\uFEFF");
    for (let cut = 0; cut <= text.length; cut++) {
      const v = new Utf8Validator();
      expect(v.update(text.subarray(0, cut))).toBe(true);
      expect(v.update(text.subarray(cut))).toBe(true);
      expect(v.complete).toBe(true);
    }
  });

  it("reset clears a failure and a partial sequence", () => {
    const v = new Utf8Validator();
    v.update(bytes(0xff));
    v.reset();
    expect(v.update(bytes(0x41))).toBe(true);
    v.update(bytes(0xe2));
    expect(v.complete).toBe(false);
    v.reset();
    expect(v.complete).toBe(true);
  });

  it("every single byte: 00–7F complete, C2–F4 incomplete, the rest invalid", () => {
    for (let b = 0; b < 256; b++) {
      const v = new Utf8Validator();
      const ok = v.update(bytes(b));
      if (b < 0x80) expect([ok, v.complete], `0x${b.toString(16)}`).toEqual([true, true]);
      else if (b >= 0xc2 && b <= 0xf4) expect([ok, v.complete], `0x${b.toString(16)}`).toEqual([true, false]);
      else expect(ok, `0x${b.toString(16)}`).toBe(false);
    }
  });

  it("agrees with the platform's fatal decoder on every 2- and 3-byte sequence with a leading E0–EF/C0–DF", () => {
    const fatal = new TextDecoder("utf-8", { fatal: true });
    const platform = (x: Uint8Array) => {
      try {
        fatal.decode(x);
        return true;
      } catch {
        return false;
      }
    };
    for (let a = 0xc0; a <= 0xff; a++) {
      for (let b = 0x00; b <= 0xff; b += 1) {
        const two = bytes(a, b);
        expect(isValidUtf8(two), `${a.toString(16)} ${b.toString(16)}`).toBe(platform(two));
        if (a >= 0xe0 && a <= 0xf4) {
          for (const c of [0x41, 0x80, 0xbf, 0xc0]) {
            const three = bytes(a, b, c);
            expect(isValidUtf8(three)).toBe(platform(three));
          }
        }
      }
    }
  });
});

describe("decode and encode", () => {
  it("keeps a leading U+FEFF (it is message content)", () => {
    expect(decodeUtf8(bytes(0xef, 0xbb, 0xbf, 0x41))).toBe("\uFEFFA");
    expect(decodeUtf8Strict(bytes(0xef, 0xbb, 0xbf, 0x41))).toBe("\uFEFFA");
  });
  it("decodeUtf8Strict returns null for invalid input", () => {
    expect(decodeUtf8Strict(bytes(0xed, 0xa0, 0x80))).toBeNull();
    expect(decodeUtf8Strict(bytes(0xc2))).toBeNull();
  });
  it("encodes astral characters as 4 bytes", () => {
    expect(Array.from(encodeUtf8("😀"))).toEqual([0xf0, 0x9f, 0x98, 0x80]);
  });
});

describe("utf8Length (the byte count the text-frame fast path allocates)", () => {
  it("equals TextEncoder's output length, lone surrogates included", async () => {
    const { utf8Length } = await import("../src/wire/frame.ts");
    const fc = await import("fast-check");
    const samples = ["", "a", "é", "€", "👋", "a👋b", "\ud800", "\udc00", "x\ud800y", "\ud800\ud800\udc00", "\udbff\udfff"];
    for (const s of samples) expect(utf8Length(s), JSON.stringify(s)).toBe(new TextEncoder().encode(s).length);
    fc.assert(fc.property(fc.string({ unit: "binary" }), (s) => utf8Length(s) === new TextEncoder().encode(s).length));
  });
});
