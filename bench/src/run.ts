/**
 * The benchmark: starts each server as a child process, drives it with the load generator (another child
 * process), and writes a JSON line per run and a Markdown report.
 *
 *   node bench/dist/run.js [--scenarios small,medium] [--servers ours-node,ws-bufferutil] [--duration 1500]
 *                          [--warmup 1000] [--repeats 2] [--rounds 2] [--quick] [--merge] [--no-pin] [--list]
 *                          [--out results/latest.jsonl] [--md RESULTS.md] [--cpu-prof DIR] [--steps 1000,10000,50000]
 *                          [--reconnect-connections 10000]
 *   node bench/dist/run.js --from results/latest.jsonl [--md RESULTS.md]
 *
 * `scale` (in the full run) opens 1k → 10k → 50k connections on one server process; --quick stops it at 10k,
 * --steps picks the steps. Its processes get a file-descriptor limit of 120,000 (prlimit; root or
 * CAP_SYS_RESOURCE is needed above the hard limit).
 *
 * The report writes its charts (SVG, bench/src/charts.ts) into charts/ beside the Markdown report, which shows them.
 * --from FILE runs nothing: it redraws the charts from a run's JSON lines and puts the Charts section into the
 * existing report (the rest of it, written by that run, stays as it is).
 *
 * On a 2-core machine the server is pinned to CPU 0 and the generator to CPU 1 (taskset), so each gets one core.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync, appendFileSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { GeneratorConfig, GeneratorResult } from "./generator.ts";
import { loadAverage, median, round, sleep } from "./proc.ts";
import { chartsSection, spliceChartsSection, writeCharts } from "./charts.ts";
import { renderReport, type RunRecord } from "./report.ts";
import { SCENARIO_ORDER, SCENARIOS, type ScenarioName } from "./scenarios.ts";
import { BENCH_DIR, runsScenario, SERVERS, type ServerDef } from "./servers.ts";

export interface BenchOptions {
  scenarios: ScenarioName[];
  servers: string[];
  warmupMs: number;
  durationMs: number;
  repeats: number;
  /** rounds through the servers of a scenario (each a fresh server and `repeats` windows); windows are pooled */
  rounds: number;
  sample: number;
  pin: boolean;
  /** JSON lines are written here (null: nowhere) */
  out: string | null;
  /** the Markdown report (null: none) */
  md: string | null;
  /** keep the records of other (server, scenario) pairs already in `out` */
  merge: boolean;
  /** sizes for a smoke run */
  connections?: number;
  /** reconnect: the clients connected, then reconnected (default the scenario's 10,000) */
  reconnectConnections?: number;
  settleMs?: number;
  inFlight?: number;
  /** scale: the connection counts (default the scenario's 1k / 10k / 50k) */
  steps?: number[];
  /** start the Node servers (ours and the peers) with --cpu-prof, profiles into this folder, named after the server */
  cpuProf?: string;
  /** report only: redraw the charts from these JSON lines, run nothing */
  from?: string;
  log: (line: string) => void;
  /** called with each record as soon as its run ends */
  onRecord?: (record: RunRecord) => void;
}

export function defaultOptions(): BenchOptions {
  return {
    scenarios: [...SCENARIO_ORDER],
    servers: SERVERS.map((s) => s.id),
    warmupMs: 1000,
    durationMs: 1500,
    repeats: 2,
    rounds: 2,
    sample: 256,
    pin: true,
    out: join(BENCH_DIR, "results/latest.jsonl"),
    md: join(BENCH_DIR, "RESULTS.md"),
    merge: false,
    log: (line) => console.error(line),
  };
}

