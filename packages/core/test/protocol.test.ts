import { describe, expect, it } from "vitest";
import { type Role } from "../src/index.ts";
import { Opcode, type ProtocolOptions } from "../src/protocol.ts";
import {
  bytes,
  cframe,
  chunkAt,
  closePayload,
  decodeFrames,
  expectedServerClose,
  feedings,
  frame,
  hex,
  Recorder,
  RFC_MASK,
  utf8,
  type Event,
  type RawFrame,
} from "./support/frames.ts";
import { concatBytes } from "./support/memory-stream.ts";

const HELLO = Array.from(utf8("Hello"));
const bin256 = Uint8Array.from({ length: 256 }, (_, i) => 255 - (i & 0xff));
const bin64k = Uint8Array.from({ length: 65536 }, (_, i) => (i * 5 + 1) & 0xff);

/** A frame as the given role's peer sends it: masked towards a server, unmasked towards a client. */
function peerFrame(role: Role, f: RawFrame): Uint8Array {
  return role === "server" ? frame({ ...f, mask: f.mask ?? RFC_MASK }) : frame({ ...f, mask: null });
}

/**
 * Feeds `input` whole and byte by byte; each time the connection must be failed with `code`: a violation
 * logged once, exactly one close frame written (with that code and the logged reason), then `end`.
 * Returns the reason given.
 */
function expectFailure(role: Role, input: Uint8Array, code: number, options: Partial<ProtocolOptions> = {}, before: Event[] = []): string {
  let reason = "";
  for (const { name, chunks } of feedings(input)) {
    const r = new Recorder({ role, ...options });
    r.feed(chunks);
    expect(r.violations.length, name).toBe(1);
    const [vcode, message] = r.violations[0]!;
    expect(vcode, `${name}: ${message}`).toBe(code);
    reason = message;
    expect(r.delivered, name).toEqual([...before, ["violation", code, message], ["end"]]);
    const closeWrites = r.writes.filter((w) => (w[0]! & 0x0f) === 0x8);
    expect(closeWrites.length, name).toBe(1);
    if (role === "server") {
      expect(Array.from(closeWrites[0]!), name).toEqual(expectedServerClose(code, message));
    } else {
      const [f] = decodeFrames(closeWrites[0]!);
      expect(f!.masked, name).toBe(true);
      expect([f!.fin, f!.opcode, Array.from(f!.payload)], name).toEqual([true, 8, Array.from(closePayload(code, message))]);
    }
    expect(r.state.done, name).toBe(true);
    // nothing more is read or written
    const events = r.events.length;
    r.state.receive(peerFrame(role, { opcode: 1, payload: "more" }));
    expect(r.events.length, name).toBe(events);
    expect(r.state.closeInfo(), name).toEqual({ code: 1006, reason: message, wasClean: false, failed: true });
  }
  return reason;
}

