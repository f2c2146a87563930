/**
 * The servers the hostile clients attack: the echo and chat apps on Node, Bun and Deno, with their shipped
 * defaults (the `core` engine on Bun and Deno). Each is started fresh for every attack, its RSS sampled every
 * 100 ms from a worker thread (so a busy attacker does not skip samples), and probed afterwards.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve as resolvePath } from "node:path";
import { Worker } from "node:worker_threads";
import { sleep } from "../proc.ts";
import { ROOT_DIR, type Runtime } from "../servers.ts";
import { connect, type RawClient, waitUntil } from "./client.ts";
import { clientFrame, OP_CLOSE, OP_TEXT } from "./frames.ts";

/** echo and chat: the apps (round 1); round2: bench/src/hostile/round2-services.ts on every runtime (round 2) */
export type App = "echo" | "chat" | "round2";

/** Where each app's WebSocket service is, and the subprotocol it wants. */
export const SERVICE: Record<App, { path: string; protocol?: string }> = {
  echo: { path: "/" }, // apps/echo: services { "/": echoService }
  chat: { path: "/chat", protocol: "chat" }, // apps/chat: services { "/chat", "/chat/:room" }, the seed's plain-text "chat" (beside "chat.v2"); the page on "/"
  round2: { path: "/echo" }, // the round-2 server: its echo service (the probe)
};

export interface Running {
  label: string;
  child: ChildProcess;
  pid: number;
  port: number;
  exited: Promise<void>;
  /** how the process ended, once it has */
  exit: string | null;
  stderrTail(): string;
  /** bytes the process has written to its stdout and stderr so far (its log) */
  outputBytes(): number;
  /** the last 64 KiB of its stdout and stderr, interleaved as they came */
  outputTail(): string;
  /** how many times each of LOG_PHRASES has appeared in its stdout and stderr so far */
  readonly phrases: Map<string, number>;
}

/** Log phrases counted in full (the log itself is not kept): the server's closes for a full send buffer, its drops. */
export const LOG_PHRASES = ["closing with 1008", "dropping"];

/** The real bun and deno binaries (not the node_modules/.bin shims, so the pid we sample is the server's). */
function binary(runtime: "bun" | "deno"): string {
  const real = runtime === "bun" ? "node_modules/bun/bin/bun.exe" : "node_modules/deno/deno";
  const path = join(ROOT_DIR, real);
  return existsSync(path) ? path : join(ROOT_DIR, "node_modules/.bin", runtime);
}

function command(runtime: Runtime, app: App): string[] {
  if (app === "round2") {
    // --expose-gc: the server's /stats can collect before it measures the heap
    if (runtime === "node") return [process.execPath, "--expose-gc", join(ROOT_DIR, "bench/dist/hostile/round2-server.js")];
    if (runtime === "bun") return [binary("bun"), "--conditions=@ws/source", "bench/runtime/hostile2-bun.ts"];
    return [binary("deno"), "run", "-A", "--quiet", "--no-check", "--config", "packages/deno/deno.json", "--v8-flags=--expose-gc", "bench/runtime/hostile2-deno.ts"];
  }
  if (runtime === "node") return [process.execPath, join(ROOT_DIR, `apps/${app}/dist/server.node.js`)];
  if (runtime === "bun") return [binary("bun"), "--conditions=@ws/source", `apps/${app}/src/server.bun.ts`];
  return [binary("deno"), "run", "-A", "--conditions=@ws/source", `apps/${app}/src/server.deno.ts`];
}

/** The round-2 client under attack (round2-client.ts, runtime/hostile2-client-*.ts) on `runtime`, for `url`. */
export function clientCommand(runtime: Runtime, url: string): string[] {
  if (runtime === "node") return [process.execPath, join(ROOT_DIR, "bench/dist/hostile/round2-client.js"), url];
  if (runtime === "bun") return [binary("bun"), "--conditions=@ws/source", "bench/runtime/hostile2-client-bun.ts", url];
  return [binary("deno"), "run", "-A", "--quiet", "--no-check", "--config", "packages/deno/deno.json", "bench/runtime/hostile2-client-deno.ts", url];
}

