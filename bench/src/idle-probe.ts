/**
 * Idle memory per connection and handshake rate, for one server at a time (issue 16):
 *
 *   node bench/dist/idle-probe.js <server-id> [connections=5000] [inFlight=256] [--deflate] [--snapshot]
 *
 * Starts the server (an id from servers.ts: ours-node, ws-node, ours-bun-core, ours-deno-core, …), opens and
 * closes a warm-up round, then opens `connections` raw-TCP WebSocket handshakes with `inFlight` at once (the
 * handshake rate is that phase's connections / seconds), keeps them idle and reports the server's RSS growth
 * per connection (/proc, median of several reads). `--deflate` offers permessage-deflate (and starts the server
 * with BENCH_DEFLATE=1). `--snapshot` (Node servers): heap snapshots before and after, and the self sizes that
 * grew, by constructor, per connection. PROBE_SERVER_FLAGS adds node flags to a Node server (e.g. "--cpu-prof
 * --cpu-prof-dir=/tmp/prof"); PROBE_KEEP_SNAPSHOTS=1 keeps the snapshots.
 *
 * Two RSS readings: `rssBytesPerConnectionNoGc` as the bench's idle scenario reads it (no GC: garbage left by the
 * handshakes, and heap the collector has grown and not given back, count), and on Node `rssBytesPerConnection`
 * after a full GC; `heapSpacesNoGc` (Node) says where the heap grew before that GC (committed bytes per
 * connection by V8 space), `afterGc` what is left after it. A raw TCP echo server (raw-node, raw-bun, raw-deno)
 * works too: it echoes the request, which counts as its handshake — the floor a runtime's sockets impose.
 * PROBE_STRACE=1: the server's system calls while the connections open (`strace -c -f` attached to it), per
 * handshake and by call (`syscallsPerHandshake`, `syscalls`): a count that does not depend on the machine's load.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync, rmSync, mkdtempSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cpuSeconds, listeningPort, median, rssBytes, sleep } from "./proc.ts";
import { SERVERS } from "./servers.ts";

const args = process.argv.slice(2);
const flags = new Set(args.filter((a) => a.startsWith("--")));
const [id = "ours-node", nArg, inFlightArg] = args.filter((a) => !a.startsWith("--"));
const N = Number(nArg ?? 5000);
const IN_FLIGHT = Number(inFlightArg ?? 256);
const deflate = flags.has("--deflate");
const snapshot = flags.has("--snapshot");

const def = SERVERS.find((s) => s.id === id);
if (!def) throw new Error(`no server ${id}; one of ${SERVERS.map((s) => s.id).join(", ")}`);
const command = def.command();
if ("unavailable" in command) throw new Error(command.unavailable);

const snapDir = mkdtempSync(join(tmpdir(), "idle-probe-"));
// Node servers: a preload answers SIGWINCH with a full GC and its process.memoryUsage() (in snapDir/memory.json)
// SIGURG: the same without a GC, with V8's heap spaces (committed and used bytes), in snapDir/spaces.json
const MEMORY_HOOK =
  `import { writeFileSync } from "node:fs"; import v8 from "node:v8"; process.on("SIGWINCH", () => { globalThis.gc?.(); globalThis.gc?.(); writeFileSync(` +
  `${JSON.stringify(join(snapDir, "memory.json"))}, JSON.stringify(process.memoryUsage())); });` +
  ` process.on("SIGURG", () => writeFileSync(${JSON.stringify(join(snapDir, "spaces.json"))}, JSON.stringify(Object.fromEntries(` +
  `v8.getHeapSpaceStatistics().map((s) => [s.space_name, { committed: s.space_size, used: s.space_used_size }])))));`;
const nodeFlags =
  def.runtime === "node"
    ? [...(process.env.PROBE_SERVER_FLAGS?.split(" ").filter(Boolean) ?? []), "--expose-gc", `--import=data:text/javascript,${encodeURIComponent(MEMORY_HOOK)}`, ...(snapshot ? ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${snapDir}`] : [])]
    : [];
const child: ChildProcess = spawn(command.cmd, [...nodeFlags, ...command.args], {
  env: { ...process.env, ...command.env, BENCH_DEFLATE: deflate ? "1" : "0", PORT: "0" },
  stdio: ["ignore", "pipe", "inherit"],
});
const port = await listeningPort(child);

const REQUEST =
  `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n` +
  (deflate ? "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" : "") +
  "\r\n";

/** One handshake over raw TCP: resolves with the open socket once the 101 has arrived. */
function handshake(): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let head = "";
    socket.setNoDelay(true);
    socket.once("connect", () => socket.write(REQUEST));
    socket.on("error", reject);
    const onData = (chunk: Buffer) => {
      head += chunk.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      socket.off("data", onData);
      if (def!.kind === "raw" && head.startsWith("GET ")) return resolve(socket); // a raw echo: its "handshake"
      if (!head.startsWith("HTTP/1.1 101")) return reject(new Error(`refused: ${head.split("\r\n")[0]}`));
      if (deflate && !/permessage-deflate/i.test(head)) return reject(new Error("permessage-deflate not negotiated"));
      resolve(socket);
    };
    socket.on("data", onData);
  });
}

