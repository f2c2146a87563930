/**
 * The load generator: one process, raw node:net sockets, its own minimal client handshake. Frames are encoded
 * and masked once; replies are counted from their frame headers; a sample of replies on a few connections is
 * parsed fully and compared with what was sent. Closed loop: each connection keeps K messages in flight.
 *
 *   node dist/generator.js '<GeneratorConfig as JSON>'   → one JSON line (GeneratorResult) on stdout
 */
import * as net from "node:net";
import * as zlib from "node:zlib";
import { cpuSeconds, median, openFilesLimit, rssBytes, sleep } from "./proc.ts";
import { payloadsFor, SCENARIOS, type Scenario, type ScenarioName } from "./scenarios.ts";
import {
  checkUpgradeResponse,
  encodeClientFrame,
  FrameRing,
  FrameScanner,
  HandshakeKeys,
  OP_BINARY,
  OP_TEXT,
  randomMask,
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
  /** scale: the steps (connection counts) to measure; default the scenario's */
  steps?: number[];
}

/** One step of the scale scenario: `connections` open at once on the server, every one a subscriber. */
export interface ScaleStep {
  connections: number;
  /** handshakes/s while opening this step's new connections (`inFlight` at a time) */
  handshakesPerSecond: number;
  /** server RSS with every connection open, and its growth over the baseline per connection */
  rss: number;
  bytesPerConnection: number;
  /** broadcasts sent one at a time: each goes out when the last receiver has the one before */
  broadcasts: number;
  deliveriesPerSecond: number;
  /** time from the send until the last receiver has the message, over the broadcasts */
  p50Ms: number;
  p99Ms: number;
  /** % of one core during the broadcasts */
  serverCpu: number | null;
  generatorCpu: number;
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
  scale?: ScaleStep[];
  /** scale: steps not run, and why (the file-descriptor limit of the server or the generator) */
  notRun?: string;
  /** reconnect (reconnect.ts): the time until every client is open again, the restarted server's peak RSS, … */
  reconnect?: ReconnectFigures;
}

/** What the reconnect scenario measures of the restarted server (reconnect.ts). */
export interface ReconnectFigures {
  reconnectMs: number;
  peakRssBytes: number | null;
  rssPerConnection: number | null;
  serverCpuMicrosPerHandshake: number | null;
  retries: number;
}

/** One connection of the generator. Its frame scanner is made when first asked for (a handshake-only connection never needs one). */
class Conn {
  socket!: net.Socket;
  extensions = "";
  /** where the bytes read go: the handshake check, then the scanner */
  onBytes: (chunk: Buffer) => void = ignore;
  /** bytes that followed the 101 response, not yet scanned */
  rest: Buffer | null = null;
  private frames: FrameScanner | null = null;

  get scanner(): FrameScanner {
    return (this.frames ??= new FrameScanner(this.socket));
  }
}

function ignore(_chunk: Buffer): void {}

/**
 * One read buffer for every socket of the process (node:net's `onread`): no Buffer is allocated per read and
 * no stream machinery runs per chunk. Safe because every consumer is done with the bytes when it returns
 * (the scanner copies what it keeps).
 */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

/**
 * Source addresses on loopback (127.0.0.0/8 is all local on Linux), so that tens of thousands of connections,
 * and handshakes opened and closed by the thousand, never run out of ephemeral ports: a socket bound to an
 * address has the ~28,000 ports of net.ipv4.ip_local_port_range for that address alone, and the ones a closed
 * connection leaves in TIME_WAIT stay taken for a minute. Each generator process starts at a random 127.a.b.1
 * (so a run right after another does not meet its TIME_WAITs) and moves to the next address every 2,000
 * connections.
 */
class SourceAddresses {
  private readonly a = 1 + Math.floor(Math.random() * 250);
  private b = Math.floor(Math.random() * 256);
  private c = 1;
  private used = 0;

