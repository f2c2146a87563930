/**
 * One chat room across processes and runtimes through Redis (@ws/redis): a real redis-server (free port, temp
 * dir, nothing saved), five chat servers sharing it through REDIS_URL — Node, Bun and Deno on the core engine,
 * Bun and Deno on their runtime engine — each with a `ws` and a `websocket` client. Every message any client
 * sends reaches every other client exactly once. Then Redis is killed: the servers keep running and keep
 * delivering within themselves; Redis comes back on the same port and delivery across processes resumes.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import websocket from "websocket";
import { startRedisServer, type LocalRedis } from "@ws/redis/redis-server";

const root = resolve(import.meta.dirname, "../../..");
const appDir = resolve(import.meta.dirname, "..");
const require = createRequire(join(root, "package.json"));
const BUN = join(dirname(require.resolve("bun/package.json")), "bin/bun.exe");
const DENO = join(dirname(require.resolve("deno/package.json")), "deno");

type Kind = "node" | "bun/core" | "bun/runtime" | "deno/core" | "deno/runtime";
const KINDS: Kind[] = ["node", "bun/core", "deno/core", "bun/runtime", "deno/runtime"];

interface Server {
  kind: Kind;
  child: ChildProcess;
  port: number;
  output: () => string;
  exited: Promise<number | null>;
}

function startServer(kind: Kind, redisUrl: string): Promise<Server> {
  const [runtime, engine = "core"] = kind.split("/") as [string, string | undefined];
  const cmd =
    runtime === "node"
      ? [process.execPath, join(appDir, "dist/server.node.js")]
      : runtime === "bun"
        ? [BUN, "--conditions=@ws/source", join(appDir, "src/server.bun.ts")]
        : [DENO, "run", "-A", "--conditions=@ws/source", join(appDir, "src/server.deno.ts")];
  const child = spawn(cmd[0]!, cmd.slice(1), {
    cwd: root,
    env: { ...process.env, PORT: "0", ENGINE: engine, REDIS_URL: redisUrl, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  child.stderr!.on("data", (d) => (output += d));
  return new Promise((resolvePort, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      output += d;
      const m = /Listening on port (\d+)/.exec(output);
      if (m) resolvePort({ kind, child, port: Number(m[1]), output: () => output, exited });
    });
    void exited.then((code) => reject(new Error(`${kind} exited (${code}): ${output}`)));
  });
}

/** A chat client of either library: its name, what it received (text), how to send. */
interface Client {
  name: string;
  server: Kind;
  got: string[];
  send(text: string): void;
  close(): void;
}

