/**
 * The `reconnect` scenario (issue 26): the day a server restarts, every client reconnects at once.
 *
 *   node bench/dist/reconnect.js [--servers ours-node,ws-bufferutil,bun-builtin,deno-builtin]
 *                                [--connections 10000] [--in-flight 256] [--rounds 1] [--out FILE] [--pin] [--json]
 *
 * It is also the `reconnect` scenario of run.ts, which starts it as its load generator (`--json`: one result
 * line as the generator prints it; `--pin`: the servers on CPU 0, as run.ts pins them).
 *
 * For each server (an id from servers.ts): start it, open `connections` WebSocket connections (raw TCP, the
 * bench's own handshake, `in-flight` at once), then kill it (SIGKILL: every connection drops at once) and start
 * it again on the same port. Once the new process prints LISTENING, every client reconnects — `in-flight`
 * handshakes at a time, no backoff: a refused or failed attempt is retried at once (counted). Reported:
 *
 * - `reconnectMs`: from LISTENING of the new process until every connection is open again;
 * - `handshakesPerSecond`: connections / reconnectMs;
 * - `peakRssBytes`: the new process's peak resident memory (VmHWM in /proc/<pid>/status) once all are open,
 *   and `rssPerConnection` (its RSS then, less its RSS at LISTENING, per connection);
 * - `serverCpuMicrosPerHandshake`: the new process's CPU time over the storm, per connection (steadier than the
 *   time when other work shares the machine);
 * - `retries`: attempts that failed and were made again.
 *
 * The full run is 10,000 connections per server; `--connections 2000` is a quicker look. Timing figures are
 * only comparable within one run (servers interleaved over `--rounds`).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import * as net from "node:net";
import { cpuSeconds, listeningPort, median, rssBytes, sleep } from "./proc.ts";
import { checkUpgradeResponse, HandshakeKeys } from "./wire.ts";
import { SERVERS, type ServerDef } from "./servers.ts";

interface Options {
  servers: string[];
  connections: number;
  inFlight: number;
  rounds: number;
  out?: string;
  /** the servers on CPU 0 (taskset) */
  pin: boolean;
  /** one GeneratorResult line for run.ts */
  json: boolean;
}

function parse(argv: string[]): Options {
  const o: Options = { servers: ["ours-node", "ws-bufferutil", "ours-bun-core", "bun-builtin", "ours-deno-core", "deno-builtin"], connections: 10_000, inFlight: 256, rounds: 1, pin: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    const value = () => argv[++i] ?? "";
    switch (argv[i]) {
      case "--servers":
        o.servers = value().split(",");
        break;
      case "--connections":
        o.connections = Number(value());
        break;
      case "--in-flight":
        o.inFlight = Number(value());
        break;
      case "--rounds":
        o.rounds = Number(value());
        break;
      case "--out":
        o.out = value();
        break;
      case "--pin":
        o.pin = true;
        break;
      case "--json":
        o.json = true;
        break;
      case "--help":
        console.log("node bench/dist/reconnect.js [--servers a,b] [--connections 10000] [--in-flight 256] [--rounds 1] [--out FILE] [--pin] [--json]");
        process.exit(0);
        break;
      default:
        throw new Error(`unknown flag ${argv[i]}`);
    }
  }
  if (!Number.isInteger(o.connections) || o.connections < 1) throw new Error("--connections takes a count");
  return o;
}

