import { describe, expect, it } from "vitest";
import { applyMask, encodeFrame, encodeFrameParts, FrameParser, headerSize, isControlOpcode, Opcode, type FrameHeader } from "../src/protocol.ts";
import { bytes, feedings, frame, hex, RFC_MASK, utf8 } from "./support/frames.ts";
import { concatBytes } from "./support/memory-stream.ts";

interface ParsedFrame {
  fin: boolean;
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  opcode: number;
  masked: boolean;
  mask: number[] | null;
  payloadLength: number;
  payload: number[];
}

/** Runs FrameParser over `chunks`; returns the frames it reported and any error. */
function parse(chunks: Uint8Array[]): { frames: ParsedFrame[]; errors: string[]; finals: number } {
  const frames: ParsedFrame[] = [];
  const errors: string[] = [];
  let current: { h: FrameHeader; parts: Uint8Array[] } | null = null;
  let finals = 0;
  const parser = new FrameParser({
    header: (h) => {
      current = { h, parts: [] };
    },
    payload: (data, final) => {
      current!.parts.push(data.slice());
      if (final) {
        finals++;
        const { h, parts } = current!;
        frames.push({
          fin: h.fin,
          rsv1: h.rsv1,
          rsv2: h.rsv2,
          rsv3: h.rsv3,
          opcode: h.opcode,
          masked: h.masked,
          mask: h.mask ? Array.from(h.mask) : null,
          payloadLength: h.payloadLength,
          payload: Array.from(concatBytes(parts)),
        });
        current = null;
      }
    },
    error: (m) => errors.push(m),
  });
  for (const c of chunks) parser.push(c);
  return { frames, errors, finals };
}

const HELLO = Array.from(utf8("Hello"));
const base = { rsv1: false, rsv2: false, rsv3: false, masked: false, mask: null };

const bin256 = Uint8Array.from({ length: 256 }, (_, i) => i & 0xff);
const bin64k = Uint8Array.from({ length: 65536 }, (_, i) => (i * 7 + 3) & 0xff);

/** RFC 6455 §5.7 examples (plus the two long-length forms) with what the parser must report. */
const fixtures: Array<{ name: string; wire: Uint8Array; frames: ParsedFrame[] }> = [
  {
    name: "single-frame unmasked text",
    wire: bytes(0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f),
    frames: [{ ...base, fin: true, opcode: 1, payloadLength: 5, payload: HELLO }],
  },
  {
    name: "single-frame masked text",
    wire: bytes(0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58),
    frames: [{ ...base, fin: true, opcode: 1, masked: true, mask: [0x37, 0xfa, 0x21, 0x3d], payloadLength: 5, payload: HELLO }],
  },
  {
    name: "fragmented unmasked text",
    wire: bytes(0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f),
    frames: [
      { ...base, fin: false, opcode: 1, payloadLength: 3, payload: Array.from(utf8("Hel")) },
      { ...base, fin: true, opcode: 0, payloadLength: 2, payload: Array.from(utf8("lo")) },
    ],
  },
  {
    name: "unmasked ping",
    wire: bytes(0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f),
    frames: [{ ...base, fin: true, opcode: 9, payloadLength: 5, payload: HELLO }],
  },
  {
    name: "masked pong",
    wire: bytes(0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58),
    frames: [{ ...base, fin: true, opcode: 10, masked: true, mask: [0x37, 0xfa, 0x21, 0x3d], payloadLength: 5, payload: HELLO }],
  },
  {
    name: "256-byte binary (16-bit length)",
    wire: concatBytes([bytes(0x82, 0x7e, 0x01, 0x00), bin256]),
    frames: [{ ...base, fin: true, opcode: 2, payloadLength: 256, payload: Array.from(bin256) }],
  },
  {
    name: "64 KiB binary (64-bit length)",
    wire: concatBytes([bytes(0x82, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00), bin64k]),
    frames: [{ ...base, fin: true, opcode: 2, payloadLength: 65536, payload: Array.from(bin64k) }],
  },
];

