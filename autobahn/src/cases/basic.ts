// Families 1 (framing), 2 (ping/pong), 3 (reserved bits), 4 (opcodes), 5 (fragmentation).
import { CLOSE, type CaseDef } from "../case.ts";
import { OPCODE } from "../frame.ts";
import { expect, fill, msg, normalClose, peerFails, pong, s, secs, star } from "./util.ts";

const LENGTHS = [0, 125, 126, 127, 128, 65535, 65536];

function family1(): CaseDef[] {
  const out: CaseDef[] = [];
  for (const [sub, binary] of [[1, false], [2, true]] as const) {
    const kind = binary ? "binary" : "text";
    const make = (n: number) => (binary ? fill(0xfe, n) : star(n));
    LENGTHS.forEach((len, i) => {
      out.push({
        id: `1.${sub}.${i + 1}`,
        description: `A single unfragmented ${kind} frame with a payload of ${len} octets.`,
        expectation: `The ${kind} message comes back unchanged; then a clean close with 1000.`,
        onOpen(c) {
          const payload = make(len);
          expect(c, [msg(payload, binary)]);
          c.expectedClose = normalClose;
          c.p.sendFrame({ opcode: binary ? OPCODE.binary : OPCODE.text, payload });
          c.p.killAfter(secs(len >= 65535 ? 10 : 1));
        },
      });
    });
    out.push({
      id: `1.${sub}.8`,
      description: `A ${kind} frame with a payload of 65536 octets, written to the wire in pieces of 997 octets.`,
      expectation: `The ${kind} message comes back unchanged; then a clean close with 1000.`,
      onOpen(c) {
        const payload = make(65536);
        expect(c, [msg(payload, binary)]);
        c.expectedClose = normalClose;
        c.p.sendFrame({ opcode: binary ? OPCODE.binary : OPCODE.text, payload, chopsize: 997 });
        c.p.killAfter(secs(10));
      },
    });
  }
  return out;
}

function family2(): CaseDef[] {
  const pingCase = (id: string, description: string, payload: Uint8Array, chopsize?: number, wait = 1): CaseDef => ({
    id,
    description,
    expectation: "A pong carrying exactly the ping's payload; then a clean close with 1000.",
    onOpen(c) {
      expect(c, [pong(payload)]);
      c.expectedClose = normalClose;
      c.p.sendFrame({ opcode: OPCODE.ping, payload, chopsize });
      c.p.closeAfter(secs(wait));
    },
  });
  const unsolicited = (id: string, payload: Uint8Array): CaseDef => ({
    id,
    description: `An unsolicited pong (${payload.length ? "with" : "without"} payload).`,
    expectation: "Nothing comes back; the fuzzer closes with 1000 and the close is clean.",
    onOpen(c) {
      expect(c, []);
      c.expectedClose = normalClose;
      c.p.sendFrame({ opcode: OPCODE.pong, payload });
      c.p.closeAfter(secs(1));
    },
  });
  const tenPings = (id: string, chopsize?: number): CaseDef => ({
    id,
    description: `Ten pings with distinct payloads${chopsize ? ", written one octet at a time" : ""}.`,
    expectation: "A pong for every ping, in order, with matching payloads (not required by RFC 6455 but checked); clean close.",
    onOpen(c) {
      const events = [];
      for (let i = 0; i < 10; i++) {
        const payload = s(`payload-${i}`);
        events.push(pong(payload));
        c.p.sendFrame({ opcode: OPCODE.ping, payload, chopsize });
      }
      expect(c, events);
      c.expectedClose = normalClose;
      c.p.closeAfter(secs(3));
    },
  });
  return [
    pingCase("2.1", "A ping without payload.", new Uint8Array(0)),
    pingCase("2.2", "A ping with a short text payload.", s("Hello, world!")),
    pingCase("2.3", "A ping with a short binary payload that is not UTF-8.", new Uint8Array([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff])),
    pingCase("2.4", "A ping with 125 octets of payload (the maximum for a control frame).", fill(0xfe, 125)),
    {
      id: "2.5",
      description: "A ping with 126 octets of payload (one more than a control frame may carry).",
      expectation: "The peer fails the connection (1002) or drops TCP; no pong.",
      onOpen(c) {
        expect(c, []);
        c.expectedClose = peerFails(CLOSE.protocolError);
        c.p.sendFrame({ opcode: OPCODE.ping, payload: fill(0xfe, 126) });
        c.p.killAfter(secs(1));
      },
    },
    pingCase("2.6", "A ping with 125 octets of payload, written one octet at a time.", fill(0xfe, 125), 1, 2),
    unsolicited("2.7", new Uint8Array(0)),
    unsolicited("2.8", s("unsolicited pong payload")),
    {
      id: "2.9",
      description: "An unsolicited pong with payload, then a ping with payload.",
      expectation: "No reply to the pong; a pong echoing the ping's payload; clean close.",
      onOpen(c) {
        expect(c, [pong("ping payload")]);
        c.expectedClose = normalClose;
        c.p.sendFrame({ opcode: OPCODE.pong, payload: s("unsolicited pong payload") });
        c.p.sendFrame({ opcode: OPCODE.ping, payload: s("ping payload") });
        c.p.closeAfter(secs(1));
      },
    },
    tenPings("2.10"),
    tenPings("2.11", 1),
  ];
}

