// Running one case over a connection, in either role, and the fuzzing-client loop over a catalogue selection.
import { CaseRun, renderEvents, type CaseDef } from "./case.ts";
import { createCodec, offerString, paramsFromResponse, parseDeflate } from "./cases/deflate.ts";
import { catalogue } from "./cases/index.ts";
import { closeH2Sessions, h2ClientHandshake, type H2Transport } from "./h2.ts";
import { HandshakeError, clientHandshake } from "./handshake.ts";
import { FuzzingSession, type ByteSocket, type MessageCodec } from "./session.ts";

export interface CaseResult {
  case: number;
  id: string;
  description: string;
  expectation: string;
  agent: string;
  started: string;
  duration: number;
  reportTime: boolean;
  behavior: string;
  behaviorClose: string;
  expected: Record<string, unknown[]>;
  expectedClose: unknown;
  received: unknown[];
  result: string;
  resultClose: string;
  wirelog: unknown[];
  closedByMe: boolean;
  failedByMe: boolean;
  droppedByMe: boolean;
  wasClean: boolean;
  wasNotCleanReason: string | null;
  wasServerConnectionDropTimeout: boolean;
  wasOpenHandshakeTimeout: boolean;
  wasCloseHandshakeTimeout: boolean;
  localCloseCode: number | null;
  localCloseReason: string | null;
  remoteCloseCode: number | null;
  remoteCloseReason: string | null;
  isServer: boolean;
  rxOctetStats: Record<string, number>;
  rxFrameStats: Record<string, number>;
  txOctetStats: Record<string, number>;
  txFrameStats: Record<string, number>;
  httpRequest: string;
  httpResponse: string;
}

export interface RunOptions {
  agent: string;
  quick?: boolean;
  failByDrop?: boolean;
  /** `http1` (the default): a TCP connection and an HTTP/1.1 Upgrade per case; `h2`/`h2c`: an RFC 8441 stream per case on a shared HTTP/2 session (src/h2.ts) */
  transport?: "http1" | H2Transport;
}

const MAX_WIRELOG_ENTRIES = 2000;

export function caseIndex(id: string): number {
  return catalogue().findIndex((c) => c.id === id) + 1;
}

/** Default safety net: no case may take longer than this, whatever the peer does. */
function safetyNetMs(def: CaseDef): number {
  return def.id.startsWith("9.") || def.id.startsWith("12.") || def.id.startsWith("13.") ? 20 * 60_000 : 30_000;
}

/** Drive `def` over an already upgraded connection and grade it once TCP is gone. */
export async function runCaseOnSocket(
  def: CaseDef,
  socket: ByteSocket,
  opts: RunOptions & {
    isServer: boolean;
    initial?: Uint8Array;
    codec?: MessageCodec;
    httpRequest: string;
    httpResponse: string;
    index?: number;
  },
): Promise<CaseResult> {
  const started = new Date();
  const t0 = performance.now();
  const session = new FuzzingSession(socket, { isServer: opts.isServer, failByDrop: opts.failByDrop, codec: opts.codec }, opts.initial);
  const run = new CaseRun(def, session, { quick: !!opts.quick, deflateActive: !!opts.codec });
  let lostAt = 0;
  session.handler = {
    onMessage: (p, b) => run.onMessage(p, b),
    onPing: (p) => run.onPing(p),
    onPong: (p) => run.onPong(p),
    onConnectionLost: () => {
      lostAt = performance.now();
      run.grade();
    },
  };
  const guard = setTimeout(() => {
    session.wirelog.push(["SAFETY", "case exceeded the runner's time limit"]);
    session.dropConnection(true);
  }, def.maxDurationMs ?? safetyNetMs(def));
  try {
    run.onOpen();
  } catch (e) {
    session.wirelog.push(["ERROR", String(e)]);
    session.dropConnection(true);
  }
  await session.lost;
  clearTimeout(guard);
  return toResult(run, session, opts, started, Math.round((lostAt || performance.now()) - t0));
}

