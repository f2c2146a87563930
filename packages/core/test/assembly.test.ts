/**
 * Message assembly with unmasking while copying (FrameSink.maskedPayload → MessageBuffer.appendMasked) and with
 * an allocator whose memory is not cleared (ProtocolOptions.allocateMessage): messages split into fragments and
 * cut into reads anywhere, masked and unmasked, under each unmasking kernel.
 */
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { encodeFrame, FrameParser, Opcode, ProtocolState, setUnmaskKernel, type FrameHeader, type ProtocolHandler, type Role } from "../src/protocol.ts";
import { MessageBuffer } from "../src/protocol/message-buffer.ts";
import { chunkAt, frame, RFC_MASK } from "./support/frames.ts";
import { concatBytes } from "./support/memory-stream.ts";

afterEach(() => setUnmaskKernel("simd"));

/** Memory as an allocator that does not clear it might return it: full of old bytes. */
const dirty = (size: number): Uint8Array => new Uint8Array(size).fill(0xa5);

function bytes(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 31 + seed * 7 + (i >> 8)) & 0xff);
}

/** A receiver whose binary messages are kept as handed out (not copied), with the allocations made for them. */
function receiver(role: Role, allocateMessage?: (size: number) => Uint8Array) {
  const messages: Uint8Array[] = [];
  const violations: string[] = [];
  const handler: ProtocolHandler = {
    write: () => {},
    text: () => {},
    binary: (m) => void messages.push(m),
    fragment: () => {},
    ping: () => {},
    pong: () => {},
    closeReceived: () => {},
    closeSent: () => {},
    end: () => {},
    violation: (_c, m) => void violations.push(m),
  };
  const state = new ProtocolState({ role, maxMessageSize: 1 << 22, allocateMessage }, handler);
  return { state, messages, violations };
}

/** The frames of one binary message split at `splits` (fractions of its length), masked when a client sends. */
function frames(payload: Uint8Array, role: Role, splits: number[]): Uint8Array[] {
  const points = [...new Set(splits.map((s) => Math.floor(s * payload.length)))].filter((p) => p > 0 && p < payload.length).sort((a, b) => a - b);
  const edges = [0, ...points, payload.length];
  const out: Uint8Array[] = [];
  for (let i = 0; i + 1 < edges.length; i++) {
    out.push(encodeFrame(i === 0 ? Opcode.Binary : Opcode.Continuation, payload.subarray(edges[i], edges[i + 1]), { fin: i + 2 === edges.length, mask: role === "client" }));
  }
  return out;
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

describe("message assembly: payload unmasked while it is copied, into memory that was not cleared", () => {
  it("property: any size, fragmentation and read boundaries, both roles, each kernel: messages intact, the room past them zero", () => {
    fc.assert(
      fc.property(
        fc.constantFrom<Role>("client", "server"),
        fc.constantFrom<"simd" | "js">("simd", "js"),
        fc.array(
          fc.tuple(fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 4000, max: 140_000 })), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 })),
          { minLength: 1, maxLength: 4 },
        ),
        fc.array(fc.integer({ min: 1, max: 300_000 }), { maxLength: 10 }),
        (sender, kernel, shapes, cuts) => {
          setUnmaskKernel(kernel);
          const payloads = shapes.map(([length], i) => bytes(length, i + 1));
          const wire = concatBytes(payloads.flatMap((p, i) => frames(p, sender, shapes[i]![1])));
          const r = receiver(sender === "client" ? "server" : "client", dirty);
          const reads = chunkAt(wire, cuts);
          const readBuffers = new Set(reads.map((c) => c.buffer));
          for (const c of reads) r.state.receive(c);
          expect(r.violations).toEqual([]);
          expect(r.messages.length).toBe(payloads.length);
          r.messages.forEach((m, i) => {
            expect(firstDifference(m, payloads[i]!), `message ${i}`).toBe(-1);
            if (readBuffers.has(m.buffer)) return; // handed out as a view of the read it lay whole in
            // nothing of what the allocator's memory held before is reachable through the message's buffer
            const after = new Uint8Array(m.buffer, m.byteOffset + m.length);
            expect(after.every((b) => b === 0), `room past message ${i}`).toBe(true);
          });
        },
      ),
      { numRuns: 120 },
    );
  });

  it("a masked frame split at every byte (in two and three reads) assembles to its payload", () => {
    for (const length of [1, 7, 64, 130]) {
      const payload = bytes(length, length);
      const wire = frame({ opcode: Opcode.Binary, payload, mask: RFC_MASK });
      for (let cut = 1; cut < wire.length; cut++) {
        for (let cut2 = cut; cut2 <= wire.length; cut2 += 3) {
          const r = receiver("server", dirty);
          for (const c of chunkAt(wire, [cut, cut2])) r.state.receive(c);
          expect(Array.from(r.messages[0] ?? []), `${length} B, cuts ${cut},${cut2}`).toEqual(Array.from(payload));
        }
      }
    }
  });

  it("a masked message over several reads is unmasked into the message buffer: the reads stay as received", () => {
    const payload = bytes(100_000, 3);
    const wire = encodeFrame(Opcode.Binary, payload, { mask: true });
    const reads = chunkAt(wire, [5, 30_000, 65_536, 99_999]);
    const received = reads.map((c) => c.slice());
    const r = receiver("server");
    for (const c of reads) r.state.receive(c);
    expect(firstDifference(r.messages[0]!, payload)).toBe(-1);
    reads.forEach((c, i) => expect(firstDifference(c, received[i]!), `read ${i}`).toBe(-1));
  });

  it("a frame whole in one read is still handed out as a view of it, unmasked in place (no copy, no allocation)", () => {
    const payload = bytes(5000, 9);
    const wire = encodeFrame(Opcode.Binary, payload, { mask: true });
    let allocations = 0;
    const r = receiver("server", (n) => (allocations++, new Uint8Array(n)));
    r.state.receive(wire);
    expect(r.messages[0]!.buffer).toBe(wire.buffer);
    expect(firstDifference(r.messages[0]!, payload)).toBe(-1);
    expect(allocations).toBe(0);
  });

  it("allocateMessage is where messages assembled from several reads or fragments are allocated", () => {
    const sizes: number[] = [];
    const r = receiver("server", (n) => (sizes.push(n), dirty(n)));
    const payload = bytes(70_000, 4);
    const wire = encodeFrame(Opcode.Binary, payload, { mask: true });
    for (const c of chunkAt(wire, [65_536])) r.state.receive(c);
    expect(sizes).toEqual([70_000]); // the frame's whole payload, reserved at its first bytes
    expect(firstDifference(r.messages[0]!, payload)).toBe(-1);
  });
});

