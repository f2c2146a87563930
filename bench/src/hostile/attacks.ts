/**
 * The attacks. Each runs against one fresh server, stops by itself at its deadline, and returns what the
 * attacker saw, in a line. Everything it opens is registered with `ctx.track`, and destroyed by the caller
 * afterwards, whether the attack finished, failed or was aborted.
 */
import { spawnSync } from "node:child_process";
import * as net from "node:net";
import { SERVICE, serverFileLimit, type App } from "./apps.ts";
import { connect, connectMany, HOST, mib, MiB, RawClient, readBack, tally, waitUntil, writeAll, type WriteResult } from "./client.ts";
import {
  clientFrame,
  clientFrameHeader,
  deflateMessage,
  masked,
  OP_BINARY,
  OP_CONTINUATION,
  OP_PING,
  OP_TEXT,
  repeated,
} from "./frames.ts";
import { randomBytes } from "node:crypto";
import type { Runtime } from "../servers.ts";

export interface AttackContext {
  /** the server's port (0 for an attack on a client: it runs its own server) */
  port: number;
  app: App;
  runtime: Runtime;
  quick: boolean;
  /** the attack stops by itself by then (Date.now() ms) */
  deadline: number;
  /** a socket that has not drained for this long means the server stopped reading */
  stallMs: number;
  /** registers a connection: the caller destroys it when the attack is over */
  track(c: RawClient): void;
  /** lines for the notes under the table */
  note(line: string): void;
  /** the server's latest RSS sample, bytes (0 for an attack on a client) */
  rss(): number;
  /** the server's open descriptors at the latest sample */
  fds(): number;
  /** bytes the server has written to its stdout and stderr since it started */
  outputBytes(): number;
  /** the last 64 KiB of the server's stdout and stderr */
  outputTail(): string;
  /** how many times the server has logged one of apps.ts's LOG_PHRASES so far */
  logged(phrase: string): number;
}

/** What an attack that measures its own victim returns (the client attacks of round 2), beside what it saw. */
export interface AttackResult {
  saw: string;
  rssBefore?: number;
  rssPeak?: number;
  fdsBefore?: number;
  fdsPeak?: number;
  survived?: string;
}

export interface Attack {
  name: string;
  /** issue 21's round 2 (round2.ts) or the first round (this file). Default 1. */
  round?: 1 | 2;
  /** the open-files limit of the server (default 64 Ki or the hard limit) */
  fileLimit?: number;
  /** "client": the victim is a client process the attack starts itself; no server is started for it */
  victim?: "client";
  /** one line for the table's heading */
  what: string;
  apps: App[];
  /** the attack's own time limit (it stops by itself); a hard abort follows at 90 s whatever this says */
  limitMs: number;
  /** why it does not run with --quick (unless named with --only) */
  skipInQuick?: string;
  run(ctx: AttackContext): Promise<string | AttackResult>;
}

export const KiB = 1024;

/** Connection options for an app's service, plus extras. */
function service(ctx: AttackContext, extra: { extensions?: string; pauseAfterHandshake?: boolean } = {}) {
  const s = SERVICE[ctx.app];
  return { port: ctx.port, path: s.path, protocol: s.protocol, ...extra };
}

/** `count` copies of `frame`, yielded as chunks of up to `perChunk` frames (one pre-built buffer, sliced). */
export function* frames(frame: Buffer, count: number, perChunk: number): Generator<Buffer> {
  const block = repeated(frame, Math.min(perChunk, count));
  for (let left = count; left > 0; left -= perChunk) yield block.subarray(0, Math.min(perChunk, left) * frame.length);
}

export function ended(w: WriteResult, total: number): string {
  const sent = `wrote ${mib(w.bytes)} of ${mib(total)}`;
  switch (w.end) {
    case "done":
      return `${sent} (all)`;
    case "stalled":
      return `${sent}, then the server stopped reading (no drain for the stall time)`;
    case "closed":
      return `${sent}, then the connection closed`;
    case "deadline":
      return `${sent} by the attack's time limit`;
  }
}

export function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}

/**
 * 1. Unfinished messages of one-byte fragments: a text frame without FIN, then continuation frames without FIN
 * (§5.4), 131,071 frames per connection, never finished. 7 bytes per frame on the wire.
 */
