/**
 * What one connection costs a server: CPU to set it up (the handshake and the connection's setup) and memory to
 * keep it idle. Several servers in one run, interleaved round by round, so an old build (BENCH_ALT, e.g.
 * `ours-bun-core-alt`) and a new one see the same machine:
 *
 *   node bench/dist/setup-cost.js <server-id,server-id,…> [connections=3000] [inFlight=64] [rounds=3] [--prof DIR]
 *
 * Each round starts each server afresh (an id from servers.ts), opens and closes a warm-up of 1,000 handshakes,
 * then opens `connections` raw-TCP handshakes, `inFlight` at a time, and keeps them idle. Reported per server, the
 * median of the rounds:
 *  - `cpuMicrosPerHandshake`: the server's user + system CPU time (/proc/<pid>/stat) while they opened, per
 *    handshake — a measure that does not depend on how fast this one-process client is;
 *  - `heapBytesPerConnection` (Node, Bun and Deno, after a full GC: a preload answers SIGWINCH with its heap size);
 *  - `rssBytesPerConnection` after that GC, and `rssNoGcBytesPerConnection` as the bench's idle
 *    scenario reads it, without a GC (the handshakes' garbage counts).
 * `--prof DIR`: the servers run with their runtime's CPU profiler (`--cpu-prof`, a sample every 100 µs, on Node
 * and Bun), written to DIR when they exit, right after the handshakes (no memory readings, no closes but the
 * warm-up's). `--perf FILE`: `perf record -g` attached to each server while its handshakes run, to FILE.<id>
 * (`perf report -i FILE.<id> --no-children`: the native side, system calls and the garbage collector included). (`node bench/dist/profile.js DIR/<file>.cpuprofile --filter packages/` summarizes one).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cpuSeconds, listeningPort, median, rssBytes, sleep } from "./proc.ts";
import { SERVERS, type ServerDef } from "./servers.ts";

const args = process.argv.slice(2);
const profIndex = args.indexOf("--prof");
const profDir = profIndex >= 0 ? args[profIndex + 1] : undefined;
const perfIndex = args.indexOf("--perf");
const perfFile = perfIndex >= 0 ? args[perfIndex + 1] : undefined;
const positional = args.filter((a, i) => !a.startsWith("--") && (profIndex < 0 || i !== profIndex + 1) && (perfIndex < 0 || i !== perfIndex + 1));
const [ids = "ours-bun-core", nArg, inFlightArg, roundsArg] = positional;
const N = Number(nArg ?? 3000);
const IN_FLIGHT = Number(inFlightArg ?? 64);
const ROUNDS = Number(roundsArg ?? 3);
/** handshakes opened and closed before the measure (SETUP_WARMUP; default 1,000) */
const WARM_UP = Number(process.env.SETUP_WARMUP ?? 1000);

const dir = mkdtempSync(join(tmpdir(), "setup-cost-"));
const memoryFile = join(dir, "memory.json");
// SIGWINCH: a full GC, then the heap's size and the RSS to memoryFile; SIGTERM: exit (a CPU profile is written on exit)
const HOOKS = {
  node:
    `import { writeFileSync } from "node:fs"; process.on("SIGWINCH", () => { globalThis.gc(); globalThis.gc(); const m = process.memoryUsage();` +
    ` writeFileSync(${JSON.stringify(memoryFile)}, JSON.stringify({ heap: m.heapUsed, rss: m.rss })); }); process.on("SIGTERM", () => process.exit(0));`,
  bun:
    `import { heapStats } from "bun:jsc"; import { writeFileSync } from "node:fs"; process.on("SIGWINCH", () => { Bun.gc(true); Bun.gc(true);` +
    ` writeFileSync(${JSON.stringify(memoryFile)}, JSON.stringify({ heap: heapStats().heapSize, rss: process.memoryUsage().rss })); });` +
    ` process.on("SIGTERM", () => process.exit(0));`,
};
const bunHook = join(dir, "bun-hook.ts");
writeFileSync(bunHook, HOOKS.bun);
// Deno: the same through Deno's own signal listener (a full GC needs --v8-flags=--expose-gc)
const denoHook = join(dir, "deno-hook.ts");
writeFileSync(
  denoHook,
  `Deno.addSignalListener("SIGWINCH", () => { (globalThis as { gc?: () => void }).gc?.(); (globalThis as { gc?: () => void }).gc?.(); const m = Deno.memoryUsage();` +
    ` Deno.writeTextFileSync(${JSON.stringify(memoryFile)}, JSON.stringify({ heap: m.heapUsed, rss: m.rss })); });` +
    ` Deno.addSignalListener("SIGTERM", () => Deno.exit(0));`,
);