export function parseArgs(argv: string[]): BenchOptions & { list: boolean } {
  const o = { ...defaultOptions(), list: false };
  let partial = false;
  let chosenOut = false;
  let chosenMd = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case "--scenarios":
        partial = true;
        o.scenarios = value().split(",") as ScenarioName[];
        for (const s of o.scenarios) if (!SCENARIOS[s]) throw new Error(`unknown scenario ${s} (${SCENARIO_ORDER.join(", ")})`);
        break;
      case "--servers":
        partial = true;
        o.servers = value().split(",");
        for (const s of o.servers) if (!SERVERS.some((d) => d.id === s)) throw new Error(`unknown server ${s} (${SERVERS.map((d) => d.id).join(", ")})`);
        break;
      case "--warmup":
        o.warmupMs = Number(value());
        break;
      case "--duration":
        o.durationMs = Number(value());
        break;
      case "--repeats":
        o.repeats = Number(value());
        break;
      case "--rounds":
        o.rounds = Number(value());
        break;
      case "--sample":
        o.sample = Number(value());
        break;
      case "--quick":
        partial = true;
        o.warmupMs = 500;
        o.durationMs = 1000;
        o.repeats = 2;
        o.rounds = 1;
        o.steps ??= [1000, 10_000];
        break;
      case "--reconnect-connections":
        o.reconnectConnections = Number(value());
        if (!Number.isInteger(o.reconnectConnections) || o.reconnectConnections < 1) throw new Error("--reconnect-connections takes a count, e.g. 2000");
        break;
      case "--steps":
        o.steps = value().split(",").map(Number);
        if (o.steps.some((n) => !Number.isInteger(n) || n < 1)) throw new Error("--steps takes connection counts, e.g. 1000,10000");
        break;
      case "--no-pin":
        o.pin = false;
        break;
      case "--merge":
        o.merge = true;
        break;
      case "--out":
        chosenOut = true;
        o.out = resolve(value());
        break;
      case "--md":
        chosenMd = true;
        o.md = value() === "-" ? null : resolve(argv[i]!);
        break;
      case "--cpu-prof":
        o.cpuProf = resolve(value());
        break;
      case "--from":
        o.from = resolve(value());
        break;
      case "--list":
        o.list = true;
        break;
      case "--help":
      case "-h":
        console.log(readFileSync(new URL(import.meta.url), "utf8").split("*/")[0]);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${a}`);
    }
  }
  // a quick or partial run (an A/B, a check) leaves the committed full run alone unless told where to write
  // (--merge is the way to redo some runs of the full one: it writes there)
  if (partial && !o.merge && !chosenOut) o.out = join(BENCH_DIR, "results/partial.jsonl");
  if (partial && !o.merge && !chosenMd) o.md = null;
  return o;
}

interface Running {
  child: ChildProcess;
  port: number;
  /** the process whose CPU and memory are measured: the child, or the one it names with `SERVER_PID <pid>` */
  pid: number;
  exited: Promise<void>;
}

/** The file-descriptor limit of the scale scenario's processes (50,000 connections and some room). */
export const SCALE_FD_LIMIT = 120_000;

let prlimitWorks: boolean | undefined;
/** Whether `prlimit` can give a child SCALE_FD_LIMIT descriptors here (raising the hard limit needs root). */
function canRaiseFdLimit(): boolean {
  prlimitWorks ??= spawnSync("prlimit", [`--nofile=${SCALE_FD_LIMIT}:${SCALE_FD_LIMIT}`, "true"]).status === 0;
  return prlimitWorks;
}

function pinned(pin: boolean, cpu: number, cmd: string, args: string[], manyFds = false): [string, string[]] {
  // prlimit and taskset both exec the command: the child's pid is the server's (or the generator's)
  if (manyFds && canRaiseFdLimit()) {
    args = [`--nofile=${SCALE_FD_LIMIT}:${SCALE_FD_LIMIT}`, ...(pin ? ["taskset", "-c", String(cpu)] : []), cmd, ...args];
    return ["prlimit", args];
  }
  return pin ? ["taskset", ["-c", String(cpu), cmd, ...args]] : [cmd, args];
}

function canPin(): boolean {
  return availableParallelism() >= 2 && spawnSync("taskset", ["-c", "0", "true"]).status === 0;
}

async function startServer(def: ServerDef, deflate: boolean, o: BenchOptions, manyFds = false): Promise<Running | { unavailable: string }> {
  const command = def.command();
  if ("unavailable" in command) return command;
  let args = command.args;
  if (o.cpuProf && def.runtime === "node" && command.cmd === process.execPath) {
    // every Node server (ours and the peers): one profile per server, named after it
    mkdirSync(o.cpuProf, { recursive: true });
    args = ["--cpu-prof", "--cpu-prof-dir", o.cpuProf, "--cpu-prof-name", `${def.id}.${Date.now()}.cpuprofile`, ...args];
  }
  const [cmd, argv] = pinned(o.pin, 0, command.cmd, args, manyFds);
  const child = spawn(cmd, argv, {
    cwd: BENCH_DIR,
    // BENCH_MAX_CONNECTIONS: our servers' maxConnections (default 10,000) above what the scale scenario opens
    env: { ...process.env, ...command.env, PORT: "0", BENCH_DEFLATE: deflate ? "1" : "0", ...(manyFds ? { BENCH_MAX_CONNECTIONS: String(SCALE_FD_LIMIT) } : {}) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  let pid = child.pid!;
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`${def.id} did not start within 30 s: ${stderr}`)), 30_000);
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /LISTENING (\d+)/.exec(out);
      // a launcher (the Workers servers: workerd is its child) names the process that serves
      const named = /SERVER_PID (\d+)/.exec(out);
      if (named) pid = Number(named[1]);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${def.id} exited (${code ?? signal}) before listening: ${stderr.trim()}`));
    });
  });
  return { child, port, pid, exited };
}