describe("ProtocolState: RFC 6455 §5.7 fixtures in both roles, whole and byte by byte", () => {
  const cases: Array<{ name: string; frames: RawFrame[]; events: Event[] }> = [
    { name: "single-frame text", frames: [{ opcode: 1, payload: "Hello" }], events: [["text", "Hello"]] },
    {
      name: "fragmented text",
      frames: [
        { opcode: 1, fin: false, payload: "Hel" },
        { opcode: 0, payload: "lo" },
      ],
      events: [["text", "Hello"]],
    },
    { name: "ping", frames: [{ opcode: 9, payload: "Hello" }], events: [["ping", HELLO]] },
    { name: "pong", frames: [{ opcode: 10, payload: "Hello" }], events: [["pong", HELLO]] },
    { name: "256-byte binary", frames: [{ opcode: 2, payload: bin256 }], events: [["binary", Array.from(bin256)]] },
    { name: "64 KiB binary", frames: [{ opcode: 2, payload: bin64k }], events: [["binary", Array.from(bin64k)]] },
  ];

  it("the client-role fixtures are the RFC's bytes", () => {
    expect(hex(peerFrame("client", cases[0]!.frames[0]!))).toBe("81 05 48 65 6c 6c 6f");
    expect(hex(peerFrame("server", cases[0]!.frames[0]!))).toBe("81 85 37 fa 21 3d 7f 9f 4d 51 58");
    expect(hex(peerFrame("server", cases[3]!.frames[0]!))).toBe("8a 85 37 fa 21 3d 7f 9f 4d 51 58");
    expect(hex(concatBytes(cases[1]!.frames.map((f) => peerFrame("client", f))))).toBe("01 03 48 65 6c 80 02 6c 6f");
    expect(hex(peerFrame("client", cases[4]!.frames[0]!).subarray(0, 4))).toBe("82 7e 01 00");
    expect(hex(peerFrame("client", cases[5]!.frames[0]!).subarray(0, 10))).toBe("82 7f 00 00 00 00 00 01 00 00");
  });

  for (const role of ["server", "client"] as const) {
    for (const c of cases) {
      it(`${role}: ${c.name}`, () => {
        const wire = concatBytes(c.frames.map((f) => peerFrame(role, f)));
        for (const { name, chunks } of feedings(wire)) {
          const r = new Recorder({ role });
          r.feed(chunks);
          expect(r.delivered, name).toEqual(c.events);
          if (c.name === "ping") {
            // the automatic pong carries the same payload, masked by a client and not by a server
            const out = decodeFrames(r.written);
            expect(out.map((f) => [f.fin, f.opcode, f.masked, Array.from(f.payload)]), name).toEqual([[true, 0xa, role === "client", HELLO]]);
            if (role === "server") expect(hex(r.written)).toBe("8a 05 48 65 6c 6c 6f");
          } else {
            expect(r.writes, name).toEqual([]);
          }
          expect(r.state.done).toBe(false);
        }
      });
    }
    it(`${role}: rejects the other role's masking with 1002`, () => {
      const wrong = (f: RawFrame) => (role === "server" ? frame({ ...f, mask: null }) : frame({ ...f, mask: RFC_MASK }));
      for (const c of cases) {
        const wire = concatBytes(c.frames.map(wrong));
        expectFailure(role, wire, 1002);
      }
    });
  }
});

describe("ProtocolState: protocol rules → close with the right code", () => {
  it("reserved opcodes 3–7 and 0xB–0xF → 1002", () => {
    for (const opcode of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
      expectFailure("server", cframe({ opcode, payload: "x" }), 1002);
      expectFailure("client", frame({ opcode, payload: "" }), 1002);
    }
  });

  it("RSV1, RSV2, RSV3 with no extension → 1002 (data and control frames)", () => {
    for (const rsv of [4, 2, 1, 7]) {
      for (const opcode of [1, 2, 9]) {
        expectFailure("server", cframe({ opcode, rsv, payload: "ab" }), 1002);
      }
    }
  });

  it("control frame longer than 125 bytes → 1002, 125 accepted", () => {
    for (const opcode of [8, 9, 10]) {
      expectFailure("server", cframe({ opcode, payload: new Uint8Array(126) }), 1002);
    }
    const r = new Recorder({ role: "server" });
    r.feed([cframe({ opcode: 9, payload: new Uint8Array(125).fill(0x61) })]);
    expect(r.delivered).toEqual([["ping", new Array(125).fill(0x61)]]);
    expect(Array.from(r.written.subarray(0, 2))).toEqual([0x8a, 125]);
    expect(r.written.length).toBe(127);
  });

  it("control frame with a 16-bit length field ≤ 125 → 1002 too", () => {
    expectFailure("server", cframe({ opcode: 9, len7: 126, extended: [0, 126], payload: new Uint8Array(0) }), 1002);
  });

  it("fragmented control frame → 1002", () => {
    for (const opcode of [8, 9, 10]) expectFailure("server", cframe({ opcode, fin: false, payload: "x" }), 1002);
  });

  it("continuation without a message to continue → 1002", () => {
    expectFailure("server", cframe({ opcode: 0, payload: "x" }), 1002);
    expectFailure("server", cframe({ opcode: 0, fin: false, payload: "x" }), 1002);
    // after a complete message, too
    expectFailure("server", concatBytes([cframe({ opcode: 1, payload: "a" }), cframe({ opcode: 0, payload: "b" })]), 1002, {}, [["text", "a"]]);
  });

  it("new data frame inside a fragmented message → 1002", () => {
    for (const opcode of [1, 2]) {
      expectFailure("server", concatBytes([cframe({ opcode: 1, fin: false, payload: "a" }), cframe({ opcode, payload: "b" })]), 1002);
    }
  });

  it("64-bit length with the most significant bit set → 1002", () => {
    expectFailure("server", frame({ opcode: 2, len7: 127, extended: [0x80, 0, 0, 0, 0, 0, 0, 1], mask: RFC_MASK }), 1002);
    expectFailure("client", frame({ opcode: 2, len7: 127, extended: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff] }), 1002);
  });

  it("maxMessageSize across fragments → 1009", () => {
    const wire = concatBytes([cframe({ opcode: 2, fin: false, payload: new Uint8Array(6) }), cframe({ opcode: 0, payload: new Uint8Array(5) })]);
    expectFailure("server", wire, 1009, { maxMessageSize: 10 });
    // exactly at the limit is fine
    const ok = concatBytes([cframe({ opcode: 2, fin: false, payload: new Uint8Array(6) }), cframe({ opcode: 0, payload: new Uint8Array(4) })]);
    const r = new Recorder({ role: "server", maxMessageSize: 10 }).feed([ok]);
    expect(r.delivered).toEqual([["binary", new Array(10).fill(0)]]);
    // a single frame over the limit
    expectFailure("server", cframe({ opcode: 1, payload: "x".repeat(11) }), 1009, { maxMessageSize: 10 });
  });

  it("maxFrameSize → 1009", () => {
    expectFailure("server", cframe({ opcode: 2, payload: new Uint8Array(6) }), 1009, { maxFrameSize: 5 });
    expectFailure("server", concatBytes([cframe({ opcode: 2, fin: false, payload: bytes(1) }), cframe({ opcode: 0, payload: new Uint8Array(6) })]), 1009, { maxFrameSize: 5 });
  });

  it("maxFragments → 1009", () => {
    const frames = (n: number) =>
      concatBytes(Array.from({ length: n }, (_, i) => cframe({ opcode: i === 0 ? 1 : 0, fin: i === n - 1, payload: "a" })));
    expectFailure("server", frames(4), 1009, { maxFragments: 3 });
    const r = new Recorder({ role: "server", maxFragments: 3 }).feed([frames(3)]);
    expect(r.delivered).toEqual([["text", "aaa"]]);
  });

  it("limits are checked at the header, before the payload arrives", () => {
    const r = new Recorder({ role: "server", maxMessageSize: 1000 });
    r.feed([cframe({ opcode: 2, payload: new Uint8Array(2000) }).subarray(0, 8).slice()]);
    expect(r.violations.map((v) => v[0])).toEqual([1009]);
  });
});