/** Opens `count` connections, `inFlight` handshakes at a time; resolves with them and the seconds it took. */
async function openMany(count: number, inFlight: number): Promise<{ sockets: net.Socket[]; seconds: number }> {
  const sockets: net.Socket[] = [];
  let next = 0;
  const t0 = process.hrtime.bigint();
  const worker = async () => {
    while (next < count) {
      next++;
      sockets.push(await handshake());
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, worker));
  return { sockets, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

async function closeAll(sockets: net.Socket[]): Promise<void> {
  await Promise.all(sockets.map((s) => new Promise<void>((resolve) => (s.once("close", () => resolve()), s.destroy()))));
}

/** A Node server's memory after a full GC (null on other runtimes). */
async function nodeMemory(): Promise<NodeJS.MemoryUsage | null> {
  if (def!.runtime !== "node") return null;
  const file = join(snapDir, "memory.json");
  rmSync(file, { force: true });
  child.kill("SIGWINCH");
  for (let i = 0; i < 100; i++) {
    await sleep(100);
    try {
      return JSON.parse(readFileSync(file, "utf8")) as NodeJS.MemoryUsage;
    } catch {
      // not written yet
    }
  }
  return null;
}

type Spaces = Record<string, { committed: number; used: number }>;

/** A Node server's V8 heap spaces, without a GC (null on other runtimes). */
async function nodeSpaces(): Promise<Spaces | null> {
  if (def!.runtime !== "node") return null;
  const file = join(snapDir, "spaces.json");
  rmSync(file, { force: true });
  child.kill("SIGURG");
  for (let i = 0; i < 100; i++) {
    await sleep(100);
    try {
      return JSON.parse(readFileSync(file, "utf8")) as Spaces;
    } catch {
      // not written yet
    }
  }
  return null;
}

/** The server's user and system CPU seconds (/proc/<pid>/stat), apart: a handshake's system calls are in the second. */
function cpuSplit(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 };
}

async function steadyRss(): Promise<number> {
  const reads: number[] = [];
  for (let i = 0; i < 8; i++) {
    await sleep(250);
    reads.push(rssBytes(child.pid!) ?? NaN);
  }
  return median(reads);
}

/** Self sizes by constructor name (the node's name for objects, "(type)" for the rest) in a heap snapshot. */
function heapByName(file: string): Map<string, { count: number; bytes: number }> {
  const snap = JSON.parse(readFileSync(file, "utf8")) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const TYPE = fields.indexOf("type");
  const NAME = fields.indexOf("name");
  const SIZE = fields.indexOf("self_size");
  const out = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + TYPE]!]!;
    const name = type === "object" || type === "closure" ? `${type}:${snap.strings[snap.nodes[i + NAME]!]}` : `(${type})`;
    const entry = out.get(name) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += snap.nodes[i + SIZE]!;
    out.set(name, entry);
  }
  return out;
}

async function takeSnapshot(): Promise<string> {
  const before = new Set(readdirSync(snapDir));
  child.kill("SIGUSR2");
  for (;;) {
    await sleep(500);
    const fresh = readdirSync(snapDir).filter((f) => !before.has(f) && f.endsWith(".heapsnapshot"));
    if (fresh.length > 0) {
      // written once its size stops growing
      const file = join(snapDir, fresh[0]!);
      let size = -1;
      for (;;) {
        const now = readFileSync(file).length;
        if (now === size && now > 0) return file;
        size = now;
        await sleep(500);
      }
    }
  }
}

