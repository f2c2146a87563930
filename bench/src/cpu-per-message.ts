/**
 * The server's CPU time per message, ours beside a peer, for when the machine is shared and the rates are noise:
 * each server is started pinned to CPU 0 (as run.js does), driven by the load generator pinned to CPU 1, and its
 * CPU time (user + system, /proc/<pid>/stat) over each measured window is divided by the messages (echo) or
 * deliveries (broadcast) of that window. Rounds are interleaved (a fresh server each time), the windows of all
 * rounds pooled; the median is printed with two decimals, and each server's figure over the first server's.
 *
 *   node bench/dist/cpu-per-message.js --servers ours-bun-core,bun-builtin --scenarios small,broadcast --rounds 3
 *   BENCH_ALT=/tmp/old node bench/dist/cpu-per-message.js --servers ours-bun-core,ours-bun-core-alt,bun-builtin
 *
 * Flags: `--servers`, `--scenarios` (small,broadcast), `--rounds N` (3), `--warmup MS` (1000), `--duration MS`
 * (2000, one window), `--repeats N` (2 windows per server start), `--json` (one JSON line per server and scenario).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import type { GeneratorConfig, GeneratorResult } from "./generator.ts";
import { listeningPort, loadAverage, median, round, sleep } from "./proc.ts";
import type { ScenarioName } from "./scenarios.ts";
import { BENCH_DIR, SERVERS, type ServerDef } from "./servers.ts";

interface Options {
  servers: string[];
  scenarios: ScenarioName[];
  rounds: number;
  warmupMs: number;
  durationMs: number;
  repeats: number;
  json: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { servers: ["ours-bun-core", "bun-builtin"], scenarios: ["small", "broadcast"], rounds: 3, warmupMs: 1000, durationMs: 2000, repeats: 2, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = () => argv[++i] ?? "";
    if (a === "--servers") o.servers = next().split(",");
    else if (a === "--scenarios") o.scenarios = next().split(",") as ScenarioName[];
    else if (a === "--rounds") o.rounds = Number(next());
    else if (a === "--warmup") o.warmupMs = Number(next());
    else if (a === "--duration") o.durationMs = Number(next());
    else if (a === "--repeats") o.repeats = Number(next());
    else if (a === "--json") o.json = true;
    else throw new Error(`unknown flag ${a}`);
  }
  return o;
}

async function start(def: ServerDef): Promise<{ child: ChildProcess; port: number; exited: Promise<void> }> {
  const command = def.command();
  if ("unavailable" in command) throw new Error(`${def.id}: ${command.unavailable}`);
  const child = spawn("taskset", ["-c", "0", command.cmd, ...command.args], {
    cwd: BENCH_DIR,
    env: { ...process.env, ...command.env, PORT: "0", BENCH_DEFLATE: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const port = await listeningPort(child, (code) => `${def.id} exited (${code}) before listening: ${stderr}`);
  return { child, port, exited };
}

function generate(cfg: GeneratorConfig): Promise<GeneratorResult> {
  return new Promise((resolve) => {
    const child = spawn("taskset", ["-c", "1", process.execPath, join(BENCH_DIR, "dist/generator.js"), JSON.stringify(cfg)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.once("exit", () => {
      try {
        resolve(JSON.parse(out.trim().split("\n").pop() ?? "") as GeneratorResult);
      } catch {
        resolve({ ok: false, error: out, windows: [], checked: 0, checkErrors: [] });
      }
    });
  });
}

const o = parseArgs(process.argv.slice(2));
const defs = o.servers.map((id) => {
  const d = SERVERS.find((s) => s.id === id);
  if (!d) throw new Error(`no server ${id} (node bench/dist/run.js --list)`);
  return d;
});
console.error(`load average before: ${loadAverage().join(" ")}`);
for (const scenario of o.scenarios) {
  const perServer = new Map<string, { micros: number[]; rates: number[]; cpu: number[] }>();
  for (let round = 0; round < o.rounds; round++) {
    for (const def of defs) {
      const s = await start(def);
      const r = await generate({ scenario, host: "127.0.0.1", port: s.port, raw: def.kind === "raw", serverPid: s.child.pid!, warmupMs: o.warmupMs, durationMs: o.durationMs, repeats: o.repeats, sample: 64 });
      s.child.kill("SIGTERM");
      await Promise.race([s.exited, sleep(3000)]);
      if (!r.ok) {
        console.error(`${scenario} ${def.id}: FAILED ${r.error ?? r.checkErrors.join("; ")}`);
        continue;
      }
      const acc = perServer.get(def.id) ?? { micros: [], rates: [], cpu: [] };
      for (const w of r.windows) {
        if (w.serverCpu === null || w.count === 0) continue;
        acc.micros.push(((w.serverCpu / 100) * w.seconds * 1e6) / w.count);
        acc.rates.push(w.rate);
        acc.cpu.push(w.serverCpu);
      }
      perServer.set(def.id, acc);
    }
  }
  const first = perServer.get(defs[0]!.id);
  const firstMicros = first ? median(first.micros) : NaN;
  for (const def of defs) {
    const acc = perServer.get(def.id);
    if (!acc) continue;
    const micros = median(acc.micros);
    const line = {
      scenario,
      server: def.id,
      microsPerMessage: round(micros, 3),
      range: [round(Math.min(...acc.micros), 3), round(Math.max(...acc.micros), 3)],
      rate: Math.round(median(acc.rates)),
      serverCpu: round(median(acc.cpu), 0),
      overFirst: round(micros / firstMicros, 2),
    };
    if (o.json) console.log(JSON.stringify(line));
    else console.log(`${scenario.padEnd(10)} ${def.label.padEnd(28)} ${micros.toFixed(2)} µs/msg [${line.range.join("–")}]  ${line.overFirst}× of ${defs[0]!.id}  (${line.rate} /s, server ${line.serverCpu}% cpu, ${acc.micros.length} windows)`);
  }
}
console.error(`load average after: ${loadAverage().join(" ")}`);