describe("ProtocolState: invalid UTF-8 → 1007, failing fast", () => {
  it("single frame", () => {
    expectFailure("server", cframe({ opcode: 1, payload: bytes(0x48, 0xed, 0xa0, 0x80, 0x49) }), 1007);
    expectFailure("client", frame({ opcode: 1, payload: bytes(0xc0, 0xaf) }), 1007);
  });

  it("single frame ending inside a sequence", () => {
    expectFailure("server", cframe({ opcode: 1, payload: bytes(0x61, 0xe2, 0x82) }), 1007);
  });

  it("across fragments (the sequence is split by the frame boundary)", () => {
    const wire = concatBytes([cframe({ opcode: 1, fin: false, payload: bytes(0x61, 0xf4) }), cframe({ opcode: 0, payload: bytes(0x90, 0x80, 0x80) })]);
    expectFailure("server", wire, 1007);
  });

  it("text ending mid-sequence at the final fragment", () => {
    const wire = concatBytes([
      cframe({ opcode: 1, fin: false, payload: bytes(0x61, 0xf0, 0x9f) }),
      cframe({ opcode: 0, fin: false, payload: bytes(0x98) }),
      cframe({ opcode: 0, payload: bytes() }),
    ]);
    expectFailure("server", wire, 1007);
  });

  it("fail-fast inside one frame: the close is written on the invalid byte", () => {
    const payload = concatBytes([utf8("Hello"), bytes(0xed, 0xa0, 0x80), utf8("world, and much more text after it")]);
    for (const role of ["server", "client"] as const) {
      const wire = peerFrame(role, { opcode: 1, payload });
      const headerLength = role === "server" ? 6 : 2;
      const invalidAt = headerLength + 5 + 1; // A0 after ED
      const r = new Recorder({ role });
      let closedAt = -1;
      for (let i = 0; i < wire.length; i++) {
        r.state.receive(wire.slice(i, i + 1));
        if (closedAt < 0 && r.writes.length > 0) closedAt = i;
      }
      expect(closedAt, role).toBe(invalidAt);
      expect(r.violations.map((v) => v[0])).toEqual([1007]);
    }
  });

  it("fail-fast across fragments: the close is written before the rest of the message arrives", () => {
    const first = cframe({ opcode: 1, fin: false, payload: bytes(0x61, 0x62, 0xff, 0x63) });
    const r = new Recorder({ role: "server" });
    r.feed([first]);
    expect(Array.from(r.written)).toEqual(expectedServerClose(1007, r.violations[0]![1]));
    // and byte by byte, on the byte itself
    const s = new Recorder({ role: "server" });
    const wire = concatBytes([cframe({ opcode: 1, fin: false, payload: "abc" }), cframe({ opcode: 0, fin: false, payload: bytes(0x64, 0xc2, 0x41, 0x42) })]);
    let closedAt = -1;
    for (let i = 0; i < wire.length; i++) {
      s.state.receive(wire.slice(i, i + 1));
      if (closedAt < 0 && s.writes.length > 0) closedAt = i;
    }
    expect(closedAt).toBe(9 + 6 + 2); // first frame (6 + 3), second header (6), then d, C2, and A (the offending byte)
  });

  it("valid multi-byte text split across fragments and chunks is assembled", () => {
    const text = "aé€😀\uFEFFz";
    const b = utf8(text);
    for (let cut = 1; cut < b.length; cut++) {
      const wire = concatBytes([cframe({ opcode: 1, fin: false, payload: b.slice(0, cut) }), cframe({ opcode: 0, payload: b.slice(cut) })]);
      for (const { name, chunks } of feedings(wire)) {
        const r = new Recorder({ role: "server" }).feed(chunks);
        expect(r.delivered, `${cut} ${name}`).toEqual([["text", text]]);
      }
    }
  });

  it("a leading U+FEFF is kept in the message", () => {
    const r = new Recorder({ role: "client" }).feed([frame({ opcode: 1, payload: bytes(0xef, 0xbb, 0xbf, 0x41) })]);
    expect(r.delivered).toEqual([["text", "\uFEFFA"]]);
  });
});