async function stopServer(r: Running): Promise<void> {
  r.child.kill("SIGTERM");
  const killed = await Promise.race([r.exited.then(() => true), sleep(3000).then(() => false)]);
  if (!killed) {
    r.child.kill("SIGKILL");
    await r.exited;
  }
}

function runGenerator(cfg: GeneratorConfig, pin: boolean): Promise<GeneratorResult> {
  const script = join(BENCH_DIR, "dist/generator.js");
  if (!existsSync(script)) return Promise.resolve(failed(`${script} is not built (pnpm --filter @ws/bench build)`));
  const [cmd, args] = pinned(pin, 1, process.execPath, [script, JSON.stringify(cfg)], cfg.scenario === "scale");
  return resultOfChild("generator", cmd, args);
}

/** The reconnect scenario: reconnect.js starts the server (pinned to CPU 0), kills it, starts it again and reconnects every client. */
function runReconnect(def: ServerDef, connections: number, inFlight: number, pin: boolean): Promise<GeneratorResult> {
  const script = join(BENCH_DIR, "dist/reconnect.js");
  if (!existsSync(script)) return Promise.resolve(failed(`${script} is not built (pnpm --filter @ws/bench build)`));
  const argv = [script, "--json", "--servers", def.id, "--connections", String(connections), "--in-flight", String(inFlight), ...(pin ? ["--pin"] : [])];
  const [cmd, args] = pinned(pin, 1, process.execPath, argv);
  return resultOfChild("reconnect", cmd, args, BENCH_DIR);
}

/** Runs a child that prints its GeneratorResult as the last line of its stdout (the last 2,000 characters of stderr kept for the error). */
function resultOfChild(name: string, cmd: string, args: string[], cwd?: string): Promise<GeneratorResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { ...(cwd ? { cwd } : {}), stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    child.once("exit", (code) => {
      const line = out.trim().split("\n").pop() ?? "";
      try {
        resolve(JSON.parse(line) as GeneratorResult);
      } catch {
        resolve(failed(`${name} exited ${code} without a result: ${err.trim() || out.trim()}`));
      }
    });
  });
}

function failed(error: string): GeneratorResult {
  return { ok: false, error, windows: [], checked: 0, checkErrors: [error] };
}