/** Why a server cannot start here, or null. */
export function unavailable(runtime: Runtime, app: App): string | null {
  const [cmd, ...args] = command(runtime, app);
  const file = resolvePath(ROOT_DIR, args[args.length - 1]!); // absolute paths stay as they are
  if (!existsSync(cmd!)) return `${cmd} is missing`;
  if (!existsSync(file)) return `${file} is missing (pnpm turbo run build --filter @ws/echo-app --filter @ws/chat-app --filter @ws/bench)`;
  return null;
}

/** The open-files limit the servers get: raised to the hard limit (64 Ki if allowed) by the spawning shell. */
export function serverFileLimit(): number {
  const r = spawnSync("sh", ["-c", 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; ulimit -n'], { encoding: "utf8" });
  return Number(r.stdout.trim()) || 1024;
}

/**
 * Starts a server on a free port (PORT=0) and waits for its "Listening on port N". `fileLimit`: the open-files
 * limit it gets instead of 64 Ki (or the hard limit).
 */
export async function start(runtime: Runtime, app: App, fileLimit?: number): Promise<Running> {
  return spawnProcess(`${runtime} ${app}`, command(runtime, app), /Listening on port (\d+)/, fileLimit);
}

/**
 * Spawns `cmd` (through a shell that sets the open-files limit and then execs it, so the pid is the
 * program's) and waits for `ready` on its stdout; the port is the pattern's first group, if it has one.
 */
export async function spawnProcess(label: string, [cmd, ...args]: string[], ready: RegExp, fileLimit?: number): Promise<Running> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: "0", HOST: "127.0.0.1", ENGINE: "core" };
  delete env.REDIS_URL; // one process, no broker
  delete env.WS_LOG;
  // `exec` keeps the shell's pid: the pid we sample is the server's
  const limit = fileLimit ? `ulimit -n ${fileLimit}` : 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null';
  const script = `${limit}; exec "$0" "$@"`;
  const child = spawn("sh", ["-c", script, cmd!, ...args], { cwd: ROOT_DIR, env, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  let output = "";
  let outputBytes = 0;
  const phrases = new Map(LOG_PHRASES.map((p) => [p, 0]));
  const log = (d: Buffer) => {
    outputBytes += d.length;
    const text = d.toString("latin1");
    // a phrase cut by a chunk boundary is found in the last 64 characters of the output before plus this chunk
    const seam = output.slice(-64) + text;
    for (const p of LOG_PHRASES) {
      let n = 0;
      for (let at = seam.indexOf(p); at >= 0; at = seam.indexOf(p, at + p.length)) if (at + p.length > Math.min(64, output.length)) n++;
      if (n) phrases.set(p, phrases.get(p)! + n);
    }
    output = (output + text).slice(-64 * 1024);
  };
  child.stdout!.on("data", log);
  child.stderr!.on("data", log);
  child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const running: Running = {
    label,
    child,
    pid: child.pid!,
    port: 0,
    exit: null,
    exited: new Promise((resolve) =>
      child.once("exit", (code, signal) => {
        running.exit = signal ? `killed by ${signal}` : `exited ${code}`;
        resolve();
      }),
    ),
    stderrTail: () => stderr.trim(),
    outputBytes: () => outputBytes,
    outputTail: () => output,
    phrases,
  };
  running.port = await new Promise<number>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`${running.label} did not listen within 30 s: ${stderr}`)), 30_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off("data", onData); // what it logs afterwards is counted by `log`, not kept here
        resolve(Number(m[1] ?? 0));
      }
    };
    child.stdout!.on("data", onData);
    void running.exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${running.label} ${running.exit} before listening: ${stderr.trim()}`));
    });
  });
  child.stdout!.resume(); // keep draining its stdout
  return running;
}

export async function stop(r: Running): Promise<void> {
  if (r.exit) return;
  r.child.kill("SIGTERM");
  const gone = await Promise.race([r.exited.then(() => true), sleep(3000).then(() => false)]);
  if (!gone) {
    r.child.kill("SIGKILL");
    await r.exited;
  }
}

/**
 * Samples a process's VmRSS and its open descriptors (the entries of /proc/<pid>/fd) every 100 ms in a worker
 * thread (hostile/rss-sampler.ts); keeps the peaks.
 */
export class RssSampler {
  private readonly shared = new SharedArrayBuffer(16);
  /** [peak RSS kB, latest RSS kB, peak descriptors, latest descriptors] */
  private readonly slots = new Int32Array(this.shared);
  private readonly worker: Worker;

  constructor(pid: number) {
    this.worker = new Worker(new URL("./rss-sampler.js", import.meta.url), { workerData: { pid, shared: this.shared } });
    this.worker.unref();
  }

  /** Peak VmRSS so far, bytes. */
  get peak(): number {
    return Atomics.load(this.slots, 0) * 1024;
  }

  /** The latest sample, bytes. */
  get last(): number {
    return Atomics.load(this.slots, 1) * 1024;
  }

  /** Peak count of open descriptors so far. */
  get peakFds(): number {
    return Atomics.load(this.slots, 2);
  }

  /** Open descriptors at the latest sample. */
  get lastFds(): number {
    return Atomics.load(this.slots, 3);
  }

  /** Waits for the first sample. */
  async ready(): Promise<void> {
    await waitUntil(() => this.last > 0, 2000);
  }

  /** Forgets the peaks so far (start of the attack). */
  reset(): void {
    Atomics.store(this.slots, 0, Atomics.load(this.slots, 1));
    Atomics.store(this.slots, 2, Atomics.load(this.slots, 3));
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}

export interface ProbeResult {
  /** null when it served; else the last attempt's problem */
  problem: string | null;
  /** ms from the first attempt to the one that succeeded (or to giving up) */
  ms: number;
  /** problems of the failed attempts before, distinct */
  earlier: string[];
}

/**
 * Whether the server still serves: a fresh connection gets its text back (echo), or, on chat, a second fresh
 * connection receives what the first one sends. Retried until `ms` is up (a server may still be freeing the
 * attack's connections, or working through what it had already read).
 */
export async function probe(port: number, app: App, ms = 30_000): Promise<ProbeResult> {
  const started = Date.now();
  const until = started + ms;
  const earlier = new Set<string>();
  let problem = "no attempt";
  while (Date.now() < until) {
    const opened: RawClient[] = [];
    try {
      problem = await probeOnce(port, app, opened, Math.min(until, Date.now() + 5000));
      if (!problem) return { problem: null, ms: Date.now() - started, earlier: [...earlier] };
      earlier.add(problem);
    } finally {
      for (const c of opened) c.socket.destroy();
    }
    await sleep(250);
  }
  earlier.delete(problem);
  return { problem, ms: Date.now() - started, earlier: [...earlier] };
}

async function probeOnce(port: number, app: App, opened: RawClient[], until: number): Promise<string> {
  const service = SERVICE[app];
  const timeoutMs = Math.max(500, until - Date.now());
  const options = { port, path: service.path, protocol: service.protocol, timeoutMs };
  const track = (c: RawClient) => opened.push(c);
  const sender = await connect(options, track);
  if (!sender.upgraded) return `probe handshake: ${sender.outcome()}`;
  const receiver = app === "chat" ? await connect(options, track) : sender;
  if (!receiver.upgraded) return `probe handshake: ${receiver.outcome()}`;
  receiver.frames.keepText = true;
  const text = `probe ${Date.now()}`;
  // chat relays to every other subscriber: give the server a moment to subscribe the receiver
  if (app === "chat") await sleep(100);
  sender.socket.write(clientFrame(OP_TEXT, Buffer.from(text)));
  const got = await waitUntil(() => receiver.frames.texts.includes(text) || receiver.closed, Math.max(0, until - Date.now()));
  if (!got || !receiver.frames.texts.includes(text)) return `probe: no ${app === "chat" ? "relay" : "echo"} (${receiver.outcome()})`;
  sender.socket.write(clientFrame(OP_CLOSE, Buffer.from([0x03, 0xe8]))); // 1000, §7.4.1
  return "";
}