describe("MessageBuffer", () => {
  it("take() clears the room past the message when the allocator's memory may hold old bytes", () => {
    const b = new MessageBuffer(undefined, dirty);
    expect(b.reserve(10, 1 << 20)).toBe(true);
    b.append(Uint8Array.of(1, 2, 3));
    const m = b.take();
    expect(Array.from(m)).toEqual([1, 2, 3]);
    expect(new Uint8Array(m.buffer).subarray(3).every((x) => x === 0)).toBe(true);
  });

  it("appendMasked unmasks at the given phase of the masking sequence and returns the bytes appended", () => {
    for (const size of [3, 100, 5000, 70_000]) {
      for (let phase = 0; phase < 4; phase++) {
        const plain = bytes(size, phase);
        const masked = plain.map((x, i) => x ^ RFC_MASK[(phase + i) & 3]!);
        const b = new MessageBuffer(undefined, dirty);
        b.reserve(size + 1, 1 << 20);
        b.append(Uint8Array.of(42));
        const view = b.appendMasked(masked, RFC_MASK, phase);
        expect(firstDifference(view, plain), `${size} B, phase ${phase}`).toBe(-1);
        const m = b.take();
        expect(m[0]).toBe(42);
        expect(firstDifference(m.subarray(1), plain)).toBe(-1);
      }
    }
  });
});

describe("FrameParser: masked payload for a sink that unmasks it itself", () => {
  it("maskedPayload gets the bytes as received with the key and each piece's phase; payload is not called", () => {
    const payload = bytes(50, 1);
    const wire = frame({ opcode: Opcode.Binary, payload, mask: RFC_MASK });
    for (let cut = 1; cut < wire.length; cut++) {
      const out: number[] = [];
      let plainCalls = 0;
      let header: FrameHeader | null = null;
      const parser = new FrameParser({
        header: (h) => void (header = h),
        payload: () => void plainCalls++,
        maskedPayload: (b, mask, phase, final) => {
          expect(Array.from(mask!)).toEqual(Array.from(RFC_MASK));
          for (let i = 0; i < b.length; i++) out.push(b[i]! ^ mask![(phase + i) & 3]!);
          if (final) expect(out.length).toBe(payload.length);
        },
        error: (m) => {
          throw new Error(m);
        },
      });
      for (const c of chunkAt(wire, [cut])) parser.push(c);
      expect(header).not.toBeNull();
      expect(plainCalls).toBe(0);
      expect(out, `cut ${cut}`).toEqual(Array.from(payload));
    }
  });
});
