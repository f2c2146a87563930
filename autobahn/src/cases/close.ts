// Family 7: close handling (fuzzer initiated).
import { CLOSE, type CaseDef, type CaseRun } from "../case.ts";
import { OPCODE, hex } from "../frame.ts";
import { expect, msg, normalClose, s, secs, star } from "./util.ts";

const wrongCodeFails = (c: CaseRun) => c.wrongCodeIsFailure();

export const VALID_CLOSE_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999];
export const INVALID_CLOSE_CODES = [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999];

export function closeCases(): CaseDef[] {
  const out: CaseDef[] = [];
  out.push({
    id: "7.1.1",
    description: "A text message, then (after its echo) a normal close.",
    expectation: "The message is echoed, then a clean close with 1000.",
    afterGrade: wrongCodeFails,
    onOpen(c) {
      expect(c, [msg("Hello World!")]);
      c.expectedClose = normalClose;
      c.p.sendFrame({ opcode: OPCODE.text, payload: s("Hello World!") });
      c.p.killAfter(secs(1));
    },
  });
  const afterClose = (id: string, description: string, expectation: string, then: (c: CaseRun) => void, before?: (c: CaseRun) => void): CaseDef => ({
    id,
    description,
    expectation,
    init: (c) => (c.suppressClose = true),
    afterGrade: wrongCodeFails,
    onOpen(c) {
      expect(c, []);
      c.expectedClose = normalClose;
      before?.(c);
      c.p.sendClose(CLOSE.normal);
      then(c);
      c.p.killAfter(secs(1));
    },
  });
  out.push(afterClose("7.1.2", "Two close frames back to back.", "A clean close with 1000; the second close frame is ignored.", (c) =>
    c.p.sendFrame({ opcode: OPCODE.close })));
  out.push(afterClose("7.1.3", "A close frame, then a ping.", "A clean close with 1000 and no pong.", (c) => c.p.sendFrame({ opcode: OPCODE.ping })));
  out.push(afterClose("7.1.4", "A close frame, then a text message.", "A clean close with 1000; the text message is ignored.", (c) =>
    c.p.sendFrame({ opcode: OPCODE.text, payload: s("Hello World!") })));
  out.push(
    afterClose(
      "7.1.5",
      "The first fragment of a text message, a close frame, then the last fragment.",
      "A clean close with 1000.",
      (c) => c.p.sendFrame({ opcode: OPCODE.continuation, fin: true, payload: s("fragment2") }),
      (c) => c.p.sendFrame({ opcode: OPCODE.text, fin: false, payload: s("fragment1") }),
    ),
  );
  out.push({
    id: "7.1.6",
    description: "A 256 KiB text message, a small text message, a close frame and a ping, all back to back.",
    expectation: "Implementation defined: the peer may answer the messages before closing or close first. Informational.",
    init: (c) => (c.suppressClose = true),
    afterGrade(c) {
      if (c.behavior === "OK") c.result = "Text message was processed before close.";
      else if (c.behavior === "NON-STRICT") c.result = "Close was processed before text message could be returned.";
      c.behavior = "INFORMATIONAL";
      c.behaviorClose = "INFORMATIONAL";
    },
    onOpen(c) {
      const big = s("BAsd7&jh23");
      // OK: both messages were echoed before the close was processed; NON-STRICT: the close was processed first.
      expect(c, [msg(repeat(big, 256 * 1024)), msg("Hello World!")], []);
      c.expectedClose = normalClose;
      c.p.sendFrame({ opcode: OPCODE.text, payload: big, payloadLen: 256 * 1024 });
      c.p.sendFrame({ opcode: OPCODE.text, payload: s("Hello World!") });
      c.p.sendClose(CLOSE.normal);
      c.p.sendFrame({ opcode: OPCODE.ping });
      c.p.killAfter(secs(1));
    },
  });
  // 7.3 close frame payload length
  const closeFrame = (
    id: string,
    description: string,
    expectation: string,
    code: number | undefined,
    reason: Uint8Array | undefined,
    codes: number[],
    clean: boolean,
  ): CaseDef => ({
    id,
    description,
    expectation,
    init: (c) => (c.suppressClose = true),
    afterGrade: wrongCodeFails,
    onOpen(c) {
      expect(c, []);
      c.expectedClose = { closedByMe: true, closeCode: codes, requireClean: clean };
      c.p.sendCloseFrame(code, reason);
      c.p.killAfter(secs(1));
    },
  });
  out.push(closeFrame("7.3.1", "A close frame with an empty payload (no code, no reason).", "A clean close with 1000.", undefined, undefined, [CLOSE.normal], true));
  out.push(closeFrame("7.3.2", "A close frame with a 1-octet payload.", "A close with 1002, or a TCP drop.", undefined, s("a"), [CLOSE.protocolError], false));
  out.push(closeFrame("7.3.3", "A close frame with code 1000 and no reason.", "A clean close with 1000.", CLOSE.normal, undefined, [CLOSE.normal], true));
  out.push(closeFrame("7.3.4", "A close frame with code 1000 and a reason.", "A clean close with 1000.", CLOSE.normal, s("Hello World!"), [CLOSE.normal], true));
  out.push(closeFrame("7.3.5", "A close frame with code 1000 and a 123-octet reason (the maximum).", "A clean close with 1000.", CLOSE.normal, star(123), [CLOSE.normal], true));
  out.push(closeFrame("7.3.6", "A close frame with code 1000 and a 124-octet reason (126 octets of payload: too long for a control frame).", "A close with 1002, or a TCP drop.", CLOSE.normal, star(124), [CLOSE.protocolError], false));
  out.push(closeFrame("7.5.1", "A close frame with code 1000 and a reason that is not valid UTF-8 (cebae1bdb9cf83cebcceb5eda080656469746564).", "A close with 1002 or 1007, or a TCP drop.", CLOSE.normal, hex("cebae1bdb9cf83cebcceb5eda080656469746564"), [CLOSE.protocolError, CLOSE.invalidPayload], false));
  VALID_CLOSE_CODES.forEach((code, i) => {
    out.push(closeFrame(`7.7.${i + 1}`, `A close frame with the valid close code ${code}.`, "A clean close, answered with 1000 or the same code.", code, undefined, [CLOSE.normal, code], true));
  });
  INVALID_CLOSE_CODES.forEach((code, i) => {
    out.push(closeFrame(`7.9.${i + 1}`, `A close frame with the invalid close code ${code}.`, "A close with 1002, or a TCP drop.", code, undefined, [CLOSE.protocolError], false));
  });
  [5000, 65535].forEach((code, i) => {
    out.push({
      id: `7.13.${i + 1}`,
      description: `A close frame with the close code ${code} (outside every range RFC 6455 defines).`,
      expectation: "Not defined by the specification: informational.",
      init: (c) => (c.suppressClose = true),
      afterGrade(c) {
        c.behavior = "INFORMATIONAL";
        c.behaviorClose = "INFORMATIONAL";
        c.result = "Actual events are undefined by the spec.";
      },
      onOpen(c) {
        expect(c, []);
        c.expectedClose = { closedByMe: true, closeCode: [CLOSE.normal, code, CLOSE.protocolError], requireClean: false };
        c.p.sendCloseFrame(code);
        c.p.killAfter(secs(1));
      },
    });
  });
  return out;
}

function repeat(pattern: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = pattern[i % pattern.length];
  return out;
}