const tinyFragments: Attack = {
  name: "tiny-fragments",
  what: "400 connections × an unfinished text message of 131,071 one-byte fragments",
  apps: ["echo", "chat"],
  limitMs: 80_000,
  async run(ctx) {
    const connections = ctx.quick ? 40 : 400;
    const fragments = 131_071;
    const first = clientFrame(OP_TEXT, Buffer.from("a"), { fin: false });
    const next = clientFrame(OP_CONTINUATION, Buffer.from("a"), { fin: false });
    const chunks = [first, ...frames(next, fragments - 1, 16_384)];
    const perConnection = chunks.reduce((n, c) => n + c.length, 0);
    const start = Date.now();
    const clients = await connectMany(connections, 100, service(ctx), ctx.track, ctx.deadline);
    const up = clients.filter((c) => c.upgraded);
    const writes = await Promise.all(up.map((c) => writeAll(c.socket, chunks, ctx.stallMs, ctx.deadline)));
    const complete = writes.filter((w) => w.end === "done").length;
    const sentAt = seconds(start);
    // a message over maxFragments is closed at once (1009), one over the server-wide budget too (1013); one the
    // server holds lasts until the message timeout (60 s by default, 1008): a full run waits for it
    const answered = () => up.every((c) => c.closed || c.frames.closeCodes.length > 0);
    await waitUntil(answered, ctx.quick ? 3000 : ctx.deadline - Date.now());
    const sent = writes.reduce((n, w) => n + w.bytes, 0);
    return (
      `${up.length}/${connections} upgraded; ${complete} wrote all ${fragments.toLocaleString("en")} fragments ` +
      `(${mib(sent)} of ${mib(perConnection * up.length)} sent in ${sentAt}); at ${seconds(start)}: ${tally(clients)}`
    );
  },
};

/**
 * 2. Compression bombs in small pieces: 256 KiB of zeros per message, compressed (RFC 7692 §7.2.1) to a few
 * hundred bytes, 2 MiB of them on the wire (thousands of messages); the client never reads.
 */
const deflateWindow: Attack = {
  name: "deflate-window",
  what: "permessage-deflate (offers: server_max_window_bits=8, then plain): 2 MiB on the wire of 256 KiB-of-zeros messages, never read",
  apps: ["echo", "chat"], // both apps turn perMessageDeflate on
  limitMs: 60_000,
  async run(ctx) {
    const wire = ctx.quick ? 256 * KiB : 2 * MiB;
    const inflated = 256 * KiB;
    // text: the chat service closes binary senders (1003); NUL characters are valid UTF-8
    const frame = clientFrame(OP_TEXT, deflateMessage(Buffer.alloc(inflated)), { rsv1: true });
    const count = Math.ceil(wire / frame.length);
    // the first offer (a 256-byte window zlib cannot compress with) should be declined and the second taken
    const offer = "permessage-deflate; server_max_window_bits=8, permessage-deflate";
    const client = await connect(service(ctx, { extensions: offer, pauseAfterHandshake: true }), ctx.track);
    if (!client.upgraded) return `handshake: ${client.outcome()}`;
    const agreed = client.headers.get("sec-websocket-extensions") ?? "";
    if (!agreed.includes("permessage-deflate")) return `permessage-deflate declined (response: "${agreed}"): nothing sent`;
    const w = await writeAll(client.socket, frames(frame, count, 256), ctx.stallMs, ctx.deadline);
    const sent = Math.floor(w.bytes / frame.length);
    await readBack([client], 1000, ctx.quick ? 3000 : 10_000);
    const f = client.frames;
    return (
      `agreed "${agreed}"; ${frame.length} B per message, ${ended(w, count * frame.length)} = ${sent} messages, ` +
      `${mib(sent * inflated, 0)} inflated; read back: ${f.messages} replies (${f.compressed} compressed, ${mib(f.dataBytes)} on the wire), then ${client.outcome()}`
    );
  },
};

