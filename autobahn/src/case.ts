// One case run: what was expected, what was received, and the grading rules of the original suite
// (behavior from the event trace, behaviorClose from who closed, how cleanly and with which code).
import { bytesEqual, isValidUtf8, toHex } from "./frame.ts";
import type { FuzzingSession } from "./session.ts";

export type Behavior =
  | "OK"
  | "NON-STRICT"
  | "FAILED"
  | "INFORMATIONAL"
  | "UNIMPLEMENTED"
  | "WRONG CODE"
  | "UNCLEAN"
  | "FAILED BY CLIENT";

export type CaseEvent =
  | readonly ["message", Uint8Array, boolean]
  | readonly ["ping", Uint8Array]
  | readonly ["pong", Uint8Array]
  | readonly ["timeout", string];

export interface ExpectedClose {
  /** true: the fuzzer is expected to start the closing handshake; false: the peer must fail/close the connection. */
  closedByMe: boolean;
  /** Acceptable close codes from the peer (an absent code is always acceptable). */
  closeCode: number[];
  /** Whether a full close handshake with the server dropping TCP is required. */
  requireClean: boolean;
  /** For UTF-8 cases: if the wrong endpoint closed, the peer never noticed the bad payload, so the case fails. */
  closedByWrongEndpointIsFatal?: boolean;
}

export const CLOSE = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  unsupportedData: 1003,
  invalidPayload: 1007,
  policyViolation: 1008,
  messageTooBig: 1009,
} as const;

export interface DeflateOffer {
  /** server_no_context_takeover requested from the server. */
  requestNoContextTakeover: boolean;
  /** server_max_window_bits requested (0 = not requested). */
  requestMaxWindowBits: number;
}

export interface CaseDef {
  id: string;
  description: string;
  expectation: string;
  /** permessage-deflate offers (client role) / what the server side accepts (server role). */
  deflate?: { offers: DeflateOffer[] };
  /** 9.*, 12.*, 13.*: the duration is part of the result. */
  reportTime?: boolean;
  /** Upper bound for the whole case (ms) used by the runner as a safety net. */
  maxDurationMs?: number;
  init?(c: CaseRun): void;
  onOpen(c: CaseRun): void;
  onMessage?(c: CaseRun, payload: Uint8Array, binary: boolean): void;
  /** Adjust the grade after the standard grading ran. */
  afterGrade?(c: CaseRun): void;
}

export interface CaseContextInfo {
  quick: boolean;
  /** true when permessage-deflate was negotiated for this connection. */
  deflateActive: boolean;
}

export class CaseRun {
  readonly def: CaseDef;
  readonly p: FuzzingSession;
  readonly info: CaseContextInfo;
  received: CaseEvent[] = [];
  expected = new Map<string, CaseEvent[]>();
  expectedClose: ExpectedClose = { closedByMe: true, closeCode: [CLOSE.normal], requireClean: true };
  behavior: Behavior = "FAILED";
  behaviorClose: Behavior = "FAILED";
  result = "Actual events differ from any expected.";
  resultClose = "TCP connection was dropped without close handshake";
  suppressClose = false;
  reportTime = false;
  /** Free-form per-case state. */
  state: Record<string, unknown> = {};

  constructor(def: CaseDef, p: FuzzingSession, info: CaseContextInfo) {
    this.def = def;
    this.p = p;
    this.info = info;
    this.reportTime = !!def.reportTime;
    def.init?.(this);
  }

  onOpen(): void {
    this.def.onOpen(this);
  }

  onMessage(payload: Uint8Array, binary: boolean): void {
    if (this.def.onMessage) return this.def.onMessage(this, payload, binary);
    this.received.push(["message", payload, binary]);
    this.finishWhenDone();
  }

  onPing(payload: Uint8Array): void {
    this.received.push(["ping", payload]);
    this.finishWhenDone();
  }

  onPong(payload: Uint8Array): void {
    this.received.push(["pong", payload]);
    this.finishWhenDone();
  }

  /** Once the trace matches every expected outcome, start the closing handshake (if the fuzzer is to close). */
  finishWhenDone(): void {
    for (const exp of this.expected.values()) if (!eventsEqual(this.received, exp)) return;
    if (this.expectedClose.closedByMe && !this.suppressClose) this.p.sendClose(this.expectedClose.closeCode[0]);
  }

  /** Grade: called once the TCP connection is gone. */
  grade(): void {
    for (const [name, exp] of this.expected) {
      if (eventsEqual(this.received, exp)) {
        this.behavior = name as Behavior;
        this.result = "Actual events match at least one expected.";
        break;
      }
    }
    const p = this.p;
    if (p.connectionWasOpen) {
      const ec = this.expectedClose;
      if (ec.closedByMe !== p.closedByMe) {
        this.behaviorClose = "FAILED";
        this.resultClose = "The connection was failed by the wrong endpoint";
      } else if (ec.requireClean && !p.wasClean) {
        this.behaviorClose = "UNCLEAN";
        this.resultClose = "The spec requires the connection to be failed cleanly here";
      } else if (p.remoteCloseCode !== null && !ec.closeCode.includes(p.remoteCloseCode)) {
        this.behaviorClose = "WRONG CODE";
        this.resultClose = `The close code should have been ${ec.closeCode.join(",")} or empty`;
      } else if (!p.isServer && p.droppedByMe) {
        this.behaviorClose = "FAILED BY CLIENT";
        this.resultClose = "It is preferred that the server close the TCP connection";
      } else {
        this.behaviorClose = "OK";
        this.resultClose = "Connection was properly closed";
      }
      if (ec.closedByWrongEndpointIsFatal && ec.closedByMe !== p.closedByMe) this.behavior = "FAILED";
    } else {
      this.behaviorClose = "FAILED";
      this.resultClose = "The WebSocket opening handshake was never completed!";
    }
    this.def.afterGrade?.(this);
  }

  /** Common post-grade rule of the close-handling cases: a wrong close code fails the case. */
  wrongCodeIsFailure(): void {
    if (this.behaviorClose === "WRONG CODE") {
      this.behavior = "FAILED";
      this.result = this.resultClose;
    }
  }
}

export function eventsEqual(a: readonly CaseEvent[], b: readonly CaseEvent[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x[0] !== y[0]) return false;
    if (x[0] === "timeout") {
      if (x[1] !== y[1]) return false;
      continue;
    }
    if (!bytesEqual(x[1] as Uint8Array, y[1] as Uint8Array)) return false;
    if (x[0] === "message" && x[2] !== (y as typeof x)[2]) return false;
  }
  return true;
}

const REPORT_LIMIT = 1000;

/** Human-readable rendering of a payload for reports (text if valid UTF-8, else hex), truncated. */
export function renderPayload(b: Uint8Array): string {
  if (isValidUtf8(b)) {
    const s = new TextDecoder().decode(b.length > REPORT_LIMIT ? b.subarray(0, REPORT_LIMIT) : b);
    return b.length > REPORT_LIMIT ? `${s} ... (${b.length} octets)` : s;
  }
  const h = "0x" + toHex(b.length > REPORT_LIMIT / 2 ? b.subarray(0, REPORT_LIMIT / 2) : b);
  return b.length > REPORT_LIMIT / 2 ? `${h} ... (${b.length} octets)` : h;
}

export function renderEvents(events: readonly CaseEvent[]): unknown[] {
  return events.map((e) => {
    if (e[0] === "timeout") return [e[0], e[1]];
    if (e[0] === "message") return [e[0], renderPayload(e[1]), e[2]];
    return [e[0], renderPayload(e[1])];
  });
}