describe("FrameParser: RFC 6455 §5.7 fixtures, whole and byte by byte", () => {
  for (const fx of fixtures) {
    it(fx.name, () => {
      for (const { name, chunks } of feedings(fx.wire)) {
        const r = parse(chunks);
        expect(r.errors, name).toEqual([]);
        expect(r.frames, name).toEqual(fx.frames);
      }
    });
  }

  it("parses a stream of all fixtures back to back, in random chunkings", () => {
    const all = concatBytes(fixtures.map((f) => f.wire));
    const expected = fixtures.flatMap((f) => f.frames);
    for (const size of [1, 2, 3, 5, 7, 13, 64, 1000, 70000]) {
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < all.length; i += size) chunks.push(all.slice(i, i + size));
      expect(parse(chunks).frames, `chunks of ${size}`).toEqual(expected);
    }
  });

  it("delivers a frame lying whole in one chunk as a view of that chunk (no copy)", () => {
    const wire = bytes(0x82, 0x03, 1, 2, 3);
    let seen: Uint8Array | null = null;
    const p = new FrameParser({ header: () => {}, payload: (d) => (seen = d), error: () => {} });
    p.push(wire);
    expect(seen!.buffer).toBe(wire.buffer);
    expect(Array.from(seen!)).toEqual([1, 2, 3]);
  });

  it("reports an empty frame with one final empty payload call", () => {
    for (const { name, chunks } of feedings(bytes(0x89, 0x00, 0x8a, 0x80, 1, 2, 3, 4))) {
      const r = parse(chunks);
      expect(r.finals, name).toBe(2);
      expect(r.frames.map((f) => [f.opcode, f.payload.length, f.masked]), name).toEqual([
        [9, 0, false],
        [10, 0, true],
      ]);
    }
  });

  it("reports RSV bits and reserved opcodes as received (the protocol layer judges them)", () => {
    const r = parse([bytes(0xf3, 0x00, 0x4b, 0x00)]);
    expect(r.frames.map((f) => [f.fin, f.rsv1, f.rsv2, f.rsv3, f.opcode])).toEqual([
      [true, true, true, true, 3],
      [false, true, false, false, 0xb],
    ]);
  });

  it("stops with an error on a 64-bit length with the top bit set, whole and byte by byte", () => {
    const wire = bytes(0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0x01, 0xaa);
    for (const { name, chunks } of feedings(wire)) {
      const r = parse(chunks);
      expect(r.errors.length, name).toBe(1);
      expect(r.frames, name).toEqual([]);
    }
  });

  it("reads the largest 64-bit lengths below 2^63 without error", () => {
    let len = -1;
    const p = new FrameParser({ header: (h) => void (len = h.payloadLength), payload: () => {}, error: () => {} });
    p.push(bytes(0x82, 0x7f, 0, 0, 0, 0x01, 0, 0, 0, 0));
    expect(len).toBe(2 ** 32);
  });

  it("stops for good when the sink rejects a header, and after stop()", () => {
    const errors: string[] = [];
    let headers = 0;
    const p = new FrameParser({ header: () => (headers++, "no"), payload: () => {}, error: (m) => errors.push(m) });
    p.push(bytes(0x81, 0x01, 0x41, 0x81, 0x01, 0x41));
    expect(headers).toBe(1);
    expect(errors).toEqual(["no"]);
    expect(p.stopped).toBe(true);
    p.push(bytes(0x81, 0x00));
    expect(headers).toBe(1);
  });

  it("is idle only between frames", () => {
    const p = new FrameParser({ header: () => {}, payload: () => {}, error: () => {} });
    expect(p.idle).toBe(true);
    p.push(bytes(0x81));
    expect(p.idle).toBe(false);
    p.push(bytes(0x02, 0x41));
    expect(p.idle).toBe(false);
    p.push(bytes(0x42));
    expect(p.idle).toBe(true);
  });
});

