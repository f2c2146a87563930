import { CLOSE, type CaseEvent, type CaseRun, type ExpectedClose } from "../case.ts";
import { utf8 } from "../frame.ts";

export const s = utf8;
export const fill = (byte: number, n: number) => new Uint8Array(n).fill(byte);
export const star = (n: number) => fill(0x2a, n);

export const msg = (payload: Uint8Array | string, binary = false): CaseEvent => [
  "message",
  typeof payload === "string" ? utf8(payload) : payload,
  binary,
];
export const pong = (payload: Uint8Array | string): CaseEvent => ["pong", typeof payload === "string" ? utf8(payload) : payload];

/** The fuzzer closes normally after the expected echo; a clean close with 1000 is required. */
export const normalClose: ExpectedClose = { closedByMe: true, closeCode: [CLOSE.normal], requireClean: true };
/** The peer must fail the connection (1002, or just drop TCP). */
export const peerFails = (code: number = CLOSE.protocolError, fatal = false): ExpectedClose => ({
  closedByMe: false,
  closeCode: [code],
  requireClean: false,
  ...(fatal ? { closedByWrongEndpointIsFatal: true } : {}),
});

export function expect(c: CaseRun, ok: CaseEvent[], nonStrict?: CaseEvent[]): void {
  c.expected.set("OK", ok);
  if (nonStrict) c.expected.set("NON-STRICT", nonStrict);
}

export const secs = (n: number) => Math.round(n * 1000);
