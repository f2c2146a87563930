/**
 * The load generator: one process, raw node:net sockets, its own minimal client handshake. Frames are encoded
 * and masked once; replies are counted from their frame headers; a sample of replies on a few connections is
 * parsed fully and compared with what was sent. Closed loop: each connection keeps K messages in flight.
 *
 *   node dist/generator.js '<GeneratorConfig as JSON>'   → one JSON line (GeneratorResult) on stdout
 */
import * as net from "node:net";
import * as zlib from "node:zlib";
import { cpuSeconds, median, rssBytes, sleep } from "./proc.ts";
import { payloadsFor, SCENARIOS, type Scenario, type ScenarioName } from "./scenarios.ts";
import {
  checkHandshake,
  encodeClientFrame,
  FrameRing,
  FrameScanner,
  handshakeRequest,
  OP_BINARY,
  OP_CLOSE,
  OP_TEXT,
  parseResponseHead,
  TAIL,
} from "./wire.ts";

export interface GeneratorConfig {
  scenario: ScenarioName;
  host: string;
  port: number;
  /** the server is a raw TCP echo: no handshake, frames come back as sent (masked) */
  raw: boolean;
  /** the server's pid, for its CPU time and memory */
  serverPid: number;
  warmupMs: number;
  durationMs: number;
  repeats: number;
  /** replies checked in full per sampled connection */
  sample: number;
  /** idle scenario: ms to let the server's memory settle before reading it. Default 1500. */
  settleMs?: number;
  /** overrides of the scenario's sizes (the smoke test runs small versions) */
  connections?: number;
  inFlight?: number;
}

export interface Window {
  seconds: number;
  count: number;
  rate: number;
  /** payload bytes per second one way (echo: what came back) */
  bytesPerSecond: number;
  /** CPU the server used, in % of one core */
  serverCpu: number | null;
  /** CPU this generator used, in % of one core */
  generatorCpu: number;
}

export interface GeneratorResult {
  ok: boolean;
  /** a reason the run does not count (e.g. the server did not agree to compression) */
  skipped?: string;
  error?: string;
  windows: Window[];
  checked: number;
  checkErrors: string[];
  extensions?: string;
  memory?: { baselineRss: number; loadedRss: number; connections: number; bytesPerConnection: number };
}

interface Conn {
  socket: net.Socket;
  scanner: FrameScanner;
  extensions: string;
  /** where the bytes read go: the handshake reader, then the scanner */
  onBytes: (chunk: Buffer) => void;
  /** bytes that followed the 101 response, not yet scanned */
  rest: Buffer | null;
}

/**
 * One read buffer for every socket of the process (node:net's `onread`): no Buffer is allocated per read and
 * no stream machinery runs per chunk. Safe because every consumer is done with the bytes when it returns
 * (the scanner copies what it keeps).
 */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

function connect(cfg: GeneratorConfig, onBytes: (chunk: Buffer) => void): net.Socket {
  return net.connect({
    host: cfg.host,
    port: cfg.port,
    noDelay: true,
    onread: {
      buffer: READ_BUFFER,
      callback: (n) => {
        onBytes(READ_BUFFER.subarray(0, n));
        return true;
      },
    },
  });
}

