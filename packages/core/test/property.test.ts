import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Role } from "../src/index.ts";
import { encodeFrame, Opcode } from "../src/protocol.ts";
import { chunkAt, decodeFrames, frame, Recorder, utf8 } from "./support/frames.ts";
import { concatBytes } from "./support/memory-stream.ts";
import { connectionPair } from "./support/peers.ts";

type Msg = { kind: "text"; text: string } | { kind: "binary"; data: Uint8Array };

const textArb = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 200 }),
  fc.string({ unit: "binary", maxLength: 300 }), // any code point, astral included
  fc.constantFrom("", "😀", "\uFEFF", "\u{10FFFF}", "a\u0000b", "é€😀".repeat(30)),
);
const smallBinary = fc.uint8Array({ maxLength: 300 });
const bigBinary = fc.integer({ min: 65530, max: 70000 }).map((n) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff));

const messageArb = (withBig: boolean): fc.Arbitrary<Msg> =>
  fc.oneof(
    { weight: 4, arbitrary: textArb.map((text) => ({ kind: "text" as const, text })) },
    { weight: 3, arbitrary: smallBinary.map((data) => ({ kind: "binary" as const, data })) },
    { weight: withBig ? 1 : 0, arbitrary: bigBinary.map((data) => ({ kind: "binary" as const, data })) },
  );

/** Serializes a message as 1..n frames (split points anywhere, even inside a UTF-8 sequence). */
function serialize(m: Msg, role: Role, splits: number[]): Uint8Array[] {
  const payload = m.kind === "text" ? utf8(m.text) : m.data;
  const points = [...new Set(splits.map((s) => Math.floor(s * payload.length)))].filter((p) => p > 0 && p < payload.length).sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let last = 0;
  for (const p of points) {
    pieces.push(payload.subarray(last, p));
    last = p;
  }
  pieces.push(payload.subarray(last));
  const mask = role === "client" ? true : undefined;
  return pieces.map((piece, i) =>
    encodeFrame(i === 0 ? (m.kind === "text" ? Opcode.Text : Opcode.Binary) : Opcode.Continuation, piece, {
      fin: i === pieces.length - 1,
      mask,
    }),
  );
}

function expectedEvent(m: Msg): unknown {
  return m.kind === "text" ? ["text", m.text] : ["binary", Array.from(m.data)];
}

const sender = fc.constantFrom<Role>("client", "server");