interface Reading {
  cpuMicrosPerHandshake: number;
  userSystemMicros: [number, number];
  heapBytesPerConnection: number | null;
  rssBytesPerConnection: number;
  /** as the bench's idle scenario reads it: no GC forced (the handshakes' garbage counts) */
  rssNoGcBytesPerConnection: number;
}

function start(def: ServerDef): ChildProcess {
  const command = def.command();
  if ("unavailable" in command) throw new Error(`${def.id}: ${command.unavailable}`);
  let cmdArgs = command.args;
  const prof = profDir
    ? ["--cpu-prof", "--cpu-prof-interval=100", `--cpu-prof-dir=${profDir}`, `--cpu-prof-name=${def.id.replace(/[^\w.-]/g, "_")}-${Date.now()}.cpuprofile`]
    : [];
  if (def.runtime === "node") cmdArgs = [...prof, "--expose-gc", `--import=data:text/javascript,${encodeURIComponent(HOOKS.node)}`, ...cmdArgs];
  else if (def.runtime === "bun") cmdArgs = [...prof, `--preload=${bunHook}`, ...cmdArgs];
  else if (def.runtime === "deno" && cmdArgs[0] === "run") cmdArgs = ["run", "--v8-flags=--expose-gc", `--preload=${denoHook}`, ...cmdArgs.slice(1)];
  return spawn(command.cmd, cmdArgs, { env: { ...process.env, ...command.env, BENCH_DEFLATE: "0", PORT: "0" }, stdio: ["ignore", "pipe", "inherit"] });
}