/** 3. One compressed 50 MiB text of zeros (about 50 KiB on the wire) to a room with two subscribers that never read. */
const chatBomb: Attack = {
  name: "chat-bomb",
  what: "chat: 2 subscribers that never read + 1 compressed 50 MiB message of zeros",
  apps: ["chat"],
  limitMs: 60_000,
  async run(ctx) {
    const offer = "permessage-deflate";
    const subscribers = [
      await connect(service(ctx, { extensions: offer, pauseAfterHandshake: true }), ctx.track),
      await connect(service(ctx, { extensions: offer, pauseAfterHandshake: true }), ctx.track),
    ];
    const sender = await connect(service(ctx, { extensions: offer }), ctx.track);
    const all = [...subscribers, sender];
    if (!all.every((c) => c.upgraded)) return `handshake: ${tally(all)}`;
    if (!(sender.headers.get("sec-websocket-extensions") ?? "").includes("permessage-deflate")) return "permessage-deflate declined: nothing sent";
    const bomb = clientFrame(OP_TEXT, deflateMessage(Buffer.alloc(50 * MiB)), { rsv1: true });
    sender.socket.write(bomb);
    await waitUntil(() => sender.frames.closeCodes.length > 0 || sender.closed, Math.min(15_000, ctx.deadline - Date.now()));
    await readBack(subscribers, 1000, 3000);
    const got = subscribers.reduce((n, c) => n + c.frames.messages, 0);
    return `${(bomb.length / KiB).toFixed(1)} KiB on the wire; sender: ${sender.outcome()}; subscribers: ${tally(subscribers)}, ${got} messages delivered`;
  },
};

/** 4. 64 KiB binary messages as fast as the server takes them, the echoes never read. */
const neverRead: Attack = {
  name: "never-read",
  what: "512 MiB of 64 KiB binary messages, never reading the echoes",
  apps: ["echo"],
  limitMs: 60_000,
  async run(ctx) {
    const total = ctx.quick ? 64 * MiB : 512 * MiB;
    const frame = clientFrame(OP_BINARY, randomBytes(64 * KiB));
    const count = total / (64 * KiB);
    const client = await connect(service(ctx, { pauseAfterHandshake: true }), ctx.track);
    if (!client.upgraded) return `handshake: ${client.outcome()}`;
    const w = await writeAll(client.socket, frames(frame, count, 16), ctx.stallMs, ctx.deadline);
    await readBack([client], 1000, ctx.quick ? 3000 : 10_000);
    const f = client.frames;
    return `${ended(w, count * frame.length)}; read back: ${f.messages} echoes (${mib(f.dataBytes)}), then ${client.outcome()}`;
  },
};

/** 5. Pings with the largest control payload (125 bytes, §5.5), pongs never read. */
const pingFlood: Attack = {
  name: "ping-flood",
  what: "1,000,000 pings of 125 bytes, never reading the pongs",
  apps: ["echo"],
  limitMs: 60_000,
  async run(ctx) {
    const count = ctx.quick ? 100_000 : 1_000_000;
    const ping = clientFrame(OP_PING, randomBytes(125));
    const client = await connect(service(ctx, { pauseAfterHandshake: true }), ctx.track);
    if (!client.upgraded) return `handshake: ${client.outcome()}`;
    const w = await writeAll(client.socket, frames(ping, count, 1000), ctx.stallMs, ctx.deadline);
    await readBack([client], 1000, ctx.quick ? 3000 : 10_000);
    const pings = Math.floor(w.bytes / ping.length);
    return `${ended(w, count * ping.length)} = ${pings.toLocaleString("en")} pings; read back: ${client.frames.pongs.toLocaleString("en")} pongs, then ${client.outcome()}`;
  },
};