describe("ProtocolState: control frames", () => {
  it("answers a ping with a pong carrying the same payload, and surfaces both pings and pongs", () => {
    for (const payload of [bytes(), utf8("Hello"), new Uint8Array(125).fill(0xfe)]) {
      const r = new Recorder({ role: "server" }).feed([cframe({ opcode: 9, payload }), cframe({ opcode: 10, payload: "p" })]);
      expect(Array.from(r.written)).toEqual(Array.from(frame({ opcode: 10, payload })));
      expect(r.delivered).toEqual([["ping", Array.from(payload)], ["pong", [0x70]]]);
    }
  });

  it("control frames interleaved in a fragmented message; the message is still assembled", () => {
    const wire = concatBytes([
      cframe({ opcode: 1, fin: false, payload: "Hel" }),
      cframe({ opcode: 9, payload: "p1" }),
      cframe({ opcode: 0, fin: false, payload: "l" }),
      cframe({ opcode: 10, payload: "p2" }),
      cframe({ opcode: 9, payload: "" }),
      cframe({ opcode: 0, payload: "o" }),
    ]);
    for (const { name, chunks } of feedings(wire)) {
      const r = new Recorder({ role: "server" }).feed(chunks);
      expect(r.delivered, name).toEqual([["ping", [0x70, 0x31]], ["pong", [0x70, 0x32]], ["ping", []], ["text", "Hello"]]);
      expect(hex(r.written), name).toBe(hex(concatBytes([frame({ opcode: 10, payload: "p1" }), frame({ opcode: 10, payload: "" })])));
    }
  });

  it("a close frame in the middle of a fragmented message ends the connection", () => {
    const wire = concatBytes([cframe({ opcode: 2, fin: false, payload: "ab" }), cframe({ opcode: 8, payload: closePayload(1000) })]);
    const r = new Recorder({ role: "server" }).feed([wire]);
    expect(r.delivered).toEqual([["closeReceived", 1000, ""], ["end"]]);
    expect(hex(r.written)).toBe("88 02 03 e8");
  });
});

