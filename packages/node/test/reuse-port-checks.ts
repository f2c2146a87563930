/**
 * Issue 26, "every core": several server processes on one port with `reusePort`, topics across them through
 * @ws/node/cluster's ClusterBroker over the runtime's node:cluster IPC. Run inside Bun and Deno (their
 * test/fixtures/reuse-port.ts): each case starts fixtures/reuse-port-app.ts (a primary and two workers, each a
 * `serve({ reusePort: true })` on the same port) with the runtime's own command, opens clients with the runtime's
 * WebSocket until both workers have some, and checks that every publish reaches every other subscriber exactly
 * once, in both processes. Also: without `reusePort` a second server on the port is a ListenError EADDRINUSE.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { ListenError, type EngineServeOptions } from "@ws/core";
import type { CheckResult } from "./hostile-checks.ts";
import type { MisconfigTarget } from "./misconfig-checks.ts";

const APP = fileURLToPath(new URL("./fixtures/reuse-port-app.ts", import.meta.url));

/** One way to run the app: its engine (and Bun's sockets) and the command that starts the runtime on a module. */
export interface ReusePortCase {
  name: string;
  engine: "core" | "runtime";
  sockets?: string;
  /** the runtime's command before the module's path: ["bun", "--conditions=@ws/source"], ["deno", "run", "-A"] */
  command: string[];
}

type Line = Record<string, unknown>;

function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The app (primary and workers), its stdout read as JSON lines. */
class App {
  readonly proc: ChildProcess;
  readonly lines: Line[] = [];
  constructor(c: ReusePortCase, adapter: string, port: number) {
    const [cmd, ...args] = c.command;
    const env = { ...process.env, WS_ADAPTER: adapter, WS_PORT: String(port), WS_ENGINE: c.engine, WS_SOCKETS: c.sockets ?? "" };
    this.proc = spawn(cmd!, [...args, APP], { env, stdio: ["pipe", "pipe", "inherit"] });
    createInterface({ input: this.proc.stdout! }).on("line", (line) => {
      try {
        this.lines.push(JSON.parse(line) as Line);
      } catch {
        // not ours
      }
    });
  }
  async line(match: (line: Line) => boolean, from = 0, ms = 15_000): Promise<Line> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.lines.slice(from).find(match);
      if (found) return found;
      if (this.proc.exitCode !== null) throw new Error(`the app exited (${this.proc.exitCode}); lines: ${JSON.stringify(this.lines)}`);
      if (Date.now() > deadline) throw new Error(`no such line; got ${JSON.stringify(this.lines)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  async stats(): Promise<Line> {
    const from = this.lines.length;
    this.proc.stdin!.write("stats\n");
    return this.line((l) => "stats" in l, from);
  }
  async close(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise((resolve) => this.proc.once("exit", resolve));
    this.proc.stdin!.write("close\n");
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** A client on the runtime's WebSocket: its worker's pid (the welcome), and the texts published to it. */
class Client {
  pid = 0;
  readonly texts: string[] = [];
  private synced: Array<() => void> = [];
  readonly ws: WebSocket;
  private constructor(ws: WebSocket) {
    this.ws = ws;
  }
  static open(port: number): Promise<Client> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/room`);
    const client = new Client(ws);
    return new Promise((resolve, reject) => {
      ws.onerror = () => reject(new Error("a client could not connect"));
      ws.onmessage = (event) => {
        const text = String(event.data);
        if (text.startsWith("pid:")) {
          client.pid = Number(text.slice(4));
          resolve(client);
        } else if (text === "synced") client.synced.shift()?.();
        else client.texts.push(text);
      };
    });
  }
  sync(): Promise<void> {
    return new Promise((resolve) => {
      this.synced.push(resolve);
      this.ws.send("sync");
    });
  }
}

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Two processes on one port, `clients` clients spread over both, each publishes once: delivered once to every other. */
async function topicsAcrossProcesses(c: ReusePortCase, adapter: string, clientCount: number): Promise<void> {
  const port = await freePort();
  const app = new App(c, adapter, port);
  const clients: Client[] = [];
  try {
    const ready = await app.line((l) => l.ready === true);
    const workers = ready.workers as number[];
    assert(workers.length === 2, `two workers: ${JSON.stringify(ready)}`);
    const listening = app.lines.filter((l) => "listening" in l);
    assert(listening.length === 2 && listening.every((l) => l.port === port && l.engine === c.engine), `both workers listen on ${port}: ${JSON.stringify(listening)}`);
    // connect until both processes have clients (the kernel spreads them: SO_REUSEPORT hashes each connection)
    while (clients.length < clientCount || new Set(clients.map((x) => x.pid)).size < 2) {
      assert(clients.length < clientCount * 4, `every connection went to one process: ${JSON.stringify([...new Set(clients.map((x) => x.pid))])}`);
      clients.push(...(await Promise.all(Array.from({ length: 10 }, () => Client.open(port)))));
    }
    const pids = new Set(clients.map((x) => x.pid));
    assert(pids.size === 2 && [...pids].every((p) => workers.includes(p)), `clients in both workers: ${[...pids]} of ${workers}`);
    await Promise.all(clients.map((x) => x.sync()));
    const subs = ((await app.stats()).subscriptions ?? {}) as Record<string, number>;
    assert(subs.room === 2, `both workers subscribe to "room" at the primary: ${JSON.stringify(subs)}`);

    clients.forEach((x, i) => x.ws.send(`pub:m-${i}`));
    await until(() => clients.every((x) => x.texts.length >= clients.length - 1), "every publish delivered");
    // a round trip through every worker and the primary: nothing else is on its way
    await Promise.all(clients.map((x) => x.sync()));
    await new Promise((r) => setTimeout(r, 100));
    clients.forEach((x, i) => {
      const want = clients.flatMap((_, j) => (j === i ? [] : [`m-${j}`])).sort();
      const got = [...x.texts].sort();
      assert(JSON.stringify(got) === JSON.stringify(want), `client ${i} (pid ${x.pid}) got each other publish once: got ${got.length} of ${want.length}: ${JSON.stringify(got.slice(0, 5))}…`);
    });
    const stats = (await app.stats()).stats as Record<string, number>;
    // each publish crossed to the one other worker, once
    assert(stats.relayed === clients.length && stats.dropped === 0, `the primary relayed each publish once: ${JSON.stringify(stats)}`);
  } finally {
    for (const x of clients) x.ws.close();
    await app.close();
  }
}