/** The open-files limit of this process (a child shell inherits it). */
function ownFileLimit(): number {
  return Number(spawnSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" }).stdout.trim()) || 1024;
}

/** 6. Idle connections beyond maxConnections (10,000 by default, then 503). */
const connectionFlood: Attack = {
  name: "connection-flood",
  what: "12,000 idle connections (upgraded, then no traffic)",
  apps: ["echo"],
  limitMs: 60_000,
  async run(ctx) {
    // --quick keeps the full count: the point is to cross maxConnections, and it takes seconds only
    const wanted = 12_000;
    // every connection is a file on both sides: stay under both limits with some room for the rest
    const limit = Math.min(ownFileLimit(), serverFileLimit()) - 200;
    const count = Math.min(wanted, limit);
    if (count < wanted) ctx.note(`connection-flood: ${count} connections instead of ${wanted}: open-files limit ${limit + 200}`);
    const start = Date.now();
    const clients = await connectMany(count, 200, service(ctx), ctx.track, ctx.deadline);
    const openedIn = seconds(start);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const status = new Map<string, number>();
    for (const c of clients) {
      const what = c.status === 101 ? (c.closed ? "101 then closed" : "101 open") : c.outcome();
      status.set(what, (status.get(what) ?? 0) + 1);
    }
    const counts = [...status].sort((a, b) => b[1] - a[1]).map(([what, n]) => `${what} ×${n}`);
    return `${clients.length} connections in ${openedIn}${clients.length < count ? ` (time limit: ${count} planned)` : ""}: ${counts.join(", ")} (1 s later)`;
  },
};

/** The request body: `total` bytes of zeros, one 1 MiB buffer sliced, never the whole body in memory. */
function* body(total: number): Generator<Buffer> {
  const chunk = Buffer.alloc(MiB);
  for (let left = total; left > 0; left -= chunk.length) yield chunk.subarray(0, Math.min(chunk.length, left));
}

/**
 * 7. A 1 GiB POST to the chat page ("/", the fetch handler, which never reads the body), then a GET on the same
 * connection: its answer means the server got through the whole body (HTTP/1.1 keep-alive, RFC 9112 §9.3).
 */
const postBomb: Attack = {
  name: "post-bomb",
  what: "a 1 GiB POST to the chat page (/), streamed, then a GET on the same connection",
  apps: ["chat"],
  limitMs: 60_000,
  async run(ctx) {
    const total = ctx.quick ? 128 * MiB : 1024 * MiB;
    const socket = net.connect({ host: HOST, port: ctx.port });
    const conn = new RawClient(socket); // for its error/EOF bookkeeping; the responses are read here
    ctx.track(conn);
    let received = "";
    let written = 0;
    let firstAfter = -1;
    const statuses = () => [...received.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => m[1]!);
    socket.on("data", (chunk: Buffer) => {
      received = (received + chunk.toString("latin1")).slice(-64 * 1024);
      if (firstAfter < 0 && statuses().length > 0) firstAfter = written;
    });
    const request = (method: string, extra: string) => `${method} / HTTP/1.1\r\nHost: ${HOST}:${ctx.port}\r\n${extra}\r\n`;
    socket.write(request("POST", `Content-Type: application/octet-stream\r\nContent-Length: ${total}\r\n`));
    const start = Date.now();
    const counted = (function* () {
      for (const chunk of body(total)) {
        written += chunk.length;
        yield chunk;
      }
    })();
    const w = await writeAll(socket, counted, ctx.stallMs, ctx.deadline);
    const wroteIn = seconds(start);
    if (w.end === "done") socket.write(request("GET", ""));
    await waitUntil(() => statuses().length >= 2 || conn.closed, Math.max(0, Math.min(15_000, ctx.deadline - Date.now())));
    const [post, get] = statuses();
    const response = post ? `POST: HTTP ${post} after ${mib(Math.max(0, firstAfter))} of the body` : "POST: no response";
    const end = conn.error ?? (conn.ended ? "then the server closed (EOF)" : "");
    return `${response}; ${ended(w, total)} in ${wroteIn}; GET after it: ${get ? `HTTP ${get} at ${seconds(start)}` : "no answer"}${end ? `; ${end}` : ""}`;
  },
};

/** 8. A message begun and then fed one byte every 2 s, never finished (the default messageTimeout is 60 s). */
const trickle: Attack = {
  name: "trickle",
  what: "a 100-byte text frame started, then 1 payload byte every 2 s for up to 70 s",
  apps: ["echo"],
  limitMs: 80_000,
  skipInQuick: "it needs 60+ s (the default messageTimeout is 60 s); run it with --only trickle or without --quick",
  async run(ctx) {
    const length = 100;
    const client = await connect(service(ctx), ctx.track);
    if (!client.upgraded) return `handshake: ${client.outcome()}`;
    const key = randomBytes(4);
    const payload = Buffer.alloc(length, "x");
    const start = Date.now();
    client.socket.write(Buffer.concat([clientFrameHeader(OP_TEXT, length, key), masked(payload.subarray(0, 1), key)]));
    let sent = 1;
    const over = () => client.closed || client.frames.closeCodes.length > 0;
    while (!over() && Date.now() - start < 70_000 && Date.now() < ctx.deadline) {
      if ((await waitUntil(over, 2000)) || !client.socket.writable) break;
      client.socket.write(masked(payload.subarray(sent, sent + 1), key, sent));
      sent++;
    }
    return `${sent} of ${length} payload bytes sent; ${client.outcome()} at ${seconds(start)}`;
  },
};

export const ATTACKS: Attack[] = [tinyFragments, deflateWindow, chatBomb, neverRead, pingFlood, connectionFlood, postBomb, trickle];