describe("ProtocolState: close handshake", () => {
  it("close payload of length 1 → 1002", () => {
    expectFailure("server", cframe({ opcode: 8, payload: bytes(0x03) }), 1002);
  });

  const valid = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999];
  it.each(valid)("valid code %i is echoed byte-exact and reported", (code) => {
    for (const { name, chunks } of feedings(cframe({ opcode: 8, payload: closePayload(code, "bye ✓") }))) {
      const r = new Recorder({ role: "server" }).feed(chunks);
      expect(hex(r.written), name).toBe(hex(bytes(0x88, 0x02, code >> 8, code & 0xff)));
      expect(r.delivered, name).toEqual([["closeReceived", code, "bye ✓"], ["end"]]);
      expect(r.state.closeInfo()).toEqual({ code, reason: "bye ✓", wasClean: true });
      expect(r.violations).toEqual([]);
    }
    // a client echoes it masked
    const c = new Recorder({ role: "client" }).feed([frame({ opcode: 8, payload: closePayload(code) })]);
    const [f] = decodeFrames(c.written);
    expect([f!.masked, f!.opcode, Array.from(f!.payload)]).toEqual([true, 8, [code >> 8, code & 0xff]]);
  });

  const invalid = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535];
  it.each(invalid)("invalid code %i → 1002", (code) => {
    expectFailure("server", cframe({ opcode: 8, payload: closePayload(code) }), 1002);
  });

  it("invalid UTF-8 in the close reason → 1007", () => {
    expectFailure("server", cframe({ opcode: 8, payload: concatBytes([closePayload(1000), bytes(0xce, 0xba, 0xed, 0xa0, 0x80)]) }), 1007);
    expectFailure("server", cframe({ opcode: 8, payload: concatBytes([closePayload(1000), bytes(0xe2, 0x82)]) }), 1007);
  });

  it("an empty close is answered with an empty close and reported as 1005", () => {
    for (const { name, chunks } of feedings(cframe({ opcode: 8, payload: bytes() }))) {
      const r = new Recorder({ role: "server" }).feed(chunks);
      expect(hex(r.written), name).toBe("88 00");
      expect(r.delivered, name).toEqual([["closeReceived", 1005, ""], ["end"]]);
      expect(r.state.closeInfo()).toEqual({ code: 1005, reason: "", wasClean: true });
    }
  });

  it("after sending close, data is ignored (no pong either) until the peer's close; then the stream ends", () => {
    const r = new Recorder({ role: "server" });
    r.state.close(1000, "bye");
    expect(hex(r.written)).toBe("88 05 03 e8 62 79 65");
    expect(r.delivered).toEqual([["closeSent", 1000, "bye"]]);
    expect(r.state.closeSent).toBe(true);
    expect(() => r.state.sendText("late")).toThrow();
    r.feed([
      cframe({ opcode: 1, payload: "ignored" }),
      cframe({ opcode: 2, fin: false, payload: "x" }),
      cframe({ opcode: 9, payload: "pi" }),
      cframe({ opcode: 0, payload: "y" }),
      cframe({ opcode: 1, payload: bytes(0xff) }), // not even validated
    ]);
    expect(r.delivered).toEqual([["closeSent", 1000, "bye"], ["ping", [0x70, 0x69]]]);
    expect(r.writes.length).toBe(1);
    expect(r.state.done).toBe(false);
    r.feed([cframe({ opcode: 8, payload: closePayload(1001, "ok") })]);
    expect(r.delivered.slice(2)).toEqual([["closeReceived", 1001, "ok"], ["end"]]);
    expect(r.writes.length).toBe(1); // no second close frame
    expect(r.state.done).toBe(true);
    expect(r.state.closeInfo()).toEqual({ code: 1000, reason: "bye", wasClean: true });
  });

  it("close() with no code sends an empty close; a close() reason needs a code and must fit", () => {
    const r = new Recorder({ role: "server" });
    expect(() => r.state.close(1005)).toThrow(RangeError);
    expect(() => r.state.close(1000, "x".repeat(124))).toThrow(RangeError);
    expect(() => r.state.close(null, "reason")).toThrow(RangeError);
    expect(r.writes).toEqual([]);
    r.state.close(null);
    expect(hex(r.written)).toBe("88 00");
    r.state.close(1000);
    expect(r.writes.length).toBe(1);
  });

  it("a client's close frame is masked", () => {
    const r = new Recorder({ role: "client" });
    r.state.close(4000, "é");
    const [f] = decodeFrames(r.written);
    expect([f!.fin, f!.opcode, f!.masked, Array.from(f!.payload)]).toEqual([true, 8, true, [0x0f, 0xa0, 0xc3, 0xa9]]);
  });

  it("nothing after the peer's close frame is parsed", () => {
    const r = new Recorder({ role: "server" }).feed([
      concatBytes([cframe({ opcode: 8, payload: closePayload(1000) }), cframe({ opcode: 1, payload: "after" }), bytes(0x00, 0x00)]),
    ]);
    expect(r.delivered).toEqual([["closeReceived", 1000, ""], ["end"]]);
    expect(r.violations).toEqual([]);
  });

  it("reports 1006 when no close frame was exchanged", () => {
    const r = new Recorder({ role: "server" });
    expect(r.state.closeInfo()).toEqual({ code: 1006, reason: "connection lost", wasClean: false });
    r.state.close(1000);
    expect(r.state.closeInfo().code).toBe(1006);
    expect(r.state.closeInfo().wasClean).toBe(false);
  });
});