/** Without reusePort (the default), a second server on a port in use is refused: ListenError EADDRINUSE. */
async function exclusiveByDefault(target: MisconfigTarget & { serve(o: EngineServeOptions): Promise<{ port: number; close(o?: { timeout?: number }): Promise<void> }> }, c: ReusePortCase): Promise<void> {
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  const services = { "/room": target.defineService({ received() {} }) };
  const base = { hostname: "127.0.0.1", engine: c.engine, ...(c.sockets ? { sockets: c.sockets } : {}), services, logger: quiet } as EngineServeOptions;
  const first = await target.serve({ ...base, port: 0 });
  try {
    let error: unknown;
    try {
      const second = await target.serve({ ...base, port: first.port });
      await second.close({ timeout: 100 });
    } catch (e) {
      error = e;
    }
    assert(error instanceof ListenError && error.code === "EADDRINUSE", `a second server on port ${first.port}: ListenError EADDRINUSE, got ${String(error)}`);
  } finally {
    await first.close({ timeout: 100 });
  }
}

/**
 * Runs the checks for each case: `adapter` is the module the workers import (a file URL of @ws/bun's or @ws/deno's src/index.ts), `target`
 * that module itself (for the in-process check).
 */
export async function runReusePortChecks(
  adapter: string,
  target: Parameters<typeof exclusiveByDefault>[0],
  cases: ReusePortCase[],
  clientCount = 40,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const check = async (name: string, fn: () => Promise<void>) => {
    try {
      await Promise.race([fn(), new Promise((_, j) => setTimeout(() => j(new Error("timed out")), 40_000))]);
      results.push({ name, ok: true });
    } catch (e) {
      results.push({ name, ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  };
  for (const c of cases) {
    await check(`${c.name}: without reusePort, a second server on the port is a ListenError EADDRINUSE`, () => exclusiveByDefault(target, c));
    await check(`${c.name}: two processes on one port (reusePort), ${clientCount} clients over both, every publish once to every other subscriber`, () =>
      topicsAcrossProcesses(c, adapter, clientCount),
    );
  }
  return results;
}