/** Starts a server; resolves with its process and port once it prints LISTENING. */
function start(def: ServerDef, port: number, connections: number, pin: boolean): Promise<{ child: ChildProcess; port: number }> {
  const command = def.command();
  if ("unavailable" in command) return Promise.reject(new Error(command.unavailable));
  // taskset execs the command: the child's pid is the server's
  const [cmd, args] = pin ? ["taskset", ["-c", "0", command.cmd, ...command.args]] : [command.cmd, command.args];
  const child = spawn(cmd, args, {
    env: { ...process.env, ...command.env, PORT: String(port), BENCH_DEFLATE: "0", BENCH_MAX_CONNECTIONS: String(connections + 1000) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return listeningPort(child, (code, out) => `${def.id} exited (${code}) before listening: ${out.slice(0, 200)}`).then((listening) => ({ child, port: listening }));
}

function peakRss(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

class Clients {
  readonly sockets = new Set<net.Socket>();
  retries = 0;
  /** the generator's CPU time over the last open() */
  cpu: NodeJS.CpuUsage = { user: 0, system: 0 };
  private readonly keys: HandshakeKeys;
  private readonly port: number;
  constructor(port: number) {
    this.port = port;
    this.keys = new HandshakeKeys("127.0.0.1", port, "/", false);
  }

  /** One handshake: the open socket once its 101 has arrived and been checked in full (status, Upgrade, Connection, Sec-WebSocket-Accept for the key sent), or an error. */
  private handshake(): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(this.port, "127.0.0.1");
      const { request, accept } = this.keys.next();
      let head: Buffer | null = null;
      socket.once("connect", () => socket.write(request));
      socket.once("error", (e) => (socket.destroy(), reject(e)));
      socket.once("close", () => reject(new Error("closed during the handshake")));
      const onData = (chunk: Buffer) => {
        const buf = head ? (head = Buffer.concat([head, chunk])) : chunk;
        const r = checkUpgradeResponse(buf, accept, false);
        if (r === null) {
          head ??= chunk;
          return;
        }
        socket.off("data", onData);
        if ("error" in r) return (socket.destroy(), reject(new Error(`refused: ${r.error}`)));
        socket.on("error", () => {});
        resolve(socket);
      };
      socket.on("data", onData);
    });
  }

  /** Opens connections until `count` are open, `inFlight` attempts at a time; a failed attempt is made again at once. */
  async open(count: number, inFlight: number, deadline: number): Promise<void> {
    let wanted = count - this.sockets.size;
    const worker = async () => {
      while (wanted > 0) {
        wanted--;
        for (;;) {
          if (Date.now() > deadline) throw new Error(`not all open by the deadline (${this.sockets.size}/${count})`);
          try {
            const socket = await this.handshake();
            this.sockets.add(socket);
            socket.once("close", () => this.sockets.delete(socket));
            break;
          } catch {
            this.retries++;
          }
        }
      }
    };
    const cpu0 = process.cpuUsage();
    try {
      await Promise.all(Array.from({ length: Math.min(inFlight, count) }, worker));
    } finally {
      this.cpu = process.cpuUsage(cpu0);
    }
  }

  /** Resolves once every socket has seen its close (after the server went away). */
  async allClosed(deadline: number): Promise<void> {
    while (this.sockets.size > 0) {
      if (Date.now() > deadline) throw new Error(`${this.sockets.size} connections still open after the server was killed`);
      await sleep(20);
    }
  }

  destroyAll(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }
}

interface Result {
  server: string;
  connections: number;
  inFlight: number;
  reconnectMs: number;
  handshakesPerSecond: number;
  peakRssBytes: number | null;
  rssPerConnection: number | null;
  serverCpuMicrosPerHandshake: number | null;
  /** this generator's CPU time over the storm, per connection (the reconnection only, not the first opening) */
  generatorCpuMicrosPerHandshake: number;
  retries: number;
  load: number;
}

/** One reconnect run against one server (see the module comment). */
export async function run(def: ServerDef, o: Pick<Options, "connections" | "inFlight" | "pin">): Promise<Result> {
  const first = await start(def, 0, o.connections, o.pin);
  const clients = new Clients(first.port);
  const deadline = Date.now() + 120_000;
  try {
    await clients.open(o.connections, o.inFlight, deadline);
  } catch (e) {
    first.child.kill("SIGKILL");
    throw e;
  }
  const exited = new Promise((resolve) => first.child.once("exit", resolve));
  first.child.kill("SIGKILL");
  await exited;
  await clients.allClosed(deadline);
  clients.retries = 0;
  const second = await start(def, first.port, o.connections, o.pin);
  const pid = second.child.pid!;
  try {
    const rssAtListening = rssBytes(pid);
    const cpuAtListening = cpuSeconds(pid);
    const t0 = performance.now();
    await clients.open(o.connections, o.inFlight, Date.now() + 120_000);
    const ms = performance.now() - t0;
    const cpu = cpuSeconds(pid);
    const rssNow = rssBytes(pid);
    return {
      server: def.id,
      connections: o.connections,
      inFlight: o.inFlight,
      reconnectMs: Math.round(ms),
      handshakesPerSecond: Math.round(o.connections / (ms / 1000)),
      peakRssBytes: peakRss(pid),
      rssPerConnection: rssNow !== null && rssAtListening !== null ? Math.round((rssNow - rssAtListening) / o.connections) : null,
      serverCpuMicrosPerHandshake: cpu !== null && cpuAtListening !== null ? Math.round(((cpu - cpuAtListening) / o.connections) * 1e6) : null,
      generatorCpuMicrosPerHandshake: Math.round((clients.cpu.user + clients.cpu.system) / o.connections),
      retries: clients.retries,
      load: Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]),
    };
  } finally {
    clients.destroyAll();
    second.child.kill("SIGKILL");
  }
}