function toRecord(def: ServerDef, scenario: ScenarioName, r: GeneratorResult, note?: string): RunRecord {
  const s = SCENARIOS[scenario];
  const rates = r.windows.map((w) => w.rate);
  const value = rates.length ? median(rates) : null;
  const serverCpus = r.windows.map((w) => w.serverCpu).filter((x): x is number => x !== null);
  return {
    time: new Date().toISOString(),
    server: def.id,
    label: def.label,
    runtime: def.runtime,
    kind: def.kind,
    scenario,
    unit: s.unit,
    ok: r.ok && !r.skipped,
    skipped: r.skipped ?? note,
    error: r.ok ? undefined : r.error,
    value: r.ok && !r.skipped && value !== null ? round(value, value < 100 ? 2 : 0) : null,
    min: rates.length ? round(Math.min(...rates), 2) : null,
    max: rates.length ? round(Math.max(...rates), 2) : null,
    spreadPct: rates.length > 1 && value ? round(((Math.max(...rates) - Math.min(...rates)) / value) * 100, 1) : null,
    mbPerSecond: r.windows.length && s.kind === "echo" ? round(median(r.windows.map((w) => w.bytesPerSecond)) / 1e6, 1) : null,
    serverCpu: serverCpus.length ? round(median(serverCpus)) : null,
    serverCpuMicrosPerMessage: (s.kind === "echo" || s.kind === "handshake") && serverCpus.length === r.windows.length && r.windows.length ? round(median(r.windows.map((w) => (w.serverCpu! / 100 / w.rate) * 1e6)), 1) : undefined,
    generatorCpu: r.windows.length && s.kind !== "idle" ? round(median(r.windows.map((w) => w.generatorCpu))) : null,
    checked: r.checked,
    checkErrors: r.checkErrors,
    extensions: r.extensions || undefined,
    memory: r.memory,
    reconnect: r.reconnect,
    scale: r.scale,
    notRun: r.notRun,
    repeats: r.windows.length,
    load: loadAverage(),
  };
}

/** The rounds of one (server, scenario) as one result: every window, every check; idle memory: the median round. */
function combine(rounds: GeneratorResult[]): GeneratorResult {
  if (rounds.length === 1) return rounds[0]!;
  const bad = rounds.find((r) => !r.ok);
  const skipped = rounds.find((r) => r.skipped);
  const memories = rounds.map((r) => r.memory).filter((m) => m !== undefined);
  const memory = memories.length ? [...memories].sort((a, b) => a.bytesPerConnection - b.bytesPerConnection)[memories.length >> 1] : undefined;
  return {
    ok: !bad,
    error: bad?.error,
    skipped: skipped?.skipped,
    windows: rounds.flatMap((r) => r.windows),
    checked: rounds.reduce((a, r) => a + r.checked, 0),
    checkErrors: rounds.flatMap((r) => r.checkErrors),
    extensions: rounds[0]!.extensions,
    memory,
    scale: medianScale(rounds),
    notRun: rounds.find((r) => r.notRun)?.notRun,
    // reconnect: the median round by time
    reconnect: [...rounds.map((r) => r.reconnect).filter((x) => x !== undefined)].sort((a, b) => a.reconnectMs - b.reconnectMs)[rounds.filter((r) => r.reconnect).length >> 1],
  };
}

/** Scale over rounds: the round whose top step's RSS per connection is the median (one round: that round). */
function medianScale(rounds: GeneratorResult[]): GeneratorResult["scale"] {
  const with_ = rounds.filter((r) => r.scale?.length);
  if (!with_.length) return undefined;
  const top = (r: GeneratorResult) => r.scale![r.scale!.length - 1]!.bytesPerConnection;
  return [...with_].sort((a, b) => top(a) - top(b))[with_.length >> 1]!.scale;
}

function skippedRecord(def: ServerDef, scenario: ScenarioName, reason: string): RunRecord {
  return toRecord(def, scenario, { ok: true, skipped: reason, windows: [], checked: 0, checkErrors: [] });
}