function wsClient(name: string, server: Server): Promise<Client> {
  // permessage-deflate negotiated, so the servers compress the long messages they publish (with context
  // takeover: each connection's own window), but this client sends uncompressed (client_no_context_takeover
  // makes ws apply its threshold): the Deno core engine cannot inflate a client's context-takeover messages
  // after the first (Deno's zlib ignores the preset dictionary), which is not what this test is about
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/chat`, "chat", {
    perMessageDeflate: { clientNoContextTakeover: true, threshold: 1 << 20 },
  });
  const got: string[] = [];
  ws.on("message", (data: Buffer, binary: boolean) => got.push(binary ? "<binary>" : data.toString()));
  return new Promise((r, j) =>
    ws
      .once("open", () => r({ name, server: server.kind, got, send: (t) => ws.send(t), close: () => ws.close() }))
      .once("error", j),
  );
}

function seedClient(name: string, server: Server): Promise<Client> {
  const client = new websocket.client();
  const got: string[] = [];
  return new Promise((r, j) => {
    client.once("connect", (conn: websocket.connection) => {
      conn.on("message", (m: websocket.Message) => got.push(m.type === "utf8" ? m.utf8Data : "<binary>"));
      r({ name, server: server.kind, got, send: (t) => conn.sendUTF(t), close: () => conn.close() });
    });
    client.once("connectFailed", j);
    client.connect(`ws://127.0.0.1:${server.port}/chat`, "chat");
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

let redis: LocalRedis;
const servers: Server[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  const started = await Promise.allSettled(KINDS.map((k) => startServer(k, redis.url)));
  for (const s of started) if (s.status === "fulfilled") servers.push(s.value); // stopped in afterAll, whatever failed
  const failed = started.find((s) => s.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  for (const s of servers) {
    clients.push(await wsClient(`${s.kind}:ws`, s), await seedClient(`${s.kind}:websocket`, s));
  }
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all(
    servers.map(async (s) => {
      if (s.child.exitCode !== null) return;
      s.child.kill("SIGTERM");
      const timer = setTimeout(() => s.child.kill("SIGKILL"), 3000);
      await s.exited;
      clearTimeout(timer);
    }),
  );
  await redis?.stop();
});

/**
 * Every client sends probes until each has heard a probe from every other one: all five servers are on the
 * Redis channel (a subscription is asynchronous) and deliver across.
 */
async function allConnected(tag: string): Promise<void> {
  const heard = (c: Client) => new Set(c.got.filter((m) => m.startsWith(`${tag} `)).map((m) => m.split(" ")[1]));
  const done = () => clients.every((c) => heard(c).size === clients.length - 1);
  const end = Date.now() + 20_000;
  for (let n = 0; !done(); n++) {
    if (Date.now() > end) throw new Error(`${tag}: not every client hears every other (${clients.map((c) => heard(c).size).join(",")})`);
    for (const c of clients) c.send(`${tag} ${c.name} ${n}`);
    await sleep(150);
  }
}

/** Each client sends `count` messages (one of them over 1 KiB: compressed where deflate is on); exactly once each elsewhere. */
async function exactlyOnceRound(tag: string, count: number): Promise<void> {
  const body = (c: Client, j: number) => `${tag} ${c.name} ${j}` + (j === 0 ? ` ${"x".repeat(2000)}` : "");
  for (const c of clients) c.got.length = 0;
  for (let j = 0; j < count; j++) for (const c of clients) c.send(body(c, j));
  const mine = (c: Client) => c.got.filter((m) => m.startsWith(`${tag} `));
  const expected = (clients.length - 1) * count;
  await until(`${tag}: every message everywhere`, () => clients.every((c) => mine(c).length >= expected), 15_000).catch((e: Error) => {
    const missing = clients.map((c) => {
      const got = new Set(mine(c));
      const lost = clients.filter((o) => o !== c).flatMap((o) => Array.from({ length: count }, (_, j) => body(o, j))).filter((m) => !got.has(m));
      return `${c.name} missing ${lost.length}: ${lost.slice(0, 4).map((m) => m.slice(0, 40)).join(" | ")}`;
    });
    throw new Error(`${e.message}\n${missing.join("\n")}\n${servers.map((s) => `${s.kind}: ${s.output().slice(-600)}`).join("\n")}`);
  });
  await sleep(300); // time for a duplicate to show up
  for (const c of clients) {
    const want = clients.filter((o) => o !== c).flatMap((o) => Array.from({ length: count }, (_, j) => body(o, j)));
    expect(mine(c).sort(), `what ${c.name} received`).toEqual(want.sort());
  }
}

describe("chat room across Node, Bun and Deno through Redis", () => {
  it("every message from any client reaches every other client exactly once, across all five servers", async () => {
    await allConnected("probe");
    await exactlyOnceRound("round1", 5);
  });

  it("Redis killed: no server crashes, each keeps delivering to its own clients; Redis back: delivery across resumes, exactly once", async () => {
    await redis.kill();
    await sleep(300);
    for (const s of servers) {
      const a = clients.find((c) => c.server === s.kind && c.name.endsWith(":ws"))!;
      const b = clients.find((c) => c.server === s.kind && c.name.endsWith(":websocket"))!;
      a.send(`local ${a.name}`);
      await until(`${s.kind}: local delivery while Redis is down`, () => b.got.includes(`local ${a.name}`), 5000);
    }
    for (const s of servers) expect(s.child.exitCode, `${s.kind} still running: ${s.output()}`).toBe(null);

    await redis.restart();
    await allConnected("again");
    await exactlyOnceRound("round2", 5);
    for (const s of servers) {
      expect(s.child.exitCode, `${s.kind} still running`).toBe(null);
      expect(s.output()).toMatch(/redis broker: .*connection lost/);
    }
  });
});