/** The result as run.ts's generator reports one (GeneratorResult): the rate is handshakes/s of the reconnection. */
function asGeneratorResult(r: Result) {
  const seconds = r.reconnectMs / 1000;
  return {
    ok: true,
    windows: [
      {
        seconds,
        count: r.connections,
        rate: r.handshakesPerSecond,
        bytesPerSecond: 0,
        serverCpu: r.serverCpuMicrosPerHandshake === null ? null : Math.round(((r.serverCpuMicrosPerHandshake * r.connections) / 1e6 / seconds) * 100),
        // over the reconnection only (it was over the whole process before: the first opening and the restart too)
        generatorCpu: Math.round(((r.generatorCpuMicrosPerHandshake * r.connections) / 1e6 / seconds) * 100),
      },
    ],
    checked: r.connections,
    checkErrors: [],
    memory: r.peakRssBytes === null ? undefined : { baselineRss: 0, loadedRss: r.peakRssBytes, connections: r.connections, bytesPerConnection: r.rssPerConnection ?? 0 },
    reconnect: r,
  };
}

const main = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
const o = main ? parse(process.argv.slice(2)) : null;
if (o?.json) {
  // run.ts's generator: one server, one line
  const def = SERVERS.find((s) => s.id === o.servers[0]);
  try {
    if (!def) throw new Error(`no server ${o.servers[0]}`);
    console.log(JSON.stringify(asGeneratorResult(await run(def, o))));
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    console.log(JSON.stringify({ ok: false, error, windows: [], checked: 0, checkErrors: [error] }));
  }
  process.exit(0);
}
if (o) await cli(o);

async function cli(o: Options): Promise<void> {
  const defs = o.servers.map((id) => {
    const def = SERVERS.find((s) => s.id === id);
    if (!def) throw new Error(`no server ${id}; one of ${SERVERS.map((s) => s.id).join(", ")}`);
    return def;
  });
  const results = new Map<string, Result[]>();
  for (let round = 0; round < o.rounds; round++) {
    for (const def of defs) {
      const command = def.command();
      if ("unavailable" in command) {
        console.log(`reconnect ${def.id.padEnd(16)} n/a: ${command.unavailable}`);
        continue;
      }
      try {
        const r = await run(def, o);
        (results.get(def.id) ?? results.set(def.id, []).get(def.id)!).push(r);
        console.log(
          `reconnect ${def.id.padEnd(16)} ${r.connections} conns: all open again in ${r.reconnectMs} ms (${r.handshakesPerSecond}/s), ` +
            `peak RSS ${r.peakRssBytes === null ? "?" : (r.peakRssBytes / 1048576).toFixed(1)} MiB, ${r.rssPerConnection ?? "?"} B/conn, ` +
            `${r.serverCpuMicrosPerHandshake ?? "?"} µs cpu/handshake (generator ${r.generatorCpuMicrosPerHandshake} µs), ${r.retries} retries (load ${r.load})`,
        );
        if (o.out) appendFileSync(o.out, JSON.stringify({ scenario: "reconnect", ...r }) + "\n");
      } catch (e) {
        console.log(`reconnect ${def.id.padEnd(16)} FAILED: ${e instanceof Error ? e.message : String(e)}`);
      }
      await sleep(500);
    }
  }
  if (o.rounds > 1) {
    for (const [id, rs] of results) {
      console.log(`median ${id.padEnd(16)} ${median(rs.map((r) => r.reconnectMs))} ms, peak RSS ${(median(rs.map((r) => r.peakRssBytes ?? NaN)) / 1048576).toFixed(1)} MiB, ${median(rs.map((r) => r.serverCpuMicrosPerHandshake ?? NaN))} µs cpu/handshake`);
    }
  }
}
