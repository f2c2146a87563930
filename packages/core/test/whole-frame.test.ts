/**
 * A small data frame whole in one read (FrameSink.wholeFrame, ProtocolState.receiveWholeFrame): unmasked in place,
 * ASCII text decoded from offsets by the runtime's `asciiText` (no view per message), everything else exactly as
 * the general path delivers it. Counts calls, never times.
 */
import { describe, expect, it } from "vitest";
import { FrameParser, Opcode, type FrameHeader } from "../src/protocol.ts";
import { concatBytes } from "./support/memory-stream.ts";
import { frame, Recorder, RFC_MASK, utf8 } from "./support/frames.ts";

/** A Recorder whose state decodes ASCII through a counted `asciiText`. */
function recorder(): { rec: Recorder; calls: Array<[number, number]> } {
  const calls: Array<[number, number]> = [];
  const asciiText = (bytes: Uint8Array, start: number, end: number) => {
    calls.push([start, end]);
    let s = "";
    for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]!);
    return s;
  };
  return { rec: new Recorder({ role: "server", asciiText }), calls };
}

const masked = (opcode: number, payload: Uint8Array | string, mask: Uint8Array | readonly number[] = RFC_MASK) => frame({ opcode, payload, mask });

describe("a small frame whole in one read", () => {
  it("ASCII text goes through asciiText, once per message, from offsets into the read", () => {
    const { rec, calls } = recorder();
    const a = masked(Opcode.Text, "hello");
    const b = masked(Opcode.Text, "x".repeat(32), [1, 2, 3, 4]);
    const c = masked(Opcode.Text, "abc", [0xff, 0x80, 0x7f, 0x01]);
    rec.feed([concatBytes([a, b, c])]);
    expect(rec.delivered).toEqual([
      ["text", "hello"],
      ["text", "x".repeat(32)],
      ["text", "abc"],
    ]);
    // offsets of the payloads in the one read: 6-byte headers (2 + the masking key)
    expect(calls).toEqual([
      [6, 11],
      [17, 49],
      [55, 58],
    ]);
    expect(rec.violations).toEqual([]);
  });

  it("non-ASCII UTF-8 is validated and decoded as before; asciiText is not asked", () => {
    const { rec, calls } = recorder();
    rec.feed([concatBytes([masked(Opcode.Text, "héllo wörld ✓"), masked(Opcode.Text, "😀")])]);
    expect(rec.delivered).toEqual([
      ["text", "héllo wörld ✓"],
      ["text", "😀"],
    ]);
    expect(calls).toEqual([]);
  });

  it("invalid UTF-8 whole in one read fails the connection with 1007", () => {
    const { rec, calls } = recorder();
    rec.feed([concatBytes([masked(Opcode.Text, new Uint8Array([0x61, 0xc0, 0x80])), masked(Opcode.Text, "after")])]);
    expect(rec.violations.map(([code]) => code)).toEqual([1007]);
    expect(rec.delivered.filter((e) => e[0] === "text")).toEqual([]);
    expect(calls).toEqual([]);
  });

  it("binary, empty, split and fragmented messages and control frames arrive as before", () => {
    const { rec, calls } = recorder();
    const bin = Uint8Array.from({ length: 200 }, (_, i) => (i * 7) & 0xff);
    const split = masked(Opcode.Text, "split across reads");
    const read1 = concatBytes([
      masked(Opcode.Binary, bin),
      masked(Opcode.Text, ""),
      frame({ opcode: Opcode.Text, payload: "frag", fin: false, mask: RFC_MASK }),
      frame({ opcode: Opcode.Continuation, payload: "mented", mask: RFC_MASK }),
      masked(Opcode.Ping, "p"),
      split.subarray(0, 10),
    ]);
    rec.feed([read1, split.subarray(10)]);
    expect(rec.delivered.filter((e) => e[0] !== "write")).toEqual([
      ["binary", Array.from(bin)],
      ["text", ""],
      ["text", "fragmented"],
      ["ping", Array.from(utf8("p"))],
      ["text", "split across reads"],
    ]);
    // only frames whole in one read and small enough: none of these is ASCII text whole in its read but the ping
    // (a control frame, declined) and the split one (not whole)
    expect(calls).toEqual([]);
  });

  it("a text larger than the whole-frame limit (256 bytes) takes the general path", () => {
    const { rec, calls } = recorder();
    const text = "y".repeat(300);
    rec.feed([masked(Opcode.Text, text)]);
    expect(rec.delivered).toEqual([["text", text]]);
    expect(calls).toEqual([]);
  });

  it("without asciiText (the default), ASCII text is decoded by the strict decoder", () => {
    const rec = new Recorder({ role: "server" });
    rec.feed([concatBytes([masked(Opcode.Text, "plain"), masked(Opcode.Text, "ünï")])]);
    expect(rec.delivered).toEqual([
      ["text", "plain"],
      ["text", "ünï"],
    ]);
  });

  it("the parser hands over a copy of the masking key, not a view of the read", () => {
    const headers: FrameHeader[] = [];
    const read = masked(Opcode.Text, "hi");
    new FrameParser({ header: (h) => void headers.push(h), payload() {}, error() {} }).push(read);
    expect(Array.from(headers[0]!.mask!)).toEqual(Array.from(RFC_MASK));
    expect(headers[0]!.mask!.buffer).not.toBe(read.buffer);
  });
});
