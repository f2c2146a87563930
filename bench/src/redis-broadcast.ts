/**
 * Cross-process broadcast through Redis (@ws/redis) against in-process broadcast: the chat app on Node
 * (apps/chat/dist/server.node.js: every text message to every other client of its one room topic).
 *
 *   - "in-process": one server without a broker; a sender and R receivers on it.
 *   - "through Redis": two servers A and B sharing the room through a local redis-server (started here: free
 *     port, temp dir, nothing saved); the sender and R receivers on A (same process as the sender), R on B.
 *
 * Throughput: M messages sent in windows of W (the next window when every receiver has the previous one),
 * messages per second delivered to every receiver. Latency: L messages one at a time, from the send to each
 * receiver's arrival (one clock: every client is in this process), p50 / p99 per group.
 *
 *   pnpm turbo run build --filter=@ws/chat-app... --filter=@ws/bench
 *   node bench/dist/redis-broadcast.js [--receivers 4] [--messages 20000] [--window 200] [--latency 500] [--size 64]
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import WebSocket from "ws";

const root = resolve(import.meta.dirname, "../..");
const chatEntry = join(root, "apps/chat/dist/server.node.js");

const { values } = parseArgs({
  options: {
    receivers: { type: "string", default: "4" },
    messages: { type: "string", default: "20000" },
    window: { type: "string", default: "200" },
    latency: { type: "string", default: "500" },
    size: { type: "string", default: "64" },
  },
});
const R = Number(values.receivers);
const M = Number(values.messages);
const W = Number(values.window);
const L = Number(values.latency);
const SIZE = Number(values.size);

const children: ChildProcess[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => resolvePort(typeof a === "object" && a ? a.port : 0));
    });
  });
}

async function startRedis(): Promise<{ url: string; dir: string }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "ws-bench-redis-"));
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  await new Promise<void>((ready, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d;
      if (out.includes("Ready to accept connections")) ready();
    });
    child.once("error", (e) => reject(new Error(`redis-server: ${e.message} (apt-get install redis-server)`)));
    child.once("exit", (code) => reject(new Error(`redis-server exited (${code})`)));
  });
  return { url: `redis://127.0.0.1:${port}`, dir };
}

function startChat(redisUrl?: string): Promise<number> {
  // the chat's per-connection rate limit (5 a second by default) off for a throughput measurement
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: "0", CHAT_MESSAGES_PER_SECOND: "1000000000", CHAT_MESSAGE_BURST: "1000000000" };
  if (redisUrl) env.REDIS_URL = redisUrl;
  else delete env.REDIS_URL;
  const child = spawn(process.execPath, [chatEntry], { env, stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  return new Promise((resolvePort, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d;
      const m = /Listening on port (\d+)/.exec(out);
      if (m) resolvePort(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`chat server exited (${code})`)));
  });
}

interface Receiver {
  ws: WebSocket;
  /** per latency message id: arrival time (ms, performance.now) */
  arrivals: Map<number, number>;
  /** messages of the kind being counted (`kind`) */
  count: number;
  kind: string;
  onMessage: (() => void) | null;
}