function handshake(port: number, raw: boolean): Promise<net.Socket> {
  const request =
    `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let head = "";
    socket.once("connect", () => socket.write(request));
    socket.on("error", reject);
    const onData = (chunk: Buffer) => {
      head += chunk.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      socket.off("data", onData);
      if (raw && head.startsWith("GET ")) return resolve(socket);
      if (!head.startsWith("HTTP/1.1 101")) return reject(new Error(`refused: ${head.split("\r\n")[0]}`));
      resolve(socket);
    };
    socket.on("data", onData);
  });
}

async function openMany(port: number, raw: boolean, count: number): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      sockets.push(await handshake(port, raw));
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, count) }, worker));
  return sockets;
}

async function closeAll(sockets: net.Socket[]): Promise<void> {
  await Promise.all(sockets.map((s) => new Promise<void>((resolve) => (s.once("close", () => resolve()), s.destroy()))));
}

function cpuSplit(pid: number): [number, number] {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return [Number(fields[11]) / 100, Number(fields[12]) / 100];
}

/** After a full GC (Node, Bun, Deno): the heap's size and the RSS; elsewhere the RSS only (median of a few reads). */
async function memory(def: ServerDef, child: ChildProcess): Promise<{ heap: number | null; rss: number }> {
  if (def.runtime === "node" || def.runtime === "bun" || def.runtime === "deno") {
    rmSync(memoryFile, { force: true });
    child.kill("SIGWINCH");
    for (let i = 0; i < 100; i++) {
      await sleep(100);
      try {
        const m = JSON.parse(readFileSync(memoryFile, "utf8")) as { heap: number; rss: number };
        await sleep(300);
        return { heap: m.heap, rss: median([m.rss, rssBytes(child.pid!) ?? m.rss, rssBytes(child.pid!) ?? m.rss]) };
      } catch {
        // not written yet
      }
    }
  }
  const reads: number[] = [];
  for (let i = 0; i < 6; i++) {
    await sleep(250);
    reads.push(rssBytes(child.pid!) ?? NaN);
  }
  return { heap: null, rss: median(reads) };
}

/** The RSS without a GC: the median of a few reads. */
async function steadyRss(child: ChildProcess): Promise<number> {
  const reads: number[] = [];
  for (let i = 0; i < 5; i++) {
    await sleep(200);
    reads.push(rssBytes(child.pid!) ?? NaN);
  }
  return median(reads);
}

async function measure(def: ServerDef): Promise<Reading> {
  const child = start(def);
  const port = await listeningPort(child);
  const raw = def.kind === "raw";
  await closeAll(await openMany(port, raw, WARM_UP));
  await sleep(1000);
  // profiled: no memory readings (their full GCs would fill the profile), and the server exits before the closes
  const rssNoGcBefore = profDir ? 0 : await steadyRss(child);
  const before = profDir ? { heap: null, rss: 0 } : await memory(def, child);
  const cpu0 = cpuSeconds(child.pid!)!;
  const split0 = cpuSplit(child.pid!);
  // --perf FILE: `perf record` attached to the server while the handshakes run (the native side: syscalls, GC)
  const perf = perfFile ? spawn("perf", ["record", "-F", "4000", "-g", "-p", String(child.pid), "-o", `${perfFile}.${def.id.replace(/[^\w.-]/g, "_")}`], { stdio: "ignore" }) : null;
  if (perf) await sleep(1000);
  const sockets = await openMany(port, raw, N);
  if (perf) {
    const stopped = new Promise((resolve) => perf.once("exit", resolve));
    perf.kill("SIGINT");
    await stopped;
  }
  const cpu = (cpuSeconds(child.pid!)! - cpu0) / N;
  const split1 = cpuSplit(child.pid!);
  await sleep(500);
  const rssNoGcAfter = profDir ? 0 : await steadyRss(child);
  const after = profDir ? { heap: null, rss: 0 } : await memory(def, child);
  const exited = new Promise((resolve) => child.once("exit", resolve));
  if (profDir) child.kill("SIGTERM");
  await closeAll(sockets);
  if (!profDir) child.kill("SIGTERM");
  await exited;
  return {
    cpuMicrosPerHandshake: Math.round(cpu * 1e6),
    userSystemMicros: [Math.round(((split1[0] - split0[0]) / N) * 1e6), Math.round(((split1[1] - split0[1]) / N) * 1e6)],
    heapBytesPerConnection: after.heap === null || before.heap === null ? null : Math.round((after.heap - before.heap) / N),
    rssBytesPerConnection: Math.round((after.rss - before.rss) / N),
    rssNoGcBytesPerConnection: Math.round((rssNoGcAfter - rssNoGcBefore) / N),
  };
}

// "id@NAME=value+NAME=value": the server `id` with more environment variables (an experiment's switch), as a server of its own
const defs = ids.split(",").map((spec): ServerDef => {
  const [id = "", extra] = spec.split("@");
  const def = SERVERS.find((s) => s.id === id);
  if (!def) throw new Error(`no server ${id}; one of ${SERVERS.map((s) => s.id).join(", ")}`);
  if (!extra) return def;
  const env = Object.fromEntries(extra.split("+").map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
  return {
    ...def,
    id: spec,
    command() {
      const c = def.command();
      return "unavailable" in c ? c : { ...c, env: { ...c.env, ...env } };
    },
  };
});
const readings = new Map<string, Reading[]>(defs.map((d) => [d.id, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const def of defs) {
    const r = await measure(def);
    readings.get(def.id)!.push(r);
    console.log(JSON.stringify({ round, server: def.id, ...r }));
  }
}
for (const def of defs) {
  const rs = readings.get(def.id)!;
  const heaps = rs.map((r) => r.heapBytesPerConnection).filter((h): h is number => h !== null);
  console.log(
    JSON.stringify({
      server: def.id,
      connections: N,
      inFlight: IN_FLIGHT,
      rounds: ROUNDS,
      cpuMicrosPerHandshake: median(rs.map((r) => r.cpuMicrosPerHandshake)),
      heapBytesPerConnection: heaps.length ? median(heaps) : null,
      rssBytesPerConnection: median(rs.map((r) => r.rssBytesPerConnection)),
      rssNoGcBytesPerConnection: median(rs.map((r) => r.rssNoGcBytesPerConnection)),
    }),
  );
}
rmSync(dir, { recursive: true, force: true });