describe("encodeFrame: RFC 6455 §5.7 fixtures", () => {
  it("single-frame unmasked text", () => {
    expect(hex(encodeFrame(Opcode.Text, utf8("Hello")))).toBe(hex(fixtures[0]!.wire));
  });
  it("single-frame masked text with a fixed mask", () => {
    expect(hex(encodeFrame(Opcode.Text, utf8("Hello"), { mask: RFC_MASK }))).toBe(hex(fixtures[1]!.wire));
  });
  it("fragmented unmasked text", () => {
    const wire = concatBytes([
      encodeFrame(Opcode.Text, utf8("Hel"), { fin: false }),
      encodeFrame(Opcode.Continuation, utf8("lo"), { fin: true }),
    ]);
    expect(hex(wire)).toBe(hex(fixtures[2]!.wire));
  });
  it("unmasked ping and masked pong", () => {
    expect(hex(encodeFrame(Opcode.Ping, utf8("Hello")))).toBe(hex(fixtures[3]!.wire));
    expect(hex(encodeFrame(Opcode.Pong, utf8("Hello"), { mask: RFC_MASK }))).toBe(hex(fixtures[4]!.wire));
  });
  it("256-byte and 64 KiB binary lengths", () => {
    expect(encodeFrame(Opcode.Binary, bin256)).toEqual(fixtures[5]!.wire);
    expect(encodeFrame(Opcode.Binary, bin64k)).toEqual(fixtures[6]!.wire);
  });
  it("length boundaries 125/126/65535/65536 use the minimal encoding", () => {
    const head = (n: number) => Array.from(encodeFrame(Opcode.Binary, new Uint8Array(n)).subarray(0, 10));
    expect(head(125).slice(0, 2)).toEqual([0x82, 125]);
    expect(head(126).slice(0, 4)).toEqual([0x82, 126, 0, 126]);
    expect(head(65535).slice(0, 4)).toEqual([0x82, 126, 0xff, 0xff]);
    expect(head(65536)).toEqual([0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
    expect(headerSize(125, false)).toBe(2);
    expect(headerSize(126, true)).toBe(8);
    expect(headerSize(65536, true)).toBe(14);
  });
  it("close, continuation, binary and RSV bits", () => {
    expect(Array.from(encodeFrame(Opcode.Close, bytes(0x03, 0xe8)))).toEqual([0x88, 0x02, 0x03, 0xe8]);
    expect(Array.from(encodeFrame(Opcode.Continuation, bytes(1), { fin: false }))).toEqual([0x00, 0x01, 0x01]);
    expect(Array.from(encodeFrame(Opcode.Binary, bytes(), { rsv1: true }))).toEqual([0xc2, 0x00]);
    expect(Array.from(encodeFrame(Opcode.Binary, bytes(), { rsv2: true, rsv3: true }))).toEqual([0xb2, 0x00]);
  });
  it("a random mask is fresh per frame, unmasks to the payload and leaves the caller's buffer alone", () => {
    const payload = utf8("the same payload, twice");
    const before = payload.slice();
    const a = encodeFrame(Opcode.Text, payload, { mask: true });
    const b = encodeFrame(Opcode.Text, payload, { mask: true });
    expect(payload).toEqual(before);
    expect(a[1]! & 0x80).toBe(0x80);
    const maskA = a.subarray(2, 6);
    const maskB = b.subarray(2, 6);
    expect(hex(maskA)).not.toBe(hex(maskB));
    for (const f of [a, b]) {
      const m = f.subarray(2, 6);
      const body = Array.from(f.subarray(6), (x, i) => x ^ m[i % 4]!);
      expect(body).toEqual(Array.from(payload));
    }
  });
  it("encodeFrameParts: header + the caller's payload for large unmasked frames, one buffer otherwise", () => {
    const big = new Uint8Array(20000).fill(7);
    const parts = encodeFrameParts(Opcode.Binary, big);
    expect(parts.length).toBe(2);
    expect(Array.from(parts[0]!)).toEqual([0x82, 126, 0x4e, 0x20]);
    expect(parts[1]).toBe(big);
    const masked = encodeFrameParts(Opcode.Binary, big, { mask: RFC_MASK });
    expect(masked.length).toBe(1);
    expect(masked[0]!.length).toBe(8 + 20000);
    expect(big[0]).toBe(7);
    expect(encodeFrameParts(Opcode.Text, utf8("hi"))).toEqual([bytes(0x81, 0x02, 0x68, 0x69)]);
  });
  it("isControlOpcode", () => {
    expect([0, 1, 2, 3, 7, 8, 9, 0xa, 0xf].map(isControlOpcode)).toEqual([false, false, false, false, false, true, true, true, true]);
  });
});

describe("applyMask matches the naive byte loop for every length, alignment and mask offset", () => {
  it("exhaustive over small sizes", () => {
    const mask = bytes(0x12, 0x34, 0xab, 0xcd);
    const backing = new Uint8Array(256);
    for (let i = 0; i < backing.length; i++) backing[i] = (i * 31 + 7) & 0xff;
    for (let len = 0; len <= 160; len++) {
      for (let offset = 0; offset < 4; offset++) {
        for (let maskOffset = 0; maskOffset < 4; maskOffset++) {
          const copy = backing.slice();
          const view = copy.subarray(offset, offset + len);
          applyMask(view, mask, maskOffset);
          const expected = Array.from(backing.subarray(offset, offset + len), (x, i) => x ^ mask[(maskOffset + i) % 4]!);
          expect(Array.from(view)).toEqual(expected);
          // bytes around the view are untouched
          expect(Array.from(copy.subarray(0, offset))).toEqual(Array.from(backing.subarray(0, offset)));
          expect(Array.from(copy.subarray(offset + len))).toEqual(Array.from(backing.subarray(offset + len)));
        }
      }
    }
  });

  it("masking is its own inverse over a large buffer", () => {
    const data = Uint8Array.from({ length: 100003 }, (_, i) => (i * 13) & 0xff);
    const copy = data.slice();
    applyMask(copy.subarray(1), RFC_MASK, 2);
    expect(copy[1]).toBe(data[1]! ^ RFC_MASK[2]!);
    applyMask(copy.subarray(1), RFC_MASK, 2);
    expect(copy).toEqual(data);
  });

  it("the parser unmasks frames split at every possible point", () => {
    const payload = Uint8Array.from({ length: 40 }, (_, i) => i + 100);
    const wire = frame({ opcode: 2, payload, mask: RFC_MASK });
    for (let cut = 1; cut < wire.length; cut++) {
      for (let cut2 = cut; cut2 < wire.length; cut2 += 5) {
        const chunks = [wire.slice(0, cut), wire.slice(cut, cut2), wire.slice(cut2)].filter((c) => c.length > 0);
        const r = parse(chunks);
        expect(r.frames[0]!.payload, `cuts ${cut},${cut2}`).toEqual(Array.from(payload));
      }
    }
  });
});