function open(port: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/chat`, "chat", { perMessageDeflate: false });
  return new Promise((r, j) => ws.once("open", () => r(ws)).once("error", j));
}

async function receiver(port: number): Promise<Receiver> {
  const r: Receiver = { ws: await open(port), arrivals: new Map(), count: 0, kind: "w", onMessage: null };
  r.ws.on("message", (data: Buffer) => {
    const now = performance.now();
    const text = data.toString();
    if (text[0] !== r.kind) return; // a straggler of an earlier phase
    if (text[0] === "l") r.arrivals.set(Number(text.slice(2, text.indexOf(" ", 2))), now);
    r.count++;
    r.onMessage?.();
  });
  return r;
}

function payload(kind: string, id: number): string {
  const head = `${kind} ${id} `;
  return head + "x".repeat(Math.max(0, SIZE - head.length));
}

/** Waits until every receiver has `count` messages. */
function allHave(receivers: Receiver[], count: number, timeoutMs = 30_000): Promise<void> {
  return new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`timed out: ${receivers.map((r) => r.count).join(",")} of ${count}`)), timeoutMs);
    const check = () => {
      if (receivers.every((r) => r.count >= count)) {
        clearTimeout(timer);
        for (const r of receivers) r.onMessage = null;
        done();
      }
    };
    for (const r of receivers) r.onMessage = check;
    check();
  });
}

/** Probes until every receiver hears the sender (the servers' Redis subscriptions are asynchronous). */
async function warm(sender: WebSocket, receivers: Receiver[]): Promise<void> {
  for (let i = 0; i < 200; i++) {
    sender.send(payload("w", -1 - i));
    await sleep(20);
    if (receivers.every((r) => r.count > 0)) break;
  }
  await sleep(200);
}

function phase(receivers: Receiver[], kind: string): void {
  for (const r of receivers) {
    r.kind = kind;
    r.count = 0;
    r.arrivals.clear();
  }
}

/** Messages per second to every one of `receivers` (the others get them too: the window waits for these). */
async function throughput(sender: WebSocket, receivers: Receiver[], everyone: Receiver[]): Promise<number> {
  phase(everyone, "t");
  const t0 = performance.now();
  for (let sent = 0; sent < M; ) {
    const n = Math.min(W, M - sent);
    for (let i = 0; i < n; i++) sender.send(payload("t", sent + i));
    sent += n;
    await allHave(receivers, sent);
  }
  const ms = performance.now() - t0;
  await allHave(everyone, M); // nothing left in flight for the next phase
  await sleep(100);
  return (M / ms) * 1000;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function latency(sender: WebSocket, groups: Receiver[][]): Promise<Array<{ p50: number; p99: number }>> {
  const all = groups.flat();
  phase(all, "l");
  const sentAt: number[] = [];
  for (let i = 0; i < L; i++) {
    sentAt[i] = performance.now();
    sender.send(payload("l", i));
    await allHave(all, i + 1);
  }
  return groups.map((group) => {
    const samples = group.flatMap((r) => [...r.arrivals].map(([id, at]) => at - sentAt[id]!)).sort((a, b) => a - b);
    return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
  });
}

async function main(): Promise<void> {
  if (!existsSync(chatEntry)) throw new Error(`${chatEntry} missing: pnpm turbo run build --filter=@ws/chat-app...`);
  const redis = await startRedis();
  try {
    const [solo, a, b] = await Promise.all([startChat(), startChat(redis.url), startChat(redis.url)]);
    const rows: string[] = [];
    const fmt = (x: number) => x.toFixed(2);

    // in-process
    const soloSender = await open(solo);
    const soloReceivers = await Promise.all(Array.from({ length: R }, () => receiver(solo)));
    await warm(soloSender, soloReceivers);
    const soloTp = await throughput(soloSender, soloReceivers, soloReceivers);
    const [soloLat] = await latency(soloSender, [soloReceivers]);

    // through Redis
    const sender = await open(a);
    const local = await Promise.all(Array.from({ length: R }, () => receiver(a)));
    const remote = await Promise.all(Array.from({ length: R }, () => receiver(b)));
    const everyone = [...local, ...remote];
    await warm(sender, everyone);
    const localTp = await throughput(sender, local, everyone);
    const remoteTp = await throughput(sender, remote, everyone);
    const [localLat, remoteLat] = await latency(sender, [local, remote]);

    rows.push(`| one server, no broker | ${R} | ${Math.round(soloTp)} | ${fmt(soloLat!.p50)} | ${fmt(soloLat!.p99)} |`);
    rows.push(`| with the Redis broker: receivers on the sender's server | ${R} | ${Math.round(localTp)} | ${fmt(localLat!.p50)} | ${fmt(localLat!.p99)} |`);
    rows.push(`| with the Redis broker: receivers on the other server | ${R} | ${Math.round(remoteTp)} | ${fmt(remoteLat!.p50)} | ${fmt(remoteLat!.p99)} |`);
    console.log(`\nBroadcast of ${SIZE}-byte text messages (chat app on Node ${process.version}; ${M} messages in windows of ${W}; ${L} latency samples)\n`);
    console.log("| path | receivers | messages/s to every receiver | latency p50 ms | latency p99 ms |");
    console.log("| --- | --- | --- | --- | --- |");
    for (const row of rows) console.log(row);
    console.log(`\nWith the broker every message goes to both groups (${2 * R} receivers); the window paces on the group of the row.`);
    console.log(
      `added latency through Redis, p50: +${fmt(remoteLat!.p50 - soloLat!.p50)} ms vs one server without a broker, ` +
        `+${fmt(remoteLat!.p50 - localLat!.p50)} ms vs the sender's own server's receivers`,
    );
    for (const ws of [soloSender, sender, ...soloReceivers, ...local, ...remote].map((r) => ("ws" in r ? r.ws : r))) ws.close();
  } finally {
    for (const c of children.reverse()) c.kill("SIGKILL"); // the chat servers before Redis
    rmSync(redis.dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    for (const c of children) c.kill("SIGKILL");
    console.error(e);
    process.exit(1);
  },
);