  next(): string {
    if (this.used === 2_000) {
      this.used = 0;
      if (++this.c === 255) {
        this.c = 1;
        this.b = (this.b + 1) % 256;
      }
    }
    this.used++;
    return `127.${this.a}.${this.b}.${this.c}`;
  }
}

const sources = new SourceAddresses();

function connect(cfg: GeneratorConfig, conn: Conn, noDelay: boolean): net.Socket {
  return net.connect({
    host: cfg.host,
    port: cfg.port,
    localAddress: cfg.host === "127.0.0.1" ? sources.next() : undefined,
    noDelay,
    onread: {
      buffer: READ_BUFFER,
      callback: (n) => {
        conn.onBytes(READ_BUFFER.subarray(0, n));
        return true;
      },
    },
  });
}

/** The prepared handshakes of one target (HandshakeKeys), made once per process. */
const prepared = new Map<string, HandshakeKeys>();

function handshakesFor(cfg: GeneratorConfig, path: string, deflate: boolean): HandshakeKeys {
  const id = `${cfg.host} ${cfg.port} ${path} ${deflate}`;
  let keys = prepared.get(id);
  if (!keys) prepared.set(id, (keys = new HandshakeKeys(cfg.host, cfg.port, path, deflate)));
  return keys;
}

/** How long one handshake may take before the batch fails. */
const HANDSHAKE_TIMEOUT_MS = 15_000;

/**
 * Opens `count` connections, `parallel` handshakes in flight; resolves once every one is open (the bytes after
 * each 101 wait in `rest`), or rejects at the first failure. One promise and one deadline sweep for the whole
 * batch, no timer or promise per connection; each 101 is checked in full (checkUpgradeResponse) against the key
 * its connection sent. `noDelay` (default true) is set on sockets that will carry messages; a handshake-only
 * batch spares the system call.
 */
