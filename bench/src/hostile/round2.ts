/**
 * Round 2 of the hostile clients (issue 21, "Safe by default, round 2"): the paths added since the first round —
 * the read queue, the client, topics at scale, refusals, Bun's own HTTP handling, per-request services, the log.
 * The server is the bench's own (round2-services.ts: /echo, /sub, /room, /refuse, /dyn/*, plain HTTP), every
 * option at its default, on Node, on Bun's core engine with its default sockets and on Deno's core engine. Two
 * attacks turn it around: the attacker is a server (node:net, its own handshake) and the victim a `connect()`
 * client process on each runtime (round2-client.ts, runtime/hostile2-client-*.ts), whose RSS is sampled.
 *
 * Each attack is bounded: by a count, by its time limit, and by the victim's RSS — past RSS_CAP it stops
 * ("stopped at the RSS cap"), so a defective server never takes much more than ~3 GB of the machine.
 * Issue 21's defect 5 (the Redis broker while Redis stalls) is not here: it needs a redis-server, and the
 * machine the figures were measured on has none (see bench/README.md).
 */
import * as net from "node:net";
import { acceptFor } from "../wire.ts";
import { clientCommand, RssSampler, spawnProcess, stop } from "./apps.ts";
import { type Attack, type AttackContext, type AttackResult, ended, frames, KiB, seconds } from "./attacks.ts";
import { connect, type ConnectOptions, HOST, mib, MiB, RawClient, readBack, tally, waitUntil, writeAll, type WriteResult } from "./client.ts";
import { clientFrame, FrameReader, OP_BINARY, OP_CLOSE, OP_TEXT } from "./frames.ts";
import { randomBytes } from "node:crypto";
import { sleep } from "../proc.ts";

/**
 * Past this RSS of its victim an attack stops writing (2.5 GiB: with the 100 ms sampling, ~3 GB at most;
 * HOSTILE_RSS_CAP_MIB sets another).
 */
export const RSS_CAP = Number(process.env.HOSTILE_RSS_CAP_MIB ?? 2560) * MiB;

/**
 * Past this RSS of the server (whatever the attack is doing: a server may grow after the attacker has stopped
 * writing, working through what it read) the runner destroys the attack's connections (hostile.ts).
 */
export const RSS_HARD_CAP = RSS_CAP * 1.2;

/** Yields from `chunks` until `stop()` says so; `state.capped` tells afterwards whether it did. */
function* until(chunks: Iterable<Buffer>, stop: () => boolean, state: { capped: boolean }): Generator<Buffer> {
  for (const chunk of chunks) {
    if (stop()) {
      state.capped = true;
      return;
    }
    yield chunk;
  }
}

/** `ended()`, except that a write stopped by the RSS cap says so instead of "(all)". */
function wrote(w: WriteResult, total: number, state: { capped: boolean }): string {
  return state.capped ? `stopped at the RSS cap (${mib(RSS_CAP, 0)}) after writing ${mib(w.bytes)} of ${mib(total)}` : ended(w, total);
}

function service(ctx: AttackContext, path: string, extra: Partial<ConnectOptions> = {}): ConnectOptions {
  return { port: ctx.port, path, ...extra };
}

/** The lines of an upgrade request (§4.1) for `target`, without the blank line that ends the head. */
function upgradeHead(port: number, target: string): string[] {
  return [
    `GET ${target} HTTP/1.1`,
    `Host: ${HOST}:${port}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}`,
    "Sec-WebSocket-Version: 13",
  ];
}

function head(lines: string[]): Buffer {
  return Buffer.from(lines.join("\r\n") + "\r\n\r\n", "latin1");
}

/**
 * Writes `request` (raw bytes, one write) on a fresh connection and waits for the response head (its status
 * in the client's fields), the connection's end or `timeoutMs`. `halfOpen`: when the server ends its side,
 * ours stays open (a client that never closes). Never rejects.
 */
function exchange(port: number, request: Buffer, track: (c: RawClient) => void, timeoutMs = 10_000, halfOpen = false): Promise<RawClient> {
  const socket = net.connect({ host: HOST, port, noDelay: true, allowHalfOpen: halfOpen });
  const client = new RawClient(socket);
  track(client);
  socket.write(request);
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      resolve(client);
    };
    const timer = setTimeout(() => {
      client.error ??= "no response";
      done();
    }, timeoutMs);
    socket.on("data", (chunk: Buffer) => client.onData(chunk, "", done));
    socket.once("end", done);
    socket.once("close", done);
  });
}