describe("ProtocolState: streaming receive", () => {
  it("delivers chunks with fin as they arrive; text is validated; maxMessageSize does not apply", () => {
    const wire = concatBytes([
      cframe({ opcode: 1, fin: false, payload: bytes(0x61, 0xe2) }),
      cframe({ opcode: 0, fin: false, payload: bytes(0x82, 0xac) }),
      cframe({ opcode: 0, payload: bytes(0x62) }),
      cframe({ opcode: 2, payload: bytes(1, 2, 3) }),
    ]);
    const r = new Recorder({ role: "server", streaming: true, maxMessageSize: 2, maxFrameSize: 100 }).feed([wire]);
    expect(r.delivered).toEqual([
      ["fragment", [0x61, 0xe2], true, false],
      ["fragment", [0x82, 0xac], true, false],
      ["fragment", [0x62], true, true],
      ["fragment", [1, 2, 3], false, true],
    ]);
    const bad = new Recorder({ role: "server", streaming: true });
    bad.feed(chunkAt(cframe({ opcode: 1, payload: bytes(0x61, 0x62, 0xff, 0x63) }), [7, 8]));
    expect(bad.delivered[0]).toEqual(["fragment", [0x61], true, false]);
    expect(bad.violations.map((v) => v[0])).toEqual([1007]);
    expect(bad.count("fragment")).toBe(2); // "a", "b"; never the invalid byte
  });

  it("text ending mid-sequence in streaming mode → 1007", () => {
    const r = new Recorder({ role: "server", streaming: true }).feed([cframe({ opcode: 1, payload: bytes(0x61, 0xe2, 0x82) })]);
    expect(r.violations.map((v) => v[0])).toEqual([1007]);
    expect(r.count("fragment")).toBe(0);
  });
});

describe("ProtocolState: sending", () => {
  it("server frames are unmasked; client frames masked with a fresh mask; the caller's buffer is untouched", () => {
    const s = new Recorder({ role: "server" });
    s.state.sendText("Hello");
    s.state.sendBinary(bytes(1, 2));
    s.state.ping(utf8("Hello"));
    s.state.pong();
    s.state.writeFrame(Opcode.Text, utf8("Hel"), false);
    s.state.writeFrame(Opcode.Continuation, utf8("lo"), true);
    expect(hex(s.written)).toBe(hex(bytes(0x81, 5, ...HELLO, 0x82, 2, 1, 2, 0x89, 5, ...HELLO, 0x8a, 0, 0x01, 3, 0x48, 0x65, 0x6c, 0x80, 2, 0x6c, 0x6f)));

    const c = new Recorder({ role: "client" });
    const payload = utf8("payload payload payload");
    const before = payload.slice();
    c.state.sendBinary(payload);
    c.state.sendBinary(payload);
    expect(payload).toEqual(before);
    const frames = decodeFrames(c.written);
    expect(frames.map((f) => [f.opcode, f.masked, Array.from(f.payload)])).toEqual([
      [2, true, Array.from(payload)],
      [2, true, Array.from(payload)],
    ]);
    expect(hex(frames[0]!.mask!)).not.toBe(hex(frames[1]!.mask!));
  });

  it("ping/pong payloads over 125 bytes are refused", () => {
    const s = new Recorder({ role: "server" });
    expect(() => s.state.ping(new Uint8Array(126))).toThrow(RangeError);
    expect(() => s.state.pong(new Uint8Array(126))).toThrow(RangeError);
  });
});