const HELLO = "Hello, world!";

function family3(): CaseDef[] {
  const afterEcho = (id: string, rsv: number, how: "plain" | "sync" | "octets"): CaseDef => ({
    id,
    description: `A valid text message, then the same message with RSV = ${rsv}, then a ping${
      how === "sync" ? " (each frame pushed out on its own)" : how === "octets" ? " (all written one octet at a time)" : ""
    }.`,
    expectation: "The first message is echoed, then the peer fails the connection (1002) on the RSV bits; no pong.",
    onOpen(c) {
      expect(c, [msg(HELLO)], []);
      c.expectedClose = peerFails();
      const sync = how === "sync";
      const chopsize = how === "octets" ? 1 : undefined;
      c.p.sendFrame({ opcode: OPCODE.text, payload: s(HELLO), sync, chopsize });
      c.p.sendFrame({ opcode: OPCODE.text, payload: s(HELLO), rsv, sync, chopsize });
      c.p.sendFrame({ opcode: OPCODE.ping, sync, chopsize });
      c.p.killAfter(secs(1));
    },
  });
  const single = (id: string, rsv: number, what: string, opcode: number, payload: Uint8Array): CaseDef => ({
    id,
    description: `A ${what} frame with RSV = ${rsv}.`,
    expectation: "The peer fails the connection (1002) or drops TCP; nothing is echoed.",
    onOpen(c) {
      expect(c, []);
      c.expectedClose = peerFails();
      c.p.sendFrame({ opcode, payload, rsv });
      c.p.killAfter(secs(1));
    },
  });
  return [
    single("3.1", 1, "small text", OPCODE.text, s(HELLO)),
    afterEcho("3.2", 2, "plain"),
    afterEcho("3.3", 3, "sync"),
    afterEcho("3.4", 4, "octets"),
    single("3.5", 5, "small binary", OPCODE.binary, new Uint8Array([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff])),
    single("3.6", 6, "ping", OPCODE.ping, s(HELLO)),
    single("3.7", 7, "close (code 1000)", OPCODE.close, new Uint8Array([0x03, 0xe8])),
  ];
}