/** Opens one connection; resolves once the handshake is done (the bytes after it wait in `rest`). */
function openConnection(cfg: GeneratorConfig, path: string, deflate: boolean): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const conn = { onBytes: (_chunk: Buffer) => {}, rest: null } as Conn;
    const socket = connect(cfg, (chunk) => conn.onBytes(chunk));
    conn.socket = socket;
    conn.scanner = new FrameScanner(socket);
    conn.extensions = "";
    const timer = setTimeout(() => fail(new Error("handshake timed out")), 15_000);
    const fail = (e: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(e);
    };
    socket.once("error", fail);
    const opened = () => {
      clearTimeout(timer);
      socket.off("error", fail);
      socket.on("error", () => {});
      resolve(conn);
    };
    if (cfg.raw) {
      socket.once("connect", opened);
      return;
    }
    const request = handshakeRequest(cfg.host, cfg.port, path, deflate);
    socket.once("connect", () => socket.write(request.bytes));
    let head: Buffer = Buffer.alloc(0);
    conn.onBytes = (chunk) => {
      head = Buffer.concat([head, chunk]); // a copy: the read buffer is reused
      const res = parseResponseHead(head);
      if (!res) return;
      conn.onBytes = () => {}; // until listen()
      const problem = checkHandshake(res, request.key, false);
      if (problem) return fail(new Error(problem));
      conn.extensions = res.headers.get("sec-websocket-extensions") ?? "";
      if (res.rest.length) conn.rest = res.rest;
      opened();
    };
  });
}

