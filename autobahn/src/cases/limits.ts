// Family 9 (limits / performance) and family 10 (auto-fragmentation).
import type { CaseDef, CaseRun } from "../case.ts";
import { OPCODE, bytesEqual, repeatTo } from "../frame.ts";
import { expect, msg, normalClose, s, secs, star } from "./util.ts";

const KiB = 1024;
const MiB = 1024 * 1024;
/** Quick mode: no message is larger than this. */
export const QUICK_MAX_SIZE = 1 * MiB;
/** Quick mode: round-trip cases (9.7, 9.8) and compression cases (12, 13) send this many messages instead of 1000. */
export const QUICK_COUNT = 100;

const sizeLabel = (n: number) => (n >= MiB ? `${n / MiB} MiB` : n >= KiB ? `${n / KiB} KiB` : `${n} octets`);
const quickSize = (c: CaseRun, n: number) => (c.info.quick ? Math.min(n, QUICK_MAX_SIZE) : n);
const TEXT_PATTERN = s("BAsd7&jh23");
const BIN_PATTERN = new Uint8Array([0xfe]);

/** Shared shape of the single-message 9.* cases: FAILED until the echo of the right type and length arrives. */
function oneEcho(c: CaseRun, binary: boolean, len: number, waitMs: number): void {
  c.p.createWirelog = false;
  c.behavior = "FAILED";
  c.expectedClose = normalClose;
  c.state.len = len;
  c.state.binary = binary;
  c.result = `Did not receive message within ${waitMs / 1000} seconds.`;
  c.p.closeAfter(waitMs);
}

function checkEcho(c: CaseRun, payload: Uint8Array, binary: boolean): void {
  const len = c.state.len as number;
  if (binary !== c.state.binary) c.result = `Expected ${c.state.binary ? "binary" : "text"} message, but got ${binary ? "binary" : "text"}.`;
  else if (payload.length !== len) c.result = `Expected message with payload of length ${len}, but got ${payload.length}.`;
  else if (c.state.expect && !bytesEqual(payload, c.state.expect as Uint8Array)) c.result = "Echoed payload differs from what was sent.";
  else {
    c.behavior = "OK";
    c.result = `Received ${binary ? "binary" : "text"} message of length ${payload.length}.`;
  }
  c.p.createWirelog = true;
  c.p.sendClose(1000);
}