function family4(): CaseDef[] {
  const out: CaseDef[] = [];
  const groups: Array<[number, number[], string]> = [
    [1, [3, 4, 5, 6, 7], "non-control"],
    [2, [11, 12, 13, 14, 15], "control"],
  ];
  for (const [sub, opcodes, kind] of groups) {
    opcodes.forEach((opcode, i) => {
      const withPayload = i !== 0 && i !== 2;
      const payload = withPayload ? s("reserved opcode payload") : new Uint8Array(0);
      const id = `4.${sub}.${i + 1}`;
      if (i < 2) {
        out.push({
          id,
          description: `A frame with the reserved ${kind} opcode ${opcode}${withPayload ? " and a payload" : ""}.`,
          expectation: "The peer fails the connection (1002) or drops TCP.",
          onOpen(c) {
            expect(c, []);
            c.expectedClose = peerFails();
            c.p.sendFrame({ opcode, payload });
            c.p.killAfter(secs(1));
          },
        });
      } else {
        out.push({
          id,
          description: `A valid text message, then a frame with the reserved ${kind} opcode ${opcode}${withPayload ? " and a payload" : ""}, then a ping.`,
          expectation: "The text message is echoed, then the peer fails the connection (1002); no pong.",
          onOpen(c) {
            expect(c, [msg(HELLO)], []);
            c.expectedClose = peerFails();
            c.p.sendFrame({ opcode: OPCODE.text, payload: s(HELLO) });
            c.p.sendFrame({ opcode, payload });
            c.p.sendFrame({ opcode: OPCODE.ping });
            c.p.killAfter(secs(1));
          },
        });
      }
    });
  }
  return out;
}

type How = "one" | "frames" | "octets";
const howOpts = (how: How) => ({ sync: how === "frames", chopsize: how === "octets" ? 1 : undefined });
const howText = (how: How) =>
  how === "one" ? "" : how === "frames" ? " Each frame is pushed out on its own." : " Everything is written one octet at a time.";