/** Runs every selected (server, scenario) pair; returns the records. */
export async function runBenchmark(o: BenchOptions): Promise<RunRecord[]> {
  const pin = o.pin && canPin();
  const started = { time: new Date().toISOString(), load: loadAverage() };
  o.log(`load average before: ${started.load.join(" ")}${pin ? "; server on CPU 0, generator on CPU 1" : "; not pinned"}`);
  if (o.out) {
    mkdirSync(dirname(o.out), { recursive: true });
    if (!o.merge) writeFileSync(o.out, "");
  }
  const previous = o.merge && o.out && existsSync(o.out) ? readRecords(o.out) : [];
  const records: RunRecord[] = [];
  const servers = SERVERS.filter((s) => o.servers.includes(s.id));
  // scenario by scenario, and round by round within a scenario: the servers compared in one table run close
  // together in time, so a change in the machine's background load skews their ratios less
  for (const scenario of SCENARIO_ORDER.filter((s) => o.scenarios.includes(s))) {
    const s = SCENARIOS[scenario];
    const defs = servers.filter((def) => runsScenario(def, scenario));
    const results = new Map<string, GeneratorResult[]>();
    const unavailable = new Map<string, string>();
    for (let round = 0; round < o.rounds; round++) {
      for (const def of defs) {
        if (unavailable.has(def.id)) continue;
        const notHere = def.notIn?.[scenario];
        if (notHere) {
          unavailable.set(def.id, notHere);
          continue;
        }
        if (s.kind === "reconnect") {
          // the server is started (twice) by the reconnect generator itself
          const reason = def.runtime === "workers" ? "the Workers servers run behind a launcher that cannot be restarted on the same port" : undefined;
          const command = def.command();
          if (reason || "unavailable" in command) {
            unavailable.set(def.id, reason ?? (command as { unavailable: string }).unavailable);
            continue;
          }
          const result = await runReconnect(def, o.connections !== undefined ? Math.min(o.connections, s.connections) : (o.reconnectConnections ?? s.connections), o.inFlight !== undefined ? Math.min(o.inFlight, s.inFlight) : s.inFlight, pin);
          results.set(def.id, [...(results.get(def.id) ?? []), result]);
          if (o.rounds > 1) o.log(`  round ${round + 1}/${o.rounds} ${describe(toRecord(def, scenario, result))}`);
          continue;
        }
        let result: GeneratorResult;
        let running: Running | { unavailable: string } | undefined;
        try {
          running = await startServer(def, s.deflate, o, s.kind === "scale");
          if ("unavailable" in running) {
            unavailable.set(def.id, running.unavailable);
            continue;
          }
          result = await runGenerator(
            {
              scenario,
              host: "127.0.0.1",
              port: running.port,
              raw: def.kind === "raw",
              serverPid: running.pid,
              warmupMs: o.warmupMs,
              durationMs: o.durationMs,
              repeats: s.kind === "idle" || s.kind === "scale" ? 1 : o.repeats,
              sample: o.sample,
              connections: o.connections !== undefined ? Math.min(o.connections, s.connections) : undefined,
              inFlight: o.inFlight !== undefined ? Math.min(o.inFlight, s.inFlight) : undefined,
              settleMs: o.settleMs,
              steps: o.steps,
            },
            pin,
          );
        } catch (e) {
          result = failed(e instanceof Error ? e.message : String(e));
        } finally {
          if (running && !("unavailable" in running)) await stopServer(running);
        }
        results.set(def.id, [...(results.get(def.id) ?? []), result]);
        if (o.rounds > 1) o.log(`  round ${round + 1}/${o.rounds} ${describe(toRecord(def, scenario, result))}`);
      }
    }
    for (const def of defs) {
      const reason = unavailable.get(def.id);
      const record = reason ? skippedRecord(def, scenario, reason) : toRecord(def, scenario, combine(results.get(def.id) ?? []));
      records.push(record);
      o.log(describe(record));
      if (o.out) appendFileSync(o.out, JSON.stringify(record) + "\n");
      o.onRecord?.(record);
    }
  }
  const finished = { time: new Date().toISOString(), load: loadAverage() };
  o.log(`load average after: ${finished.load.join(" ")}`);
  if (o.md) {
    const all = o.merge ? [...previous.filter((p) => !records.some((r) => r.server === p.server && r.scenario === p.scenario)), ...records] : records;
    const charts = writeCharts(all, join(dirname(o.md), "charts"));
    writeFileSync(o.md, renderReport(all, { started, finished, options: o, pinned: pin, versions: versions(), charts: { list: charts, dir: "charts" } }));
    o.log(`report: ${o.md}`);
  }
  return records;
}