export function limitCases(): CaseDef[] {
  const out: CaseDef[] = [];
  const sizes = [64 * KiB, 256 * KiB, 1 * MiB, 4 * MiB, 8 * MiB, 16 * MiB];
  const waits = [10, 10, 20, 40, 80, 160];
  for (const [sub, binary] of [[1, false], [2, true]] as const) {
    sizes.forEach((size, i) => {
      out.push({
        id: `9.${sub}.${i + 1}`,
        description: `One ${binary ? "binary" : "text"} message of ${sizeLabel(size)} in a single frame.`,
        expectation: "The message is echoed with the same length (checked) and content.",
        reportTime: true,
        onOpen(c) {
          const len = quickSize(c, size);
          oneEcho(c, binary, len, secs(waits[i]));
          const payload = repeatTo(binary ? BIN_PATTERN : TEXT_PATTERN, len);
          c.state.expect = payload;
          c.p.sendFrame({ opcode: binary ? OPCODE.binary : OPCODE.text, payload });
        },
        onMessage: checkEcho,
      });
    });
  }
  const frags = [64, 256, 1 * KiB, 4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, 1 * MiB, 4 * MiB];
  for (const [sub, binary] of [[3, false], [4, true]] as const) {
    frags.forEach((frag, i) => {
      out.push({
        id: `9.${sub}.${i + 1}`,
        description: `One ${binary ? "binary" : "text"} message of 4 MiB sent in fragments of ${sizeLabel(frag)}.`,
        expectation: "The message is echoed with the same length (checked) and content.",
        reportTime: true,
        onOpen(c) {
          const len = quickSize(c, 4 * MiB);
          oneEcho(c, binary, len, secs(100));
          const payload = binary ? repeatTo(BIN_PATTERN, len) : star(len);
          c.state.expect = payload;
          c.p.sendMessage(payload, binary, Math.min(frag, len));
        },
        onMessage: checkEcho,
      });
    });
  }
  const chops = [64, 128, 256, 512, 1024, 2048];
  for (const [sub, binary] of [[5, false], [6, true]] as const) {
    chops.forEach((chop, i) => {
      out.push({
        id: `9.${sub}.${i + 1}`,
        description: `One ${binary ? "binary" : "text"} message of 1 MiB in a single frame, written to the wire in chops of ${chop} octets.`,
        expectation: "The message is echoed with the same length (checked) and content.",
        reportTime: true,
        onOpen(c) {
          const len = quickSize(c, 1 * MiB);
          oneEcho(c, binary, len, secs(100));
          const payload = repeatTo(binary ? BIN_PATTERN : TEXT_PATTERN, len);
          c.state.expect = payload;
          c.p.sendFrame({ opcode: binary ? OPCODE.binary : OPCODE.text, payload, chopsize: chop });
        },
        onMessage: checkEcho,
      });
    });
  }
  const rtSizes = [0, 16, 64, 256, 1024, 4096];
  const rtWaits = [60, 60, 60, 120, 240, 480];
  for (const [sub, binary] of [[7, false], [8, true]] as const) {
    rtSizes.forEach((size, i) => {
      out.push({
        id: `9.${sub}.${i + 1}`,
        description: `1000 ${binary ? "binary" : "text"} messages of ${size} octets, one at a time (each sent after the previous echo), measuring round trips.`,
        expectation: `Every message is echoed unchanged; the case times out after ${rtWaits[i]} s.`,
        reportTime: true,
        onOpen(c) {
          const count = c.info.quick ? QUICK_COUNT : 1000;
          c.p.createWirelog = false;
          c.behavior = "FAILED";
          c.expectedClose = normalClose;
          c.result = `Case did not finish within ${rtWaits[i]} seconds.`;
          const payload = binary ? repeatTo(BIN_PATTERN, size) : repeatTo(s("*"), size);
          c.state = { count, sent: 0, payload, binary };
          c.p.closeAfter(secs(rtWaits[i]));
          c.p.sendMessage(payload, binary);
          c.state.sent = 1;
        },
        onMessage(c, payload, isBinary) {
          const st = c.state as { count: number; sent: number; payload: Uint8Array; binary: boolean };
          if (isBinary !== st.binary || !bytesEqual(payload, st.payload)) {
            c.behavior = "FAILED";
            c.result = `Echo of message ${st.sent} differs from what was sent.`;
            c.p.createWirelog = true;
            c.p.sendClose(1000);
          } else if (st.sent < st.count) {
            st.sent++;
            c.p.sendMessage(st.payload, st.binary);
          } else {
            c.behavior = "OK";
            c.result = `Ok, received all ${st.count} echoed messages in time.`;
            c.p.createWirelog = true;
            c.p.sendClose(1000);
          }
        },
      });
    });
  }
  return out;
}

export function autoFragmentCases(): CaseDef[] {
  return [
    {
      id: "10.1.1",
      description: "A 65536-octet text message, auto-fragmented by the fuzzer into frames of 1300 octets.",
      expectation: "The message is echoed; the fuzzer sent 1 text frame and 50 continuation frames; clean close.",
      onOpen(c) {
        const payload = star(65536);
        c.p.autoFragmentSize = 1300;
        expect(c, [msg(payload)]);
        c.expectedClose = normalClose;
        c.p.sendMessage(payload, false);
        c.p.killAfter(secs(10));
      },
      afterGrade(c) {
        if (!c.p.connectionWasOpen) return;
        const size = c.p.autoFragmentSize;
        const want = { "0": Math.floor(65536 / size), "1": 65536 % size > 0 ? 1 : 0 };
        const got = { "0": c.p.txFrameStats["0"] ?? 0, "1": c.p.txFrameStats["1"] ?? 0 };
        if (want["0"] !== got["0"] || want["1"] !== got["1"]) {
          c.behavior = "FAILED";
          c.result = `Frames transmitted ${JSON.stringify(got)} does not match what we expected ${JSON.stringify(want)}.`;
        }
      },
    },
  ];
}