async function openMany(cfg: GeneratorConfig, count: number, path: string, deflate: boolean, parallel = 64): Promise<Conn[]> {
  const conns: Conn[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      conns[i] = await openConnection(cfg, path, deflate);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  return conns;
}

/**
 * Starts counting on a connection: `onMessages(n)` after each chunk that completed n messages. Bytes that
 * arrive between the handshake and this call would be lost, so it is called before anything is sent (the
 * servers under test send nothing unasked).
 */
function listen(conn: Conn, onMessages: (n: number) => void): void {
  const scanner = conn.scanner;
  conn.onBytes = (chunk) => {
    const before = scanner.messages;
    scanner.push(chunk);
    const n = scanner.messages - before;
    if (n > 0) onMessages(n);
  };
  if (conn.rest) {
    const rest = conn.rest;
    conn.rest = null;
    conn.onBytes(rest);
  }
}

/**
 * Checks replies against what was sent, in order: `expected(j)` is the payload of the j-th reply. Compressed
 * replies are inflated with the server's sliding window (the last 32 KiB of what it sent before), as a
 * context-takeover peer must.
 */
class Checker {
  checked = 0;
  readonly errors: string[] = [];
  private index = 0;
  private window: Buffer = Buffer.alloc(0);

  private readonly expected: (j: number) => Uint8Array;
  private readonly opcode: number;
  private readonly serverNoContextTakeover: boolean;

  constructor(expected: (j: number) => Uint8Array, opcode: number, serverNoContextTakeover: boolean) {
    this.expected = expected;
    this.opcode = opcode;
    this.serverNoContextTakeover = serverNoContextTakeover;
  }

  check(opcode: number, rsv1: boolean, payload: Buffer): void {
    const j = this.index++;
    let data = payload;
    if (rsv1) {
      try {
        const input = Buffer.concat([payload, TAIL]);
        data = this.window.length
          ? zlib.inflateRawSync(input, { dictionary: this.window, finishFlush: zlib.constants.Z_SYNC_FLUSH })
          : zlib.inflateRawSync(input, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
      } catch (e) {
        return this.fail(`reply ${j}: inflate failed: ${(e as Error).message}`);
      }
      if (!this.serverNoContextTakeover) {
        const joined = Buffer.concat([this.window, data]);
        this.window = joined.length > 32768 ? Buffer.from(joined.subarray(joined.length - 32768)) : joined;
      }
    }
    if (opcode !== this.opcode) return this.fail(`reply ${j}: opcode ${opcode}, expected ${this.opcode}`);
    const want = this.expected(j);
    if (Buffer.compare(data, want) !== 0) return this.fail(`reply ${j}: payload differs (${data.length} bytes, expected ${want.length})`);
    this.checked++;
  }

  private fail(message: string): void {
    if (this.errors.length < 5) this.errors.push(message);
  }
}

/** Runs timed windows after the warm-up; `count()` is the running total of what is measured. */
async function measure(cfg: GeneratorConfig, count: () => number, bytesPer: number): Promise<Window[]> {
  await sleep(cfg.warmupMs);
  const windows: Window[] = [];
  for (let r = 0; r < cfg.repeats; r++) {
    const c0 = count();
    const t0 = process.hrtime.bigint();
    const s0 = cpuSeconds(cfg.serverPid);
    const g0 = process.cpuUsage();
    await sleep(cfg.durationMs);
    const c1 = count();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const s1 = cpuSeconds(cfg.serverPid);
    const g1 = process.cpuUsage(g0);
    const n = c1 - c0;
    windows.push({
      seconds,
      count: n,
      rate: n / seconds,
      bytesPerSecond: (n * bytesPer) / seconds,
      serverCpu: s0 !== null && s1 !== null ? ((s1 - s0) / seconds) * 100 : null,
      generatorCpu: ((g1.user + g1.system) / 1e6 / seconds) * 100,
    });
  }
  return windows;
}

function closeAll(conns: Conn[]): void {
  for (const c of conns) c.socket.destroy();
}

function clientFrames(s: Scenario, payloads: Uint8Array[]): Buffer[] {
  const opcode = s.payload.type === "text" ? OP_TEXT : OP_BINARY;
  return payloads.map((p) => {
    if (!s.deflate) return encodeClientFrame(opcode, p);
    // compressed on its own (client_no_context_takeover), ending in a sync flush whose 00 00 ff ff is cut
    const z = zlib.deflateRawSync(p, { level: 6, finishFlush: zlib.constants.Z_SYNC_FLUSH });
    return encodeClientFrame(opcode, z.subarray(0, z.length - 4), true);
  });
}

async function runEcho(cfg: GeneratorConfig, s: Scenario): Promise<GeneratorResult> {
  const n = cfg.connections ?? s.connections;
  const k = cfg.inFlight ?? s.inFlight;
  const payloads = payloadsFor(s);
  const ring = new FrameRing(clientFrames(s, payloads), k);
  const m = payloads.length;
  const conns = await openMany(cfg, n, "/", s.deflate);
  const extensions = conns[0]!.extensions;
  if (s.deflate && !extensions.includes("permessage-deflate")) {
    closeAll(conns);
    return { ok: true, skipped: "the server did not agree to permessage-deflate", windows: [], checked: 0, checkErrors: [], extensions };
  }
  const opcode = s.payload.type === "text" ? OP_TEXT : OP_BINARY;
  const noTakeover = /server_no_context_takeover/.test(extensions);
  const checkers: Checker[] = [];
  let total = 0;
  let sent = 0;
  let running = true;
  conns.forEach((conn, i) => {
    let position = 0;
    const send = (count: number) => {
      conn.socket.write(ring.slice(position, count));
      position = (position + count) % m;
      sent += count;
    };
    if (i === 0 || i === n - 1) {
      // the sample: this connection's first replies are parsed and compared in full
      const checker = new Checker((j) => payloads[j % m]!, opcode, noTakeover);
      checkers.push(checker);
      conn.scanner.capture = cfg.sample;
      // a raw echo returns our frames as sent: compressed frames stay compressed, with no window
      conn.scanner.onCapture = (op, rsv1, payload) => checker.check(op, rsv1 && !cfg.raw, payload);
    }
    listen(conn, (got) => {
      total += got;
      if (running) send(got);
    });
    send(k);
  });
  const windows = await measure(cfg, () => total, s.payload.size);
  running = false;
  await drain(() => (conns.some((c) => c.scanner.closed) ? 0 : sent - total));
  const broken = conns.filter((c) => c.scanner.closed).length;
  closeAll(conns);
  return result(windows, checkers, broken, extensions);
}

/** After the last window: waits (at most 3 s) for the replies still in flight, so the sample is complete. */
async function drain(outstanding: () => number): Promise<void> {
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline && outstanding() > 0) await sleep(10);
}

function result(windows: Window[], checkers: Checker[], broken: number, extensions?: string): GeneratorResult {
  const checked = checkers.reduce((a, c) => a + c.checked, 0);
  const checkErrors = checkers.flatMap((c) => c.errors);
  if (broken > 0) checkErrors.push(`${broken} connection(s) received a close frame`);
  const error = checkErrors.length ? checkErrors[0] : checked === 0 ? "no reply was checked" : undefined;
  return { ok: error === undefined, error, windows, checked, checkErrors, extensions };
}

async function runBroadcast(cfg: GeneratorConfig, s: Scenario): Promise<GeneratorResult> {
  const receivers = cfg.connections ?? s.connections;
  const k = cfg.inFlight ?? s.inFlight;
  const payloads = payloadsFor(s);
  const ring = new FrameRing(clientFrames(s, payloads), k);
  const m = payloads.length;
  const conns = await openMany(cfg, receivers, "/broadcast", false);
  const [sender] = await openMany(cfg, 1, "/broadcast", false);
  await sleep(200); // every receiver has subscribed by now
  const checkers: Checker[] = [];
  let total = 0;
  let sent = 0;
  let position = 0;
  let running = true;
  const pump = () => {
    // closed loop: at most k messages not yet delivered to every receiver (on average)
    const room = k - (sent - Math.floor(total / receivers));
    if (!running || room <= 0) return;
    sender!.socket.write(ring.slice(position, room));
    position = (position + room) % m;
    sent += room;
  };
  conns.forEach((conn, i) => {
    if (i === 0 || i === receivers - 1) {
      const checker = new Checker((j) => payloads[j % m]!, OP_TEXT, true);
      checkers.push(checker);
      conn.scanner.capture = cfg.sample;
      conn.scanner.onCapture = (op, rsv1, payload) => checker.check(op, rsv1, payload);
    }
    listen(conn, (got) => {
      total += got;
      pump();
    });
  });
  let echoed = 0;
  listen(sender!, (got) => (echoed += got));
  pump();
  const windows = await measure(cfg, () => total, s.payload.size);
  running = false;
  await drain(() => (conns.some((c) => c.scanner.closed) ? 0 : sent * receivers - total));
  const broken = conns.filter((c) => c.scanner.closed).length;
  closeAll([...conns, sender!]);
  const r = result(windows, checkers, broken);
  if (echoed > 0) r.checkErrors.push(`the sender received ${echoed} of its own messages`);
  return r;
}

async function runIdle(cfg: GeneratorConfig, s: Scenario): Promise<GeneratorResult> {
  const n = cfg.connections ?? s.connections;
  const settle = async () => {
    await sleep(cfg.settleMs ?? 1500);
    const reads: number[] = [];
    for (let i = 0; i < 5; i++) {
      reads.push(rssBytes(cfg.serverPid) ?? NaN);
      await sleep(100);
    }
    return median(reads);
  };
  // 100 connections first, so the code paths are warm and their memory is not counted
  const warm = await openMany(cfg, 100, "/", false);
  for (const c of warm) listen(c, () => {});
  const baselineRss = await settle();
  const conns = await openMany(cfg, n, "/", false);
  for (const c of conns) listen(c, () => {});
  const loadedRss = await settle();
  // the connections are real: a few of them echo a message, checked in full
  const payloads = payloadsFor(SCENARIOS.small);
  const frame = encodeClientFrame(OP_TEXT, payloads[0]!);
  const checkers: Checker[] = [];
  const probes = conns.filter((_, i) => i % Math.max(1, Math.floor(n / 20)) === 0);
  for (const c of probes) {
    const checker = new Checker(() => payloads[0]!, OP_TEXT, true);
    checkers.push(checker);
    c.scanner.capture = 1;
    c.scanner.onCapture = (op, rsv1, payload) => checker.check(op, rsv1 && !cfg.raw, payload);
    c.socket.write(frame);
  }
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && checkers.some((c) => c.checked + c.errors.length === 0)) await sleep(20);
  const open = conns.filter((c) => !c.socket.destroyed && !c.scanner.closed).length;
  closeAll([...warm, ...conns]);
  const r = result([], checkers, n - open);
  const bytesPerConnection = (loadedRss - baselineRss) / n;
  r.memory = { baselineRss, loadedRss, connections: n, bytesPerConnection };
  r.windows = [
    { seconds: 0, count: n, rate: bytesPerConnection, bytesPerSecond: 0, serverCpu: null, generatorCpu: 0 },
  ];
  if (checkers.some((c) => c.checked === 0) && !r.error) {
    r.ok = false;
    r.error = "an idle connection did not echo";
  }
  return r;
}