function family5(): CaseDef[] {
  const out: CaseDef[] = [];
  for (const [id, opcode, name] of [["5.1", OPCODE.ping, "ping"], ["5.2", OPCODE.pong, "pong"]] as const) {
    out.push({
      id,
      description: `A ${name} split into two fragments (control frames must not be fragmented).`,
      expectation: "The peer fails the connection (1002) or drops TCP.",
      onOpen(c) {
        expect(c, []);
        c.expectedClose = peerFails();
        c.p.sendFrame({ opcode, fin: false, payload: s("fragment1") });
        c.p.sendFrame({ opcode: OPCODE.continuation, fin: true, payload: s("fragment2") });
        c.p.killAfter(secs(1));
      },
    });
  }
  (["one", "frames", "octets"] as How[]).forEach((how, i) => {
    out.push({
      id: `5.${3 + i}`,
      description: `A text message in two fragments.${howText(how)}`,
      expectation: "The reassembled message is echoed; clean close.",
      onOpen(c) {
        expect(c, [msg("fragment1fragment2")]);
        c.expectedClose = normalClose;
        const o = howOpts(how);
        c.p.sendFrame({ opcode: OPCODE.text, fin: false, payload: s("fragment1"), ...o });
        c.p.sendFrame({ opcode: OPCODE.continuation, fin: true, payload: s("fragment2"), ...o });
        c.p.killAfter(secs(1));
      },
    });
  });
  (["one", "frames", "octets"] as How[]).forEach((how, i) => {
    out.push({
      id: `5.${6 + i}`,
      description: `A text message in two fragments with a ping between them.${howText(how)}`,
      expectation: "First a pong for the ping, then the reassembled message; clean close.",
      onOpen(c) {
        expect(c, [pong("ping payload"), msg("fragment1fragment2")]);
        c.expectedClose = normalClose;
        const o = howOpts(how);
        c.p.sendFrame({ opcode: OPCODE.text, fin: false, payload: s("fragment1"), ...o });
        c.p.sendFrame({ opcode: OPCODE.ping, payload: s("ping payload"), ...o });
        c.p.sendFrame({ opcode: OPCODE.continuation, fin: true, payload: s("fragment2"), ...o });
        c.p.killAfter(secs(1));
      },
    });
  });
  for (const [base, fin] of [[9, true], [12, false]] as const) {
    (["one", "frames", "octets"] as How[]).forEach((how, i) => {
      out.push({
        id: `5.${base + i}`,
        description: `A continuation frame (FIN = ${fin}) with no message to continue, then a valid text message.${howText(how)}`,
        expectation: "The peer fails the connection (1002) or drops TCP; nothing is echoed.",
        onOpen(c) {
          expect(c, []);
          c.expectedClose = peerFails();
          const o = howOpts(how);
          c.p.sendFrame({ opcode: OPCODE.continuation, fin, payload: s("non-continuation payload"), ...o });
          c.p.sendFrame({ opcode: OPCODE.text, payload: s(HELLO), ...o });
          c.p.killAfter(secs(1));
        },
      });
    });
  }
  out.push({
    id: "5.15",
    description: "A text message in two fragments, then a continuation frame (FIN = false) with nothing to continue, then a text frame.",
    expectation: "The first message may be echoed; then the peer fails the connection (1002).",
    onOpen(c) {
      expect(c, [msg("fragment1fragment2")], []);
      c.expectedClose = peerFails();
      c.p.sendFrame({ opcode: OPCODE.text, fin: false, payload: s("fragment1") });
      c.p.sendFrame({ opcode: OPCODE.continuation, fin: true, payload: s("fragment2") });
      c.p.sendFrame({ opcode: OPCODE.continuation, fin: false, payload: s("fragment3") });
      c.p.sendFrame({ opcode: OPCODE.text, fin: true, payload: s("fragment4") });
      c.p.killAfter(secs(1));
    },
  });
  for (const [id, fin] of [["5.16", false], ["5.17", true]] as const) {
    out.push({
      id,
      description: `Twice: a continuation frame (FIN = ${fin}) with nothing to continue, then a text message in two fragments.`,
      expectation: "The peer fails the connection (1002) on the first frame; nothing is echoed.",
      onOpen(c) {
        expect(c, []);
        c.expectedClose = peerFails();
        for (let k = 0; k < 2; k++) {
          c.p.sendFrame({ opcode: OPCODE.continuation, fin, payload: s("fragment1") });
          c.p.sendFrame({ opcode: OPCODE.text, fin: false, payload: s("fragment2") });
          c.p.sendFrame({ opcode: OPCODE.continuation, fin: true, payload: s("fragment3") });
        }
        c.p.killAfter(secs(1));
      },
    });
  }
  out.push({
    id: "5.18",
    description: "A text message in two fragments where the second fragment also carries the text opcode.",
    expectation: "The peer fails the connection (1002): frames after the first must be continuations.",
    onOpen(c) {
      expect(c, []);
      c.expectedClose = peerFails();
      c.p.sendFrame({ opcode: OPCODE.text, fin: false, payload: s("fragment1") });
      c.p.sendFrame({ opcode: OPCODE.text, fin: true, payload: s("fragment2") });
      c.p.killAfter(secs(1));
    },
  });
  for (const [id, sync] of [["5.19", false], ["5.20", true]] as const) {
    out.push({
      id,
      description: `A text message in five fragments: two fragments and a ping, a 1 s pause, two more fragments, a second ping, the last fragment.${
        sync ? " Every frame is pushed out on its own." : ""
      }`,
      expectation: "The first pong arrives before the message is complete, the second pong follows, then the whole message; clean close.",
      onOpen(c) {
        const frags = ["fragment1", "fragment2", "fragment3", "fragment4", "fragment5"];
        const pings = ["pongme 1!", "pongme 2!"];
        expect(c, [pong(pings[0]), pong(pings[1]), msg(frags.join(""))]);
        c.expectedClose = normalClose;
        c.p.sendFrame({ opcode: OPCODE.text, fin: false, payload: s(frags[0]), sync });
        c.p.sendFrame({ opcode: OPCODE.continuation, fin: false, payload: s(frags[1]), sync });
        c.p.sendFrame({ opcode: OPCODE.ping, payload: s(pings[0]), sync });
        c.p.continueLater(secs(1), () => {
          c.p.sendFrame({ opcode: OPCODE.continuation, fin: false, payload: s(frags[2]), sync });
          c.p.sendFrame({ opcode: OPCODE.continuation, fin: false, payload: s(frags[3]), sync });
          c.p.sendFrame({ opcode: OPCODE.ping, payload: s(pings[1]), sync });
          c.p.sendFrame({ opcode: OPCODE.continuation, fin: true, payload: s(frags[4]), sync });
          c.p.closeAfter(secs(1));
        });
      },
    });
  }
  return out;
}

export function basicCases(): CaseDef[] {
  return [...family1(), ...family2(), ...family3(), ...family4(), ...family5()];
}

export { CLOSE };