/** Detaches strace (SIGINT) and reads its summary: calls by system call, and "total". */
async function straceCounts(proc: ChildProcess): Promise<Map<string, number>> {
  const exited = new Promise((resolve) => proc.once("exit", resolve));
  proc.kill("SIGINT");
  await exited;
  const counts = new Map<string, number>();
  for (const line of readFileSync(join(snapDir, "strace.txt"), "utf8").split("\n")) {
    // % time, seconds, usecs/call, calls, [errors,] syscall — or the "total" line
    const cols = line.trim().split(/\s+/);
    if (cols.length < 5 || !/^\d/.test(cols[0]!)) continue;
    const name = cols[cols.length - 1]!;
    const calls = Number(cols[3]);
    if (Number.isFinite(calls)) counts.set(name, calls);
  }
  return counts;
}

// a warm-up round: the code paths are compiled and the allocator has grown before the baseline
await closeAll((await openMany(Math.min(1000, N), IN_FLIGHT)).sockets);
await sleep(1000);
const baseSnap = snapshot ? heapByName(await takeSnapshot()) : null;
const memBefore = await nodeMemory();
const rssBefore = await steadyRss();
const spacesBefore = await nodeSpaces();
const cpuBefore = cpuSeconds(child.pid!) ?? NaN;
const splitBefore = cpuSplit(child.pid!);
const strace = process.env.PROBE_STRACE ? spawn("strace", ["-c", "-f", "-p", String(child.pid), "-o", join(snapDir, "strace.txt")], { stdio: "ignore" }) : null;
if (strace) await sleep(1000); // attached
const { sockets, seconds } = await openMany(N, IN_FLIGHT);
const syscalls = strace ? await straceCounts(strace) : null;
// the server's CPU time per handshake does not depend on how fast this one-process client is
const cpuPerHandshake = ((cpuSeconds(child.pid!) ?? NaN) - cpuBefore) / N;
const splitAfter = cpuSplit(child.pid!);
await sleep(1000);
const rssNoGc = await steadyRss();
const spacesAfter = await nodeSpaces();
const memAfter = await nodeMemory();
const rssAfter = await steadyRss();
const loadSnap = snapshot ? heapByName(await takeSnapshot()) : null;

const perConn = (rssAfter - rssBefore) / N;
if (syscalls) {
  const total = syscalls.get("total") ?? 0;
  console.log(
    JSON.stringify({
      server: id,
      syscallsPerHandshake: Number((total / N).toFixed(2)),
      syscalls: Object.fromEntries([...syscalls].filter(([k, v]) => k !== "total" && v / N >= 0.05).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Number((v / N).toFixed(2))])),
    }),
  );
}
console.log(
  JSON.stringify({
    server: id,
    deflate,
    connections: N,
    inFlight: IN_FLIGHT,
    handshakesPerSecond: Math.round(N / seconds),
    serverCpuMicrosPerHandshake: Math.round(cpuPerHandshake * 1e6),
    serverUserSystemMicros: [Math.round(((splitAfter.user - splitBefore.user) / N) * 1e6), Math.round(((splitAfter.system - splitBefore.system) / N) * 1e6)],
    rssBytesPerConnectionNoGc: Math.round((rssNoGc - rssBefore) / N),
    ...(spacesBefore && spacesAfter
      ? {
          heapSpacesNoGc: Object.fromEntries(
            Object.keys(spacesAfter)
              .map((k) => [k, Math.round((spacesAfter[k]!.committed - (spacesBefore[k]?.committed ?? 0)) / N)] as const)
              .filter(([, v]) => v !== 0),
          ),
        }
      : {}),
    rssBytesPerConnection: Math.round(perConn),
    ...(memBefore && memAfter
      ? {
          afterGc: Object.fromEntries(
            (["rss", "heapUsed", "external", "arrayBuffers"] as const).map((k) => [k, Math.round((memAfter[k] - memBefore[k]) / N)]),
          ),
        }
      : {}),
  }),
);
if (baseSnap && loadSnap) {
  const rows = [...loadSnap].map(([name, e]) => {
    const b = baseSnap.get(name) ?? { count: 0, bytes: 0 };
    return { name, perConn: (e.bytes - b.bytes) / N, countPerConn: (e.count - b.count) / N };
  });
  rows.sort((a, b) => b.perConn - a.perConn);
  const total = rows.reduce((s, r) => s + r.perConn, 0);
  console.log(`heap self size per connection: ${total.toFixed(0)} B`);
  for (const r of rows.slice(0, 40)) console.log(`${r.perConn.toFixed(1).padStart(9)} B  ${r.countPerConn.toFixed(2).padStart(6)}×  ${r.name}`);
}
await closeAll(sockets);
child.kill("SIGTERM");
if (process.env.PROBE_KEEP_SNAPSHOTS) console.log(`snapshots kept in ${snapDir}`);
else rmSync(snapDir, { recursive: true, force: true });