function openMany(cfg: GeneratorConfig, count: number, path: string, deflate: boolean, parallel = 64, noDelay = true): Promise<Conn[]> {
  const keys = handshakesFor(cfg, path, deflate);
  return new Promise((resolve, reject) => {
    const conns: Conn[] = new Array(count);
    const started = new Map<Conn, number>();
    let next = 0;
    let done = 0;
    let failed = false;
    const sweep = setInterval(() => {
      const now = Date.now();
      for (const [conn, t] of started) if (now - t > HANDSHAKE_TIMEOUT_MS) return fail(conn, new Error("handshake timed out"));
    }, 1000);
    const fail = (conn: Conn, e: Error) => {
      conn.socket.destroy();
      if (failed) return;
      failed = true;
      clearInterval(sweep);
      for (const c of conns) c?.socket.destroy();
      reject(e);
    };
    const opened = (conn: Conn) => {
      started.delete(conn);
      if (failed) return;
      if (++done === count) {
        clearInterval(sweep);
        resolve(conns);
      } else if (next < count) start();
    };
    const start = () => {
      const conn = new Conn();
      conns[next++] = conn;
      started.set(conn, Date.now());
      const socket = (conn.socket = connect(cfg, conn, noDelay));
      // once open, an error (the server going away) is the caller's to notice: it no longer fails the batch
      socket.on("error", (e) => started.has(conn) && fail(conn, e));
      if (cfg.raw) {
        socket.once("connect", () => opened(conn));
        return;
      }
      const handshake = keys.next();
      socket.once("connect", () => socket.write(handshake.request));
      let head: Buffer | null = null; // only when the response head is split over reads
      conn.onBytes = (chunk) => {
        const buf = head ? (head = Buffer.concat([head, chunk])) : chunk;
        const r = checkUpgradeResponse(buf, handshake.accept, false) // deflate: the caller looks at `extensions`;
        if (r === null) {
          if (!head) head = Buffer.from(chunk); // a copy: the read buffer is reused
          return;
        }
        conn.onBytes = ignore; // until listen()
        if ("error" in r) return fail(conn, new Error(r.error));
        conn.extensions = r.extensions;
        if (buf.length > r.headLength) conn.rest = Buffer.from(buf.subarray(r.headLength)); // a copy, likewise
        opened(conn);
      };
    };
    if (count === 0) {
      clearInterval(sweep);
      return resolve(conns);
    }
    for (let i = 0; i < Math.min(parallel, count); i++) start();
  });
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
    // every frame its own masking key: a server cannot get away with one key per connection
    if (!s.deflate) return encodeClientFrame(opcode, p, false, randomMask());
    // compressed on its own (client_no_context_takeover), ending in a sync flush whose 00 00 ff ff is cut
    const z = zlib.deflateRawSync(p, { level: 6, finishFlush: zlib.constants.Z_SYNC_FLUSH });
    return encodeClientFrame(opcode, z.subarray(0, z.length - 4), true, randomMask());
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
  const settle = () => settledRss(cfg);
  // 100 connections first, so the code paths are warm and their memory is not counted
  const warm = await openMany(cfg, 100, "/", s.deflate);
  for (const c of warm) listen(c, () => {});
  if (s.deflate && !warm[0]!.extensions.includes("permessage-deflate")) {
    closeAll(warm);
    return { ok: true, skipped: "the server did not agree to permessage-deflate", windows: [], checked: 0, checkErrors: [], extensions: warm[0]!.extensions };
  }
  const baselineRss = await settle();
  const conns = await openMany(cfg, n, "/", s.deflate);
  for (const c of conns) listen(c, () => {});
  const loadedRss = await settle();
  // the connections are real: a few of them echo a message (compressed where deflate was agreed), checked in full
  const payloads = payloadsFor(SCENARIOS.small);
  const frame = clientFrames({ ...SCENARIOS.small, deflate: s.deflate }, [payloads[0]!])[0]!;
  if (s.deflate && conns.some((c) => !c.extensions.includes("permessage-deflate"))) {
    closeAll([...warm, ...conns]);
    return { ok: false, error: "a connection came up without permessage-deflate", windows: [], checked: 0, checkErrors: [] };
  }
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

/**
 * Handshakes as a server meets them when clients arrive by the thousand: `total` connections per window,
 * `parallel` handshakes in flight, every upgraded connection held open until the window's last one is up (so
 * the server's connection table grows as it would), then all of them dropped. The rate is `total` over the
 * time from the first connect to the last 101.
 */
async function runHandshakes(cfg: GeneratorConfig, s: Scenario): Promise<GeneratorResult> {
  const total = cfg.connections ?? s.connections;
  const parallel = Math.min(cfg.inFlight ?? s.inFlight, total);
  // handshake-only sockets: no TCP_NODELAY (nothing is sent after the request)
  const open = (count: number) => openMany(cfg, count, "/", false, parallel, false);
  // warm-up: one smaller batch
  const warm = await open(Math.min(total, 500)).catch((e: unknown) => e as Error);
  if (warm instanceof Error) return { ok: false, error: `warm-up: ${warm.message}`, windows: [], checked: 0, checkErrors: [warm.message] };
  closeAll(warm);
  await sleep(Math.min(cfg.warmupMs, 500));
  const windows: Window[] = [];
  let checked = 0;
  for (let r = 0; r < cfg.repeats; r++) {
    // the window is from the first connect to the last 101, and so are both CPU readings: closing the
    // connections afterwards is not part of it
    const s0 = cpuSeconds(cfg.serverPid);
    const g0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    let conns: Conn[];
    try {
      conns = await open(total);
    } catch (e) {
      const error = `window ${r + 1}: ${e instanceof Error ? e.message : String(e)}`;
      return { ok: false, error, windows, checked, checkErrors: [error] };
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const s1 = cpuSeconds(cfg.serverPid);
    const g1 = process.cpuUsage(g0);
    closeAll(conns);
    checked += total;
    windows.push({
      seconds,
      count: total,
      rate: total / seconds,
      bytesPerSecond: 0,
      serverCpu: s0 !== null && s1 !== null ? ((s1 - s0) / seconds) * 100 : null,
      generatorCpu: ((g1.user + g1.system) / 1e6 / seconds) * 100,
    });
    await sleep(200); // the server lets go of them before the next window
  }
  return { ok: true, windows, checked, checkErrors: [] };
}

/** The server's RSS once it has settled: the median of 5 reads after `settleMs`. */
async function settledRss(cfg: GeneratorConfig): Promise<number> {
  await sleep(cfg.settleMs ?? 1500);
  const reads: number[] = [];
  for (let i = 0; i < 5; i++) {
    reads.push(rssBytes(cfg.serverPid) ?? NaN);
    await sleep(100);
  }
  return median(reads);
}

function percentile(xs: number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * Scale: one server process, connections added step by step (1k → 10k → 50k), every one subscribed to the
 * broadcast topic. At each step: the handshake rate while adding the step's connections, the server's RSS per
 * connection, and broadcasts of 64 B from one more connection, one at a time (the next goes out when the last
 * receiver has the one before), for `durationMs` (at least 5, at most 100 broadcasts): deliveries/s and the
 * p50 / p99 time until the last receiver has it. Replies are checked in full on the first and the newest
 * receivers of each step.
 */
async function runScale(cfg: GeneratorConfig, s: Scenario): Promise<GeneratorResult> {
  const last = cfg.connections ?? s.connections;
  const steps = (cfg.steps ?? s.steps ?? [last]).filter((n) => n <= last);
  if (!steps.length) steps.push(last);
  // a step needs a descriptor per connection on both sides (and some room): steps above the limit are not run
  const limits = [openFilesLimit(cfg.serverPid), openFilesLimit("self")];
  const fds = Math.min(...limits.map((l) => l ?? Infinity));
  const fit = steps.filter((n) => n + 1000 <= fds);
  const notRun =
    fit.length < steps.length
      ? `${steps.filter((n) => !fit.includes(n)).map((n) => n.toLocaleString("en-US")).join(", ")} connections not run: open-files limit ${fds.toLocaleString("en-US")} (server ${limits[0]}, generator ${limits[1]}; the hard limit could not be raised here)`
      : undefined;
  steps.splice(0, steps.length, ...fit);
  if (!steps.length) return { ok: true, skipped: notRun, windows: [], checked: 0, checkErrors: [], notRun };
  const parallel = cfg.inFlight ?? s.inFlight;
  const payloads = payloadsFor(SCENARIOS.broadcast);
  const m = payloads.length;
  const frames = payloads.map((p) => encodeClientFrame(OP_TEXT, p, false, randomMask()));
  const fail = (error: string, done: ScaleStep[]): GeneratorResult => ({ ok: false, error, windows: [], checked: 0, checkErrors: [error], scale: done });

  // warm-up: 100 connections and a few broadcasts, then closed; the baseline is read after they are gone
  const warm = await openMany(cfg, 100, "/broadcast", false, parallel).catch((e: unknown) => e as Error);
  if (warm instanceof Error) return fail(`warm-up: ${warm.message}`, []);
  for (const c of warm) listen(c, () => {});
  for (let i = 0; i < 5; i++) warm[0]!.socket.write(frames[i % m]!);
  await sleep(300);
  closeAll(warm);
  const [sender] = await openMany(cfg, 1, "/broadcast", false);
  let echoed = 0;
  listen(sender!, (got) => (echoed += got));
  const baselineRss = await settledRss(cfg);

  const receivers: Conn[] = [];
  const checkers: Checker[] = [];
  let sentTotal = 0; // broadcasts sent so far
  let delivered = 0; // deliveries counted since the current broadcast went out
  let waiting: (() => void) | null = null;
  let target = 0;
  const onMessages = (n: number) => {
    delivered += n;
    if (waiting && delivered >= target) {
      const w = waiting;
      waiting = null;
      w();
    }
  };
  const sample = (conn: Conn) => {
    const from = sentTotal;
    const checker = new Checker((j) => payloads[(from + j) % m]!, OP_TEXT, true);
    checkers.push(checker);
    conn.scanner.capture = cfg.sample;
    conn.scanner.onCapture = (op, rsv1, payload) => checker.check(op, rsv1, payload);
  };
  const done: ScaleStep[] = [];
  for (const n of steps) {
    const add = n - receivers.length;
    const t0 = process.hrtime.bigint();
    let fresh: Conn[];
    try {
      fresh = await openMany(cfg, add, "/broadcast", false, parallel);
    } catch (e) {
      closeAll([...receivers, sender!]);
      return fail(`opening ${n} connections: ${e instanceof Error ? e.message : String(e)}`, done);
    }
    const handshakeSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    fresh.forEach((c, i) => {
      if ((receivers.length === 0 && i === 0) || i === fresh.length - 1) sample(c);
      listen(c, onMessages);
    });
    receivers.push(...fresh);
    const rss = await settledRss(cfg);
    // the broadcasts
    const latencies: number[] = [];
    const s0 = cpuSeconds(cfg.serverPid);
    const g0 = process.cpuUsage();
    const b0 = process.hrtime.bigint();
    const deadline = Date.now() + cfg.durationMs;
    while (latencies.length < 100 && (latencies.length < 5 || Date.now() < deadline)) {
      delivered = 0;
      target = receivers.length;
      const arrived = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 15_000);
        waiting = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
      const t = process.hrtime.bigint();
      sender!.socket.write(frames[sentTotal % m]!);
      sentTotal++;
      if (!(await arrived)) {
        closeAll([...receivers, sender!]);
        return fail(`${n} connections: broadcast ${sentTotal} reached ${delivered} of ${target} receivers within 15 s`, done);
      }
      latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    const seconds = Number(process.hrtime.bigint() - b0) / 1e9;
    const s1 = cpuSeconds(cfg.serverPid);
    const g1 = process.cpuUsage(g0);
    done.push({
      connections: n,
      handshakesPerSecond: add / handshakeSeconds,
      rss,
      bytesPerConnection: (rss - baselineRss) / n,
      broadcasts: latencies.length,
      deliveriesPerSecond: (latencies.length * n) / seconds,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      serverCpu: s0 !== null && s1 !== null ? ((s1 - s0) / seconds) * 100 : null,
      generatorCpu: ((g1.user + g1.system) / 1e6 / seconds) * 100,
    });
  }
  await sleep(100);
  const broken = receivers.filter((c) => c.scanner.closed || c.socket.destroyed).length;
  closeAll([...receivers, sender!]);
  const r = result([], checkers, broken);
  if (echoed > 0) r.checkErrors.push(`the sender received ${echoed} of its own messages`);
  if (echoed > 0 && r.ok) {
    r.ok = false;
    r.error = r.checkErrors[r.checkErrors.length - 1];
  }
  r.scale = done;
  r.notRun = notRun;
  const top = done[done.length - 1]!;
  r.memory = { baselineRss, loadedRss: top.rss, connections: top.connections, bytesPerConnection: top.bytesPerConnection };
  r.windows = [{ seconds: 0, count: top.connections, rate: top.bytesPerConnection, bytesPerSecond: 0, serverCpu: top.serverCpu, generatorCpu: top.generatorCpu }];
  return r;
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
    case "scale":
      return runScale(cfg, s);
    case "reconnect":
      // run.ts starts reconnect.js for it: the server is restarted mid-run, which the generator cannot do
      return { ok: false, error: "the reconnect scenario runs through reconnect.js", windows: [], checked: 0, checkErrors: [] };
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) {
  const cfg = JSON.parse(process.argv[2] ?? "{}") as GeneratorConfig;
  const kill = setTimeout(() => {
    process.stdout.write(JSON.stringify({ ok: false, error: "generator timed out", windows: [], checked: 0, checkErrors: [] }) + "\n");
    process.exit(2);
  }, cfg.warmupMs + cfg.durationMs * cfg.repeats + (cfg.scenario === "scale" ? 600_000 : 120_000));
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
