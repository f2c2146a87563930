// @ws/node/cluster: two worker processes serve one port (Node's cluster), topics span them through the
// ClusterBroker and the primary's relay; a worker that dies is forked again; what waits on a channel is bounded.
import { afterEach, describe, expect, it } from "vitest";
import { execFileSync, fork, spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";

const APP = fileURLToPath(new URL("./fixtures/cluster-app.mjs", import.meta.url));
const CHILD = fileURLToPath(new URL("./fixtures/cluster-broker-child.mjs", import.meta.url));

type Line = Record<string, unknown>;

/** The cluster app, with its stdout read as JSON lines. */
class App {
  readonly proc: ChildProcess;
  readonly lines: Line[] = [];
  private waiters: Array<() => void> = [];

  constructor(env: Record<string, string> = {}) {
    this.proc = spawn(process.execPath, [APP], { env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "inherit"] });
    createInterface({ input: this.proc.stdout! }).on("line", (line) => {
      this.lines.push(JSON.parse(line) as Line);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** The first line (from `from` on) that `match` accepts. */
  async line(match: (line: Line) => boolean, from = 0, ms = 10_000): Promise<Line> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.lines.slice(from).find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no such line; got ${JSON.stringify(this.lines)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
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

/** A client that keeps every message it receives. */
class Client {
  readonly texts: string[] = [];
  readonly binaries: Uint8Array[] = [];
  private replies: Array<{ prefix: string; resolve: (s: string) => void }> = [];
  readonly ws: WebSocket;
  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on("message", (data, isBinary) => {
      if (isBinary) {
        this.binaries.push(new Uint8Array(data as Buffer));
        return;
      }
      const text = String(data);
      const i = this.replies.findIndex((r) => text.startsWith(r.prefix));
      if (i >= 0) this.replies.splice(i, 1)[0]!.resolve(text);
      else this.texts.push(text);
    });
  }

  static async open(port: number): Promise<Client> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/room`);
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    return new Client(ws);
  }

  ask(message: string, prefix: string): Promise<string> {
    return new Promise((resolve) => {
      this.replies.push({ prefix, resolve });
      this.ws.send(message);
    });
  }

  async pid(): Promise<number> {
    return Number((await this.ask("pid", "pid:")).slice(4));
  }
}

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let app: App | undefined;
let clients: Client[] = [];
afterEach(async () => {
  for (const c of clients) c.ws.terminate();
  clients = [];
  await app?.close();
  app = undefined;
});

/** Opens `n` clients, each subscribed to "room" with its worker's subscription known to the primary. */
async function openClients(port: number, n: number): Promise<Client[]> {
  const opened = await Promise.all(Array.from({ length: n }, () => Client.open(port)));
  await Promise.all(opened.map((c) => c.ask("sync", "synced")));
  clients.push(...opened);
  return opened;
}

describe("@ws/node/cluster", () => {
  it("two workers serve one port, and every publish reaches every other subscriber once, in both workers", async () => {
    app = new App();
    await app.line((l) => l.ready === true);
    const ports = new Set(app.lines.filter((l) => "listening" in l).map((l) => l.port));
    expect(ports.size).toBe(1);
    const port = [...ports][0] as number;

    const all = await openClients(port, 8);
    const pids = await Promise.all(all.map((c) => c.pid()));
    // both workers got clients (Node's cluster hands connections out in turn)
    expect(new Set(pids).size).toBe(2);
    expect((await app.stats()).subscriptions).toEqual({ room: 2 });

    const PER_CLIENT = 5;
    all.forEach((c, i) => {
      for (let k = 0; k < PER_CLIENT; k++) c.ws.send(`pub:m-${i}-${k}`);
      c.ws.send("bin:3");
    });
    const expected = (all.length - 1) * PER_CLIENT;
    await until(() => all.every((c) => c.texts.length >= expected && c.binaries.length >= all.length - 1), "every publish delivered");
    // a round trip through every worker and the primary: nothing else is on its way
    await Promise.all(all.map((c) => c.ask("sync", "synced")));
    await new Promise((r) => setTimeout(r, 100));
    all.forEach((c, i) => {
      const want = all.flatMap((_, j) => (j === i ? [] : Array.from({ length: PER_CLIENT }, (_, k) => `m-${j}-${k}`)));
      expect([...c.texts].sort()).toEqual(want.sort()); // each exactly once, none of its own
      expect(c.binaries.map((b) => [...b])).toEqual(Array.from({ length: all.length - 1 }, () => [7, 7, 7]));
    });
    const stats = (await app.stats()).stats as Record<string, number>;
    // messages crossing workers: each publish goes to the one other worker
    expect(stats.relayed).toBe(all.length * (PER_CLIENT + 1));
    expect(stats.dropped).toBe(0);
  });

  it("a worker that dies is forked again, and the new one gets clients and topics", async () => {
    app = new App();
    await app.line((l) => l.ready === true);
    const port = app.lines.find((l) => "listening" in l)!.port as number;
    const first = await openClients(port, 4);
    const pids = await Promise.all(first.map((c) => c.pid()));
    const victim = first[pids.indexOf(pids[0]!)]!;
    const from = app.lines.length;
    victim.ws.send("crash");
    const exit = await app.line((l) => "exit" in l, from);
    expect(exit).toEqual({ exit: pids[0], code: 3 });
    const again = await app.line((l) => "listening" in l, from);
    expect(again.port).toBe(port);
    const stats = await app.stats();
    expect(stats.stats).toMatchObject({ exits: 1, restarts: 1 });
    expect((stats.workers as number[]).length).toBe(2);
    expect(stats.workers).not.toContain(pids[0]);

    // the survivors and new clients: spread over both live workers, topics across them again
    for (const c of clients) if (c.ws.readyState !== WebSocket.OPEN) c.ws.terminate();
    clients = clients.filter((c) => c.ws.readyState === WebSocket.OPEN);
    const fresh = await openClients(port, 4);
    const freshPids = new Set(await Promise.all(fresh.map((c) => c.pid())));
    expect(freshPids.size).toBe(2);
    expect(freshPids.has(again.listening as number)).toBe(true);
    const publisher = fresh[0]!;
    publisher.ws.send("pub:after-restart");
    const others = clients.filter((c) => c !== publisher);
    await until(() => others.every((c) => c.texts.includes("after-restart")), "delivered after the restart");
    expect(others.every((c) => c.texts.filter((t) => t === "after-restart").length === 1)).toBe(true);
  });

  it("the primary drops (and counts) what a stalled worker cannot take beyond maxQueuedBytes", async () => {
    app = new App({ PRIMARY_MAX_QUEUED: String(256 * 1024) });
    await app.line((l) => l.ready === true);
    const port = app.lines.find((l) => "listening" in l)!.port as number;
    const all = await openClients(port, 4);
    const pids = await Promise.all(all.map((c) => c.pid()));
    const a = all[0]!;
    const b = all[pids.findIndex((p) => p !== pids[0])]!;
    // b's worker is busy for a while; a's worker publishes 64 × 64 KiB (4 MiB) meanwhile
    const unblocked = b.ask("block:1500", "unblocked");
    await new Promise((r) => setTimeout(r, 100));
    const burst = await a.ask("burst:64:65536", "burst:");
    expect(JSON.parse(burst.slice(6))).toMatchObject({ published: 64, dropped: 0 });
    await unblocked;
    await until(() => b.binaries.length > 0, "some of the burst delivered");
    await b.ask("sync", "synced");
    const stats = (await app.stats()).stats as Record<string, number>;
    expect(stats.dropped).toBeGreaterThan(0);
    expect(stats.relayed + stats.dropped).toBe(64);
    // what b's worker got is what the primary relayed (and no more)
    await until(() => b.binaries.length === stats.relayed, "relayed messages delivered");
  });
});

describe("ClusterBroker", () => {
  it("drops (and counts) what does not fit in maxQueuedBytes, refuses a message over maxMessageSize", async () => {
    const child = fork(CHILD, [], { execArgv: [], serialization: "advanced", stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const got: Array<Record<string, unknown>> = [];
    child.on("message", (m) => got.push(m as Record<string, unknown>));
    const result = await new Promise<Record<string, unknown>>((resolve) => child.on("message", (m) => (m as { result?: unknown }).result && resolve(m as Record<string, unknown>)));
    child.kill();
    const { stats, refused, queuedMax } = result.result as { stats: Record<string, number>; refused: string; queuedMax: number };
    // 100 messages of 64 KiB in one turn against 256 KiB: a few go, the rest are dropped and counted
    expect(stats.published).toBeGreaterThan(0);
    expect(stats.published).toBeLessThanOrEqual(4);
    expect(stats.published + stats.dropped).toBe(101); // 100, and the one over maxMessageSize
    expect(queuedMax).toBeLessThanOrEqual(256 * 1024);
    expect(refused).toMatch(/maxMessageSize/);
    // what was published reached the channel; nothing else did
    expect(got.filter((m) => m["@ws/cluster"] === "pub").length).toBe(stats.published);
  });

  it("is refused outside a cluster worker, with the fix", () => {
    const script = `import("@ws/node/cluster").then((m) => { try { new m.ClusterBroker(); console.log("made"); } catch (e) { console.log(e.message); } })`;
    const said = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: fileURLToPath(new URL("..", import.meta.url)), encoding: "utf8" });
    expect(said).toMatch(/needs an IPC channel.*cluster worker.*runPrimary/);
  });
});