function toResult(
  run: CaseRun | undefined,
  session: FuzzingSession | undefined,
  opts: RunOptions & { isServer: boolean; httpRequest: string; httpResponse: string; index?: number },
  started: Date,
  duration: number,
  def?: CaseDef,
): CaseResult {
  const d = run?.def ?? def!;
  const expected: Record<string, unknown[]> = {};
  if (run) for (const [k, v] of run.expected) expected[k] = renderEvents(v);
  const wl = session?.wirelog ?? [];
  return {
    case: opts.index ?? caseIndex(d.id),
    id: d.id,
    description: d.description,
    expectation: d.expectation,
    agent: opts.agent,
    started: started.toISOString(),
    duration,
    reportTime: run?.reportTime ?? !!d.reportTime,
    behavior: run?.behavior ?? "FAILED",
    behaviorClose: run?.behaviorClose ?? "FAILED",
    expected,
    expectedClose: run?.expectedClose ?? null,
    received: run ? renderEvents(run.received) : [],
    result: run?.result ?? "The WebSocket opening handshake was never completed!",
    resultClose: run?.resultClose ?? "The WebSocket opening handshake was never completed!",
    wirelog: wl.length > MAX_WIRELOG_ENTRIES ? [...wl.slice(0, MAX_WIRELOG_ENTRIES), ["TRUNCATED", wl.length]] : wl,
    closedByMe: session?.closedByMe ?? false,
    failedByMe: session?.failedByMe ?? false,
    droppedByMe: session?.droppedByMe ?? false,
    wasClean: session?.wasClean ?? false,
    wasNotCleanReason: session ? session.wasNotCleanReason : "opening handshake failed",
    wasServerConnectionDropTimeout: session?.wasServerConnectionDropTimeout ?? false,
    wasOpenHandshakeTimeout: session?.wasOpenHandshakeTimeout ?? false,
    wasCloseHandshakeTimeout: session?.wasCloseHandshakeTimeout ?? false,
    localCloseCode: session?.localCloseCode ?? null,
    localCloseReason: session?.localCloseReason ?? null,
    remoteCloseCode: session?.remoteCloseCode ?? null,
    remoteCloseReason: session?.remoteCloseReason ?? null,
    isServer: opts.isServer,
    rxOctetStats: session?.rxOctetStats ?? {},
    rxFrameStats: session?.rxFrameStats ?? {},
    txOctetStats: session?.txOctetStats ?? {},
    txFrameStats: session?.txFrameStats ?? {},
    httpRequest: opts.httpRequest,
    httpResponse: opts.httpResponse,
  };
}

/** Fuzzing client: open a fresh connection to `url` and run one case against the server there. */
export async function runClientCase(url: string, def: CaseDef, opts: RunOptions): Promise<CaseResult> {
  const started = new Date();
  const t0 = performance.now();
  const extensions = def.deflate ? def.deflate.offers.map(offerString).join(", ") : undefined;
  try {
    const hs =
      opts.transport === "h2" || opts.transport === "h2c"
        ? await h2ClientHandshake(url, opts.transport, { extensions })
        : await clientHandshake(url, { extensions });
    let codec: MessageCodec | undefined;
    if (def.deflate) {
      const accepted = parseDeflate(hs.extensions);
      if (accepted.length > 0) {
        const params = paramsFromResponse(accepted[0]);
        codec = createCodec(params.clientMaxWindowBits, params.clientNoContextTakeover);
      }
    }
    return await runCaseOnSocket(def, hs.socket, {
      ...opts,
      isServer: false,
      initial: hs.rest,
      codec,
      httpRequest: hs.httpRequest,
      httpResponse: hs.httpResponse,
    });
  } catch (e) {
    const req = e instanceof HandshakeError ? e.httpRequest : "";
    const resp = e instanceof HandshakeError ? e.httpResponse : String(e);
    const r = toResult(undefined, undefined, { ...opts, isServer: false, httpRequest: req, httpResponse: resp }, started, Math.round(performance.now() - t0), def);
    r.result = `The WebSocket opening handshake was never completed! (${(e as Error).message})`;
    return r;
  }
}

/** Run a list of cases against a server, `concurrency` at a time, in catalogue order of results. */
export async function runClient(
  url: string,
  defs: CaseDef[],
  opts: RunOptions & { concurrency?: number; onResult?: (r: CaseResult) => void },
): Promise<CaseResult[]> {
  const results: CaseResult[] = new Array(defs.length);
  let next = 0;
  const worker = async () => {
    while (next < defs.length) {
      const i = next++;
      const r = await runClientCase(url, defs[i], opts);
      results[i] = r;
      opts.onResult?.(r);
    }
  };
  const n = Math.max(1, Math.min(opts.concurrency ?? 1, defs.length));
  try {
    await Promise.all(Array.from({ length: n }, worker));
  } finally {
    closeH2Sessions();
  }
  return results;
}
