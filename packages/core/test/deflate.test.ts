import { beforeAll, describe, expect, it } from "vitest";
import { PerMessageDeflate, type DeflateAgreement } from "../src/protocol.ts";
import { zlibCodec, type ZlibModule } from "../src/adapter.ts";

// node:zlib, as the adapters hand it in (the core itself imports no runtime module; vitest runs on Node)
const zlibModule = "node:zlib";
let codec: ReturnType<typeof zlibCodec>;
beforeAll(async () => {
  codec = zlibCodec((await import(zlibModule)) as ZlibModule);
});

const takeover: DeflateAgreement = { sendWindowBits: 15, receiveWindowBits: 15, sendNoContextTakeover: false, receiveNoContextTakeover: false };

/** Reproducible text with little repetition inside one message, so that repeats across messages show. */
function text(size: number, seed: number): Uint8Array {
  let x = seed;
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = 97 + ((x >>> 16) % 26);
  }
  return out;
}

describe("permessage-deflate compressor history (historySize)", () => {
  it("keeps the last 4 KiB of sent data by default, while the inflater keeps the whole agreed window", () => {
    const sender = new PerMessageDeflate(takeover, codec, { threshold: 0 });
    const receiver = new PerMessageDeflate(takeover, codec);
    for (let k = 0; k < 6; k++) {
      const m = text(10_000, k);
      expect(receiver.decompress(sender.compress(m), 1 << 20)).toEqual(m);
    }
    expect(sender.retainedBytes).toBe(4096);
    expect(receiver.retainedBytes).toBe(32768);
  });

  it("refers back into the history: a repeat within historySize compresses to a few bytes, one beyond it does not", () => {
    const sender = new PerMessageDeflate(takeover, codec, { threshold: 0, historySize: 2048 });
    const receiver = new PerMessageDeflate(takeover, codec);
    const a = text(1500, 1);
    const b = text(3000, 2);
    const send = (m: Uint8Array): number => {
      const payload = sender.compress(m);
      expect(receiver.decompress(payload, 1 << 20)).toEqual(m);
      return payload.length;
    };
    const first = send(a);
    expect(send(a)).toBeLessThan(first / 10); // a is in the last 2048 bytes
    send(b); // pushes a out of the compressor's history (not out of the receiver's window)
    expect(send(a)).toBeGreaterThan(first / 2);
  });

  it("historySize 0 compresses each message on its own; a size beyond the window is capped to it", () => {
    const none = new PerMessageDeflate(takeover, codec, { threshold: 0, historySize: 0 });
    const receiver = new PerMessageDeflate(takeover, codec);
    const a = text(1000, 3);
    const first = none.compress(a);
    const again = none.compress(a);
    expect(again.length).toBe(first.length);
    expect(receiver.decompress(first, 1 << 20)).toEqual(a);
    expect(receiver.decompress(again, 1 << 20)).toEqual(a);
    expect(none.retainedBytes).toBe(0);
    const capped = new PerMessageDeflate({ ...takeover, sendWindowBits: 10 }, codec, { threshold: 0, historySize: 32768 });
    capped.compress(text(5000, 4));
    expect(capped.retainedBytes).toBe(1024);
    expect(() => new PerMessageDeflate(takeover, codec, { historySize: -1 })).toThrow(RangeError);
  });
});