/** Report only (--from): the charts of a recorded run, and the Charts section of its report. */
export function redrawCharts(from: string, md: string | null, log: (line: string) => void): void {
  const records = readRecords(from);
  const dir = join(md ? dirname(md) : BENCH_DIR, "charts");
  const charts = writeCharts(records, dir);
  log(`charts: ${charts.map((c) => c.file).join(", ")} in ${dir}`);
  if (!md) return;
  const section = chartsSection(charts, "charts");
  writeFileSync(md, existsSync(md) ? spliceChartsSection(readFileSync(md, "utf8"), section) : `# Benchmark results\n\n${section}\n`);
  log(`report: ${md}`);
}

export function readRecords(path: string): RunRecord[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as RunRecord);
}

function describe(r: RunRecord): string {
  const head = `${r.scenario.padEnd(10)} ${r.label.padEnd(32)}`;
  if (r.skipped) return `${head} skipped: ${r.skipped}`;
  if (!r.ok) return `${head} FAILED: ${r.error}`;
  const spread = r.spreadPct !== null ? ` ±${r.spreadPct}%` : "";
  const cpu = r.serverCpu !== null ? `  server ${r.serverCpu}% cpu${r.serverCpuMicrosPerMessage != null ? ` (${r.serverCpuMicrosPerMessage} µs/msg)` : ""}` : "";
  const gen = r.generatorCpu !== null ? `  generator ${r.generatorCpu}% cpu` : "";
  const steps = r.scale?.length
    ? "\n" +
      r.scale
        .map((st) => `             ${String(st.connections).padStart(6)} conns: ${Math.round(st.handshakesPerSecond)} handshakes/s, ${Math.round(st.bytesPerConnection)} B/conn, ${Math.round(st.deliveriesPerSecond)} deliveries/s, p50 ${st.p50Ms.toFixed(1)} ms, p99 ${st.p99Ms.toFixed(1)} ms`)
        .join("\n")
    : "";
  const notRun = r.notRun ? `\n             ${r.notRun}` : "";
  return `${head} ${String(r.value).padStart(10)} ${r.unit}${spread}${cpu}${gen}  (${r.checked} checked)${steps}${notRun}`;
}

function versions(): Record<string, string> {
  const v: Record<string, string> = { node: process.version };
  for (const def of SERVERS) {
    if (def.runtime === "workers" && !v.workerd) {
      try {
        const require = createRequire(join(BENCH_DIR, "../packages/cloudflare/package.json"));
        const miniflare = require.resolve("miniflare");
        v.workerd = (JSON.parse(readFileSync(createRequire(miniflare).resolve("workerd/package.json"), "utf8")) as { version: string }).version;
      } catch {
        // not installed
      }
    }
    if (def.runtime === "node" || def.runtime === "workers" || v[def.runtime]) continue;
    const command = def.command();
    if ("unavailable" in command) continue;
    const r = spawnSync(command.cmd, ["--version"], { encoding: "utf8" });
    if (r.status === 0) v[def.runtime] = r.stdout.split("\n")[0]!.trim().replace(/^(bun|deno)\s+/, "").replace(/\s*\(.*$/, "");
  }
  for (const pkg of ["ws", "crossws", "bufferutil"]) {
    try {
      const json = JSON.parse(readFileSync(join(BENCH_DIR, "node_modules", pkg, "package.json"), "utf8")) as { version: string };
      v[pkg] = json.version;
    } catch {
      // not installed
    }
  }
  return v;
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname);
if (isMain) {
  const o = parseArgs(process.argv.slice(2));
  if (o.list) {
    for (const def of SERVERS) {
      const c = def.command();
      console.log(`${def.id.padEnd(20)} ${def.label.padEnd(34)} ${"unavailable" in c ? `unavailable: ${c.unavailable}` : "available"}`);
    }
    process.exit(0);
  }
  if (o.from) {
    redrawCharts(o.from, o.md, o.log);
    process.exit(0);
  }
  o.onRecord = (r) => process.stdout.write(JSON.stringify(r) + "\n");
  runBenchmark(o).then(
    (records) => {
      const failures = records.filter((r) => !r.ok && !r.skipped);
      process.exit(failures.length ? 1 : 0);
    },
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