async function runHandshakes(cfg: GeneratorConfig, s: Scenario): Promise<GeneratorResult> {
  const parallel = cfg.connections ?? s.connections;
  const closeFrame = encodeClientFrame(OP_CLOSE, Buffer.from([0x03, 0xe8]));
  let done = 0;
  let failures = 0;
  let firstError: string | undefined;
  let running = true;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const socket = connect(cfg, (chunk) => onBytes(chunk));
      const request = handshakeRequest(cfg.host, cfg.port, "/", false);
      let head: Buffer | null = null;
      let settled = false;
      const finish = (error?: string) => {
        if (settled) return;
        settled = true;
        if (error) {
          failures++;
          firstError ??= error;
          socket.destroy();
        }
        resolve();
      };
      const timer = setTimeout(() => finish(head ? "the server did not close within 10 s" : "handshake timed out"), 10_000);
      let upgraded = false;
      socket.on("error", (e) => finish(e.message));
      socket.on("close", () => {
        clearTimeout(timer);
        finish(upgraded ? undefined : "closed before 101");
      });
      socket.once("connect", () => socket.write(request.bytes));
      const onBytes = (chunk: Buffer) => {
        if (upgraded) return; // the server's close frame
        head = head ? Buffer.concat([head, chunk]) : Buffer.from(chunk);
        const res = parseResponseHead(head);
        if (!res) return;
        const problem = checkHandshake(res, request.key, false);
        if (problem) return finish(problem);
        upgraded = true;
        done++;
        // the closing handshake, as RFC 6455 §7.1.1 has it: our close frame, the server's answer, and the
        // server closes TCP first (so TIME_WAIT stays on its side and the generator never runs out of ports)
        socket.write(closeFrame);
      };
    });
  const loops = Array.from({ length: parallel }, async () => {
    while (running) await one();
  });
  const windows = await measure(cfg, () => done, 0);
  running = false;
  await Promise.all(loops);
  const error = failures ? `${failures} handshake(s) failed: ${firstError}` : done === 0 ? "no handshake completed" : undefined;
  return { ok: !error, error, windows, checked: done, checkErrors: error ? [error] : [] };
}

export async function generate(cfg: GeneratorConfig): Promise<GeneratorResult> {
  const s = SCENARIOS[cfg.scenario];
  switch (s.kind) {
    case "echo":
      return runEcho(cfg, s);
    case "broadcast":
      return runBroadcast(cfg, s);
    case "idle":
      return runIdle(cfg, s);
    case "handshake":
      return runHandshakes(cfg, s);
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) {
  const cfg = JSON.parse(process.argv[2] ?? "{}") as GeneratorConfig;
  const kill = setTimeout(() => {
    process.stdout.write(JSON.stringify({ ok: false, error: "generator timed out", windows: [], checked: 0, checkErrors: [] }) + "\n");
    process.exit(2);
  }, cfg.warmupMs + cfg.durationMs * cfg.repeats + 120_000);
  kill.unref();
  generate(cfg).then(
    (r) => {
      process.stdout.write(JSON.stringify(r) + "\n", () => process.exit(0));
    },
    (e: unknown) => {
      process.stdout.write(JSON.stringify({ ok: false, error: e instanceof Error ? e.message : String(e), windows: [], checked: 0, checkErrors: [] }) + "\n", () =>
        process.exit(1),
      );
    },
  );
}