describe("property: serializer → parser round trip with random chunking", () => {
  it("small messages, any fragmentation, any chunking, both roles", () => {
    fc.assert(
      fc.property(
        sender,
        fc.array(fc.tuple(messageArb(false), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 })), { minLength: 1, maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 2000 }), { maxLength: 12 }),
        fc.boolean(),
        (role, messages, cuts, pingBetween) => {
          const frames = messages.flatMap(([m, splits]) => {
            const fs = serialize(m, role, splits);
            // a ping between the first and second fragment of a message
            if (pingBetween && fs.length > 1) fs.splice(1, 0, encodeFrame(Opcode.Ping, utf8("p"), { mask: role === "client" ? true : undefined }));
            return fs;
          });
          const wire = concatBytes(frames);
          const receiver = new Recorder({ role: role === "client" ? "server" : "client" });
          receiver.feed(chunkAt(wire, cuts));
          const data = receiver.delivered.filter((e) => e[0] === "text" || e[0] === "binary");
          expect(receiver.violations).toEqual([]);
          expect(data).toEqual(messages.map(([m]) => expectedEvent(m)));
          expect(receiver.state.done).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("messages larger than 65535 bytes, both roles", () => {
    fc.assert(
      fc.property(sender, messageArb(true), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 3 }), fc.array(fc.integer({ min: 1, max: 80000 }), { maxLength: 6 }), (role, m, splits, cuts) => {
        const wire = concatBytes(serialize(m, role, splits));
        const receiver = new Recorder({ role: role === "client" ? "server" : "client" });
        receiver.feed(chunkAt(wire, cuts));
        expect(receiver.delivered).toEqual([expectedEvent(m)]);
      }),
      { numRuns: 25 },
    );
  });

  it("the independent decoder reads what encodeFrame writes (header fields, masking)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(0, 1, 2, 8, 9, 10),
        fc.uint8Array({ maxLength: 70000 }),
        fc.boolean(),
        fc.option(fc.uint8Array({ minLength: 4, maxLength: 4 }), { nil: undefined }),
        (opcode, payload, fin, mask) => {
          const before = payload.slice();
          const f = encodeFrame(opcode, payload, { fin, mask });
          expect(payload).toEqual(before);
          const [d, ...rest] = decodeFrames(f);
          expect(rest).toEqual([]);
          expect([d!.fin, d!.opcode, d!.masked, d!.rsv]).toEqual([fin, opcode, mask !== undefined, 0]);
          expect(d!.payload).toEqual(payload);
          if (mask) expect(d!.mask).toEqual(mask);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("property: arbitrary input never throws out of ProtocolState", () => {
  function check(role: Role, wire: Uint8Array, cuts: number[]): void {
    const r = new Recorder({ role, maxMessageSize: 4096 });
    expect(() => r.feed(chunkAt(wire, cuts))).not.toThrow();
    if (r.state.done) {
      // it ended in a close: the last thing written is a close frame, then `end`
      expect(r.events[r.events.length - 1]).toEqual(["end"]);
      const written = decodeFrames(r.written);
      expect(written[written.length - 1]!.opcode).toBe(8);
      expect(written.filter((f) => f.opcode === 8).length).toBe(1);
      expect(r.violations.length).toBeLessThanOrEqual(1);
    } else {
      // otherwise it is waiting for more input and has not closed
      expect(r.events.some((e) => e[0] === "end")).toBe(false);
      expect(decodeFrames(r.written).every((f) => f.opcode === 0xa)).toBe(true);
    }
  }

  it("random bytes", () => {
    fc.assert(
      fc.property(sender, fc.uint8Array({ maxLength: 600 }), fc.array(fc.integer({ min: 1, max: 600 }), { maxLength: 10 }), (role, wire, cuts) => {
        check(role, wire, cuts);
      }),
      { numRuns: 500 },
    );
  });

  it("random sequences of plausible frames (random opcodes, flags, masks, lengths, payloads)", () => {
    const frameArb = fc.record({
      fin: fc.boolean(),
      rsv: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 7 }) }),
      opcode: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(0, 1, 2, 8, 9, 10) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }) }),
      payload: fc.oneof(
        fc.uint8Array({ maxLength: 140 }),
        fc.string({ unit: "binary", maxLength: 40 }).map(utf8),
        fc.integer({ min: 1000, max: 1006 }).map((c) => Uint8Array.from([c >> 8, c & 0xff])),
      ),
      masked: fc.oneof({ weight: 6, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    });
    fc.assert(
      fc.property(sender, fc.array(frameArb, { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 800 }), { maxLength: 8 }), (role, frames, cuts) => {
        const wire = concatBytes(
          frames.map((f) => frame({ fin: f.fin, rsv: f.rsv, opcode: f.opcode, payload: f.payload, mask: (role === "server") === f.masked ? Uint8Array.from([1, 2, 3, 4]) : null })),
        );
        check(role, wire, cuts);
      }),
      { numRuns: 500 },
    );
  });
});

describe("property: Connection pair over the memory stream", () => {
  it("messages sent whole or streamed in pieces arrive in order, intact, in both directions", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(sender, messageArb(false), fc.boolean(), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 3 })), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 16, max: 4096 }),
        async (ops, highWaterMark) => {
          const { server, client } = connectionPair({}, {}, { highWaterMark });
          server.start();
          client.start();
          const sends: Promise<boolean>[] = [];
          for (const [from, m, streamed, splits] of ops) {
            const conn = from === "client" ? client : server;
            const payload = m.kind === "text" ? utf8(m.text) : m.data;
            if (!streamed) {
              sends.push(conn.send(m.kind === "text" ? m.text : m.data));
              continue;
            }
            const points = [...new Set(splits.map((x) => Math.floor(x * payload.length)))].sort((a, b) => a - b);
            const w = conn.stream(m.kind);
            let last = 0;
            for (const p of points) {
              sends.push(w.write(payload.slice(last, p)));
              last = p;
            }
            sends.push(w.end(payload.slice(last)));
          }
          expect((await Promise.all(sends)).every(Boolean)).toBe(true);
          for (const [from, m] of ops) {
            const receiver = from === "client" ? server : client;
            const got = await receiver.read({ timeout: 1000 });
            expect(got).toEqual(m.kind === "text" ? m.text : m.data);
          }
          await client.close();
          expect((await server.closed).code).toBe(1000);
        },
      ),
      { numRuns: 40 },
    );
  });
});