/** What a raw request got: its status, or how the connection ended. */
function answer(c: RawClient): string {
  if (c.status !== 0) return `HTTP ${c.status}`;
  return c.outcome();
}

/** "HTTP 404 ×4998, reset ×2" */
function count(outcomes: string[]): string {
  const m = new Map<string, number>();
  for (const o of outcomes) m.set(o, (m.get(o) ?? 0) + 1);
  return [...m].sort((a, b) => b[1] - a[1]).map(([o, n]) => `${o} ×${n.toLocaleString("en")}`).join(", ") || "nothing";
}

/** Runs `task(i)` for i in [0, n) with at most `parallel` at once, stopping at `deadline`; returns how many ran. */
async function pool(n: number, parallel: number, deadline: number, task: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const worker = async () => {
    while (next < n && Date.now() < deadline) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(parallel, n) }, worker));
  return next;
}

/** The server's memory as its /stats reports it, after a full GC (when the runtime lets it collect). */
async function stats(port: number): Promise<{ rss: number; heapUsed: number; collected: boolean } | null> {
  try {
    const res = await fetch(`http://${HOST}:${port}/stats?gc=1`, { signal: AbortSignal.timeout(10_000) });
    return (await res.json()) as { rss: number; heapUsed: number; collected: boolean };
  } catch {
    return null;
  }
}

function rssNow(ctx: AttackContext): string {
  return mib(ctx.rss(), 0);
}

/**
 * Defect 1: empty messages are free to queue. A service without received() (its messages wait for read()),
 * flooded with empty text frames (6 bytes each on the wire) by one client that never reads.
 */
const emptyFlood: Attack = {
  name: "empty-flood",
  round: 2,
  what: "a subscriber-only service (no received()): up to 40 million empty text messages from one client (6 B each), never reading",
  apps: ["round2"],
  limitMs: 60_000,
  async run(ctx) {
    const max = ctx.quick ? 4_000_000 : 40_000_000;
    const frame = clientFrame(OP_TEXT, Buffer.alloc(0));
    const client = await connect(service(ctx, "/sub", { pauseAfterHandshake: true }), ctx.track);
    if (!client.upgraded) return `handshake: ${client.outcome()}`;
    const state = { capped: false };
    const w = await writeAll(client.socket, until(frames(frame, max, 65_536), () => ctx.rss() > RSS_CAP, state), ctx.stallMs, ctx.deadline);
    const rss = rssNow(ctx);
    await readBack([client], 1000, 3000);
    const sent = Math.floor(w.bytes / frame.length);
    return (
      `${wrote(w, max * frame.length, state)} = ` +
      `${sent.toLocaleString("en")} messages; reading paused: ${w.end === "stalled" ? "yes" : "no"}; server RSS then ${rss}; ${client.outcome()}`
    );
  },
};

/**
 * Defect 6: 1 MiB of queued 1-byte messages (the read queue's bound, 1 MiB, counts payload bytes only). Binary:
 * each is a Uint8Array of its own (a one-character string may be shared by the runtime).
 */
const tinyQueue: Attack = {
  name: "tiny-queue",
  round: 2,
  what: "a subscriber-only service (no received()): 1-byte binary messages (7 B each) until reading pauses (2 million at most), never reading",
  apps: ["round2"],
  limitMs: 60_000,
  async run(ctx) {
    const max = 2_000_000;
    const frame = clientFrame(OP_BINARY, Buffer.from("a"));
    const client = await connect(service(ctx, "/sub", { pauseAfterHandshake: true }), ctx.track);
    if (!client.upgraded) return `handshake: ${client.outcome()}`;
    const state = { capped: false };
    const w = await writeAll(client.socket, until(frames(frame, max, 16_384), () => ctx.rss() > RSS_CAP, state), ctx.stallMs, ctx.deadline);
    const rss = rssNow(ctx);
    const sent = Math.floor(w.bytes / frame.length);
    return (
      `${wrote(w, max * frame.length, state)} = ${sent.toLocaleString("en")} messages ` +
      `(${mib(sent)} of payload, some of it still in the kernel's buffers); reading paused: ${w.end === "stalled" ? "yes" : "no"}; ` +
      `server RSS then ${rss}; ${client.outcome()}`
    );
  },
};

/** An unmasked server frame with a payload under 126 bytes (§5.2). */
function serverFrame(opcode: number, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x80 | opcode, payload.length]), payload]);
}

/**
 * Defects 1 and 2 from the other side: a server (this process, node:net) that upgrades the victim, a
 * `connect()` client process with every default and no message handler, then writes `frame` to it as fast as
 * it takes them and never reads. The victim's RSS and descriptors are sampled.
 */
async function attackClient(ctx: AttackContext, frame: Buffer, max: number, perChunk: number, limitMs: number): Promise<AttackResult> {
  const attacker = net.createServer({ pauseOnConnect: false });
  let upgraded: net.Socket | null = null;
  attacker.on("connection", (socket) => {
    socket.on("error", () => {});
    let head = "";
    const onData = (d: Buffer) => {
      head += d.toString("latin1");
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("data", onData);
      socket.pause(); // never reads again: what the client sends (pongs) piles up on its side
      const key = /^sec-websocket-key:\s*(\S+)/im.exec(head.slice(0, end))?.[1] ?? "";
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`);
      upgraded = socket;
    };
    socket.on("data", onData);
  });
  await new Promise<void>((resolve) => attacker.listen(0, HOST, resolve));
  const port = (attacker.address() as net.AddressInfo).port;
  let victim;
  try {
    victim = await spawnProcess(`${ctx.runtime} client`, clientCommand(ctx.runtime, `ws://${HOST}:${port}/`), /connected/);
  } catch (e) {
    attacker.close();
    return { saw: `the client did not connect: ${(e as Error).message}` };
  }
  const sampler = new RssSampler(victim.pid);
  try {
    await sampler.ready();
    await waitUntil(() => upgraded !== null, 5000);
    const socket = upgraded as net.Socket | null;
    if (!socket) return { saw: "the client connected, but no upgraded socket here" };
    await sleep(300);
    const rssBefore = sampler.last;
    const fdsBefore = sampler.lastFds;
    sampler.reset();
    const state = { capped: false };
    const deadline = Math.min(ctx.deadline, Date.now() + limitMs);
    const w = await writeAll(socket, until(frames(frame, max, perChunk), () => sampler.last > RSS_CAP, state), ctx.stallMs, deadline);
    const rssEnd = sampler.last;
    // what the client had sent meanwhile (pongs): read for up to 3 s
    const back = new FrameReader();
    let backBytes = 0;
    socket.on("data", (d: Buffer) => {
      backBytes += d.length;
      back.push(d);
    });
    socket.resume();
    await sleep(ctx.quick ? 1000 : 3000);
    const sent = Math.floor(w.bytes / frame.length);
    const closed = /closed (\d+)/.exec(victim.outputTail())?.[1];
    const saw =
      `${wrote(w, max * frame.length, state)} = ${sent.toLocaleString("en")} frames` +
      `; client RSS then ${mib(rssEnd, 0)}; read back from it in ${ctx.quick ? 1 : 3} s: ${mib(backBytes)}, ${back.pongs.toLocaleString("en")} pongs` +
      `; the client ${closed ? `closed with ${closed}` : victim.exit ? victim.exit : "stayed open"}`;
    const peak = sampler.peak;
    const fdsPeak = sampler.peakFds;
    return {
      saw,
      rssBefore,
      rssPeak: peak,
      fdsBefore,
      fdsPeak,
      survived: victim.exit === null ? "yes" : `**no**: ${victim.exit} (${victim.stderrTail().slice(-300)})`,
    };
  } finally {
    await sampler.stop();
    await stop(victim);
    (upgraded as net.Socket | null)?.destroy();
    attacker.close();
  }
}

/** Defect 2: the client's automatic pongs are unbounded (its maxBufferedAmount defaults to Infinity). */
const clientPingFlood: Attack = {
  name: "client-ping-flood",
  round: 2,
  what: "a server pings a connect() client (defaults, no handler) with 125-byte pings as fast as it takes them for 30 s and never reads",
  apps: ["round2"],
  victim: "client",
  limitMs: 60_000,
  async run(ctx) {
    const ping = serverFrame(0x9, randomBytes(125));
    return attackClient(ctx, ping, 100_000_000, 8192, ctx.quick ? 5000 : 30_000);
  },
};

/** Defect 1, the client's side: a connect() client without a message handler, flooded with empty messages. */
const clientEmptyFlood: Attack = {
  name: "client-empty-flood",
  round: 2,
  what: "a server sends a connect() client (defaults, no handler) empty text messages (2 B each) as fast as it takes them for 30 s",
  apps: ["round2"],
  victim: "client",
  limitMs: 60_000,
  async run(ctx) {
    return attackClient(ctx, serverFrame(OP_TEXT, Buffer.alloc(0)), 500_000_000, 65_536, ctx.quick ? 5000 : 30_000);
  },
};

/**
 * Defect 3: no server-wide bound on send buffers, broadcasts copied per receiver. Subscribers of one topic, a
 * tenth of them never reading, and a publisher sending 4–16 KiB binary messages that the service publishes to
 * all of them.
 */
const topicFanout: Attack = {
  name: "topic-fanout",
  round: 2,
  what: "500 subscribers of a topic (50 never read), a publisher sending 3,000 binary messages of 4–16 KiB",
  apps: ["round2"],
  limitMs: 60_000,
  async run(ctx) {
    // a tenth never reads: a tenth of the readers' traffic fills their send buffers (16 MiB each by default,
    // after the kernel's few MiB), so 3,000 messages of ~10 KiB (~30 MiB) are enough to overflow every one
    const subscribers = ctx.quick ? 100 : 500;
    const slow = subscribers / 10;
    const messages = ctx.quick ? 600 : 3000;
    const start = Date.now();
    const sleepers: RawClient[] = [];
    const readers: RawClient[] = [];
    await pool(slow, 50, ctx.deadline, async () => void sleepers.push(await connect(service(ctx, "/room", { pauseAfterHandshake: true }), ctx.track)));
    await pool(subscribers - slow, 50, ctx.deadline, async () => void readers.push(await connect(service(ctx, "/room"), ctx.track)));
    const publisher = await connect(service(ctx, "/room"), ctx.track);
    const all = [...sleepers, ...readers, publisher];
    if (!all.every((c) => c.upgraded)) return `handshakes: ${tally(all)}`;
    await sleep(300); // the last subscriptions are in
    // 64 different messages of 4–16 KiB, cycled
    const pool64 = Array.from({ length: 64 }, () => clientFrame(OP_BINARY, randomBytes(4 * KiB + Math.floor(Math.random() * 12 * KiB))));
    let payload = 0;
    const state = { capped: false };
    const gen = function* () {
      for (let i = 0; i < messages; i++) {
        const f = pool64[i % 64]!;
        payload += f.length - 8; // header (4 B: 126 + 16 bits) and mask key
        yield f;
      }
    };
    const w = await writeAll(publisher.socket, until(gen(), () => ctx.rss() > RSS_CAP, state), ctx.stallMs, ctx.deadline);
    const sent = Math.round(w.bytes / (payload / messages + 8));
    // the server works through what it has read; then the sleepers read what they were sent
    await waitUntil(() => false, ctx.quick ? 1000 : 3000);
    const rss = rssNow(ctx);
    await readBack(sleepers, 1000, ctx.quick ? 5000 : 15_000);
    const got = readers.reduce((n, c) => n + c.frames.messages, 0) / readers.length;
    const slowGot = sleepers.reduce((n, c) => n + c.frames.messages, 0) / sleepers.length;
    return (
      `${wrote(w, (payload / messages + 8) * messages, state)} ≈ ${sent.toLocaleString("en")} messages in ${seconds(start)}; ` +
      `server RSS 3 s later ${rss}; never-readers: ${tally(sleepers)} (${slowGot.toFixed(0)} messages each on average); ` +
      `readers: ${tally(readers)} (${got.toFixed(0)} messages each on average); publisher: ${publisher.outcome()}; ` +
      `the server logged "closing with 1008" ×${ctx.logged("closing with 1008")}, "dropping" ×${ctx.logged("dropping")}`
    );
  },
};

/** Defect 4: refused upgrades leak descriptors when the client never closes its side. */
const refusalsHeld: Attack = {
  name: "refusals-held",
  round: 2,
  what: "server open-files limit 2,048: 2,048 upgrades refused by the gate (403), each client keeping its side open (half-open) after the answer, then an upgrade and a GET",
  apps: ["round2"],
  fileLimit: 2048,
  limitMs: 60_000,
  async run(ctx) {
    // as many as the server may open: if each refusal keeps its descriptor, the last few find none
    const n = ctx.quick ? 200 : 2048;
    const before = ctx.fds();
    const outcomes: string[] = [];
    await pool(n, 100, ctx.deadline, async () => {
      const c = await exchange(ctx.port, head(upgradeHead(ctx.port, "/refuse")), ctx.track, 10_000, true);
      outcomes.push(answer(c));
    });
    await sleep(1000);
    const held1 = ctx.fds() - before;
    const wait = ctx.quick ? 3000 : 10_000;
    await sleep(wait);
    const held2 = ctx.fds() - before;
    const fresh = await connect(service(ctx, "/echo", { timeoutMs: 5000 }), ctx.track);
    const http = answer(await exchange(ctx.port, head([`GET / HTTP/1.1`, `Host: ${HOST}:${ctx.port}`]), ctx.track, 5000));
    return (
      `${count(outcomes)}; the server's descriptors: ${before} before, +${held1.toLocaleString("en")} 1 s after the last answer, ` +
      `+${held2.toLocaleString("en")} ${(wait / 1000 + 1).toFixed(0)} s after; then an upgrade: ${fresh.status === 101 ? "101" : fresh.outcome()}, a GET: ${http}`
    );
  },
};

/** Defect 7: plain-HTTP keep-alive connections (on Bun's core engine each costs ~3 descriptors, no limit, no reaping). */
const httpIdle: Attack = {
  name: "http-idle",
  round: 2,
  what: "server open-files limit 2,048: plain-HTTP keep-alive connections (one GET each, then idle), 25 at a time, up to 1,000 or until one gets no answer; then at once an upgrade and a GET",
  apps: ["round2"],
  fileLimit: 2048,
  limitMs: 60_000,
  async run(ctx) {
    const max = ctx.quick ? 300 : 1000;
    const before = ctx.fds();
    const get = () => head([`GET / HTTP/1.1`, `Host: ${HOST}:${ctx.port}`]);
    const clients: RawClient[] = [];
    const outcomes: string[] = [];
    let perConnection = "—";
    const start = Date.now();
    while (clients.length < max && Date.now() < ctx.deadline) {
      const batch = await Promise.all(Array.from({ length: 25 }, () => exchange(ctx.port, get(), ctx.track, 3000)));
      clients.push(...batch);
      outcomes.push(...batch.map(answer));
      if (batch.some((c) => c.status !== 200)) break;
      await sleep(150); // a descriptor sample after the batch
      perConnection = ((ctx.fds() - before) / clients.length).toFixed(2);
    }
    const peak = ctx.fds() - before;
    const openedIn = seconds(start);
    const [ws, http] = await Promise.all([
      connect(service(ctx, "/echo", { timeoutMs: 5000 }), ctx.track),
      exchange(ctx.port, get(), ctx.track, 5000),
    ]);
    await sleep(1000);
    const dropped = clients.filter((c) => c.status === 200 && (c.closed || c.ended)).length;
    return (
      `${count(outcomes)} in ${openedIn}; the server's descriptors +${peak.toLocaleString("en")} (from ${before}; ${perConnection} per connection while all were answered); ` +
      `then an upgrade: ${ws.status === 101 ? "101" : ws.outcome()}, a GET: ${answer(http)}; idle connections the server had closed 1 s later: ${dropped}`
    );
  },
};

/** Defect 8: the head parser's limits and character rules (Bun's core engine parses heads itself). */
const headParser: Attack = {
  name: "head-parser",
  round: 2,
  what: "upgrade requests, each in one write: a 100 KiB request line, 60 KiB of headers, NUL / a control character / a bare LF in a header value, a bare LF in the target",
  apps: ["round2"],
  limitMs: 60_000,
  async run(ctx) {
    const p = ctx.port;
    const pad = (n: number) => "a".repeat(n);
    const cases: [string, string[]][] = [
      ["100 KiB request line", upgradeHead(p, `/echo?pad=${pad(100 * KiB)}`)],
      ["60 KiB of headers", [...upgradeHead(p, "/echo"), ...Array.from({ length: 60 }, (_, i) => `X-Pad-${i}: ${pad(1000)}`)]],
      ["NUL in a header value", [...upgradeHead(p, "/echo"), "X-Test: a\0b"]],
      ["0x01 in a header value", [...upgradeHead(p, "/echo"), "X-Test: a\x01b"]],
      ["bare LF in a header value", [...upgradeHead(p, "/echo"), "X-Test: a\nX-Injected: b"]],
      // refused (no service there): the server logs the target
      ["bare LF in the target", upgradeHead(p, "/nowhere\nFORGED-LOG-LINE")],
    ];
    const seen: string[] = [];
    for (const [name, lines] of cases) {
      const c = await exchange(p, head(lines), ctx.track, 5000);
      seen.push(`${name}: ${answer(c)}`);
      c.socket.destroy();
    }
    await sleep(300);
    const forged = /^FORGED-LOG-LINE/m.test(ctx.outputTail());
    return `${seen.join("; ")}; a log line starting "FORGED-LOG-LINE": ${forged ? "yes" : "no"}`;
  },
};

/** Defect 9: ServerCore.serviceHooks is never pruned (resolve() returning a new service object per request). */
const resolveChurn: Attack = {
  name: "resolve-churn",
  round: 2,
  what: "resolve() returns a new service object per request: 20,000 connections to /dyn/N opened and closed (100 at a time)",
  apps: ["round2"],
  limitMs: 60_000,
  async run(ctx) {
    const n = ctx.quick ? 2000 : 20_000;
    const before = await stats(ctx.port);
    const outcomes: string[] = [];
    await pool(n, 100, ctx.deadline, async (i) => {
      const c = await connect(service(ctx, `/dyn/${i}`), () => {});
      outcomes.push(c.status === 101 ? "101" : c.outcome());
      if (c.upgraded) {
        c.socket.write(clientFrame(OP_CLOSE, Buffer.from([0x03, 0xe8]))); // 1000
        await c.closedWithin(2000);
      }
      c.socket.destroy();
    });
    await sleep(1000);
    const after = await stats(ctx.port);
    if (!before || !after) return `${count(outcomes)}; /stats did not answer`;
    const d = (a: number, b: number) => `${(b - a) / MiB >= 0 ? "+" : ""}${((b - a) / MiB).toFixed(1)} MiB`;
    return (
      `${count(outcomes)}; after a full GC${before.collected ? "" : " (not available: none)"}: heap ${mib(before.heapUsed)} → ${mib(after.heapUsed)} ` +
      `(${d(before.heapUsed, after.heapUsed)}), RSS ${mib(before.rss, 0)} → ${mib(after.rss, 0)} (${d(before.rss, after.rss)})`
    );
  },
};

/** Defect 10: refusals flood the log (the URL twice per refusal, in full). */
const refusalLog: Attack = {
  name: "refusal-log",
  round: 2,
  what: "5,000 upgrades to 8 KiB paths no service claims (404), 50 at a time; what the server wrote to stdout and stderr",
  apps: ["round2"],
  limitMs: 60_000,
  async run(ctx) {
    const n = ctx.quick ? 500 : 5000;
    const before = ctx.outputBytes();
    const outcomes: string[] = [];
    await pool(n, 50, ctx.deadline, async (i) => {
      const c = await exchange(ctx.port, head(upgradeHead(ctx.port, `/nope/${i}/${"x".repeat(8 * KiB)}`)), () => {}, 10_000);
      outcomes.push(answer(c));
      c.socket.destroy();
    });
    await sleep(1000);
    const logged = ctx.outputBytes() - before;
    return `${count(outcomes)}; the server wrote ${mib(logged)} to its log (${(logged / Math.max(1, outcomes.length)).toFixed(0)} B per refusal)`;
  },
};

export const ROUND2: Attack[] = [emptyFlood, clientEmptyFlood, clientPingFlood, topicFanout, refusalsHeld, tinyQueue, httpIdle, headParser, resolveChurn, refusalLog];
