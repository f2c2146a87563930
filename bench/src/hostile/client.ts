/**
 * A raw WebSocket client over node:net for the hostile clients: its own opening handshake (RFC 6455 §4.1),
 * then whatever bytes the attack writes, and a FrameReader on what comes back. It can stop reading (the
 * kernel's buffers fill, then the server's), and it remembers how the connection ended: close codes, HTTP
 * status, reset or EOF.
 */
import { randomBytes } from "node:crypto";
import * as net from "node:net";
import { sleep } from "../proc.ts";
import { acceptFor, parseResponseHead } from "../wire.ts";
import { FrameReader } from "./frames.ts";

export const HOST = "127.0.0.1";

export interface ConnectOptions {
  port: number;
  path: string;
  /** Sec-WebSocket-Protocol to offer (the chat service wants "chat") */
  protocol?: string;
  /** Sec-WebSocket-Extensions to offer, verbatim */
  extensions?: string;
  /** stop reading as soon as the handshake response is in (the never-reading client) */
  pauseAfterHandshake?: boolean;
  /** give up on the handshake after this long. Default 10 s. */
  timeoutMs?: number;
}

export class RawClient {
  readonly socket: net.Socket;
  readonly frames = new FrameReader();
  /** the handshake response's status: 101 when upgraded, 0 when none arrived */
  status = 0;
  headers = new Map<string, string>();
  /** a socket error code (ECONNRESET, EPIPE, ...) or a handshake problem */
  error: string | null = null;
  /** the server closed its side (TCP FIN) */
  ended = false;
  closed = false;
  private head: Buffer | null = Buffer.alloc(0);
  private readonly closedPromise: Promise<void>;

  constructor(socket: net.Socket) {
    this.socket = socket;
    this.closedPromise = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.on("error", (e: NodeJS.ErrnoException) => (this.error ??= e.code ?? e.message));
    socket.on("end", () => (this.ended = true));
    socket.once("close", () => (this.closed = true));
  }

  get upgraded(): boolean {
    return this.status === 101 && this.error !== "bad Sec-WebSocket-Accept";
  }

  /** Resolves when the socket is closed, or after `ms`. */
  async closedWithin(ms: number): Promise<boolean> {
    await Promise.race([this.closedPromise, sleep(ms)]);
    return this.closed;
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** Gets bytes from the socket: first the handshake response (§4.2.2), then frames. */
  onData(chunk: Buffer, key: string, onHead: () => void): void {
    if (this.head === null) {
      this.frames.push(chunk);
      return;
    }
    this.head = Buffer.concat([this.head, chunk]);
    const res = parseResponseHead(this.head);
    if (!res) return;
    this.head = null;
    this.status = res.status;
    this.headers = res.headers;
    if (res.status === 101 && res.headers.get("sec-websocket-accept") !== acceptFor(key)) this.error = "bad Sec-WebSocket-Accept";
    onHead();
    if (res.rest.length > 0) this.frames.push(res.rest);
  }

  /** What this connection ended with, in a word: its close code, HTTP status, reset, EOF, or still open. */
  outcome(): string {
    if (this.frames.closeCodes.length > 0) return `close ${this.frames.closeCodes[0]}`;
    if (this.status !== 0 && this.status !== 101) return `HTTP ${this.status}`;
    if (this.error === "ECONNRESET" || this.error === "EPIPE") return "reset";
    if (this.error) return this.error;
    if (this.status === 0) return this.closed ? "closed before any response" : "no response";
    if (this.ended || this.closed) return "EOF without close frame";
    return "open";
  }
}

/** Opens a connection and performs the opening handshake. Never rejects: a failure is in the client's fields. */
export function connect(o: ConnectOptions, track: (c: RawClient) => void): Promise<RawClient> {
  const socket = net.connect({ host: HOST, port: o.port, noDelay: true });
  const client = new RawClient(socket);
  track(client);
  const key = randomBytes(16).toString("base64");
  const lines = [
    `GET ${o.path} HTTP/1.1`,
    `Host: ${HOST}:${o.port}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${key}`,
    "Sec-WebSocket-Version: 13",
  ];
  if (o.protocol) lines.push(`Sec-WebSocket-Protocol: ${o.protocol}`);
  if (o.extensions) lines.push(`Sec-WebSocket-Extensions: ${o.extensions}`);
  socket.write(lines.join("\r\n") + "\r\n\r\n");
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      resolve(client);
    };
    const timer = setTimeout(() => {
      client.error ??= "handshake timeout";
      done();
    }, o.timeoutMs ?? 10_000);
    socket.on("data", (chunk: Buffer) =>
      client.onData(chunk, key, () => {
        if (o.pauseAfterHandshake) socket.pause();
        done();
      }),
    );
    socket.once("close", done);
  });
}

/** Opens `count` connections, at most `parallel` handshakes at a time. */
export async function connectMany(count: number, parallel: number, o: ConnectOptions, track: (c: RawClient) => void, until: number): Promise<RawClient[]> {
  const clients: RawClient[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count && Date.now() < until) {
      next++;
      clients.push(await connect(o, track));
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  return clients;
}

export type WriteEnd = "done" | "stalled" | "closed" | "deadline";

export interface WriteResult {
  /** bytes handed to socket.write */
  bytes: number;
  end: WriteEnd;
}

/**
 * Writes the chunks in order, waiting for 'drain' whenever the socket's buffer is full. Stops when the
 * socket has not drained for `stallMs` (the peer stopped reading), when it closes, or at `deadline`.
 */
export async function writeAll(socket: net.Socket, chunks: Iterable<Uint8Array>, stallMs: number, deadline: number): Promise<WriteResult> {
  let bytes = 0;
  for (const chunk of chunks) {
    if (socket.destroyed || !socket.writable) return { bytes, end: "closed" };
    if (Date.now() >= deadline) return { bytes, end: "deadline" };
    bytes += chunk.length;
    if (socket.write(chunk)) continue;
    const waited = await drained(socket, Math.min(stallMs, deadline - Date.now()));
    if (waited === "closed") return { bytes, end: "closed" };
    if (waited === "timeout") return { bytes, end: Date.now() >= deadline ? "deadline" : "stalled" };
  }
  return { bytes, end: "done" };
}

function drained(socket: net.Socket, ms: number): Promise<"drain" | "closed" | "timeout"> {
  return new Promise((resolve) => {
    const finish = (how: "drain" | "closed" | "timeout") => {
      clearTimeout(timer);
      socket.off("drain", onDrain);
      socket.off("close", onClose);
      resolve(how);
    };
    const onDrain = () => finish("drain");
    const onClose = () => finish("closed");
    const timer = setTimeout(() => finish("timeout"), Math.max(0, ms));
    socket.once("drain", onDrain);
    socket.once("close", onClose);
  });
}

/** Resumes reading a paused client and keeps reading until nothing arrived for `quietMs` (or `maxMs`). */
export async function readBack(clients: RawClient[], quietMs: number, maxMs: number): Promise<void> {
  const start = Date.now();
  let last = Date.now();
  const mark = () => (last = Date.now());
  for (const c of clients) {
    c.socket.on("data", mark);
    c.resume();
  }
  while (Date.now() - last < quietMs && Date.now() - start < maxMs && clients.some((c) => !c.closed)) await sleep(50);
  for (const c of clients) c.socket.off("data", mark);
}

/** Polls `done` every 50 ms until it is true or `ms` passed. */
export async function waitUntil(done: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (!done()) {
    if (Date.now() >= until) return false;
    await sleep(50);
  }
  return true;
}

/** "close 1009 ×398, reset ×2": how many connections ended which way. */
export function tally(clients: RawClient[]): string {
  const counts = new Map<string, number>();
  for (const c of clients) counts.set(c.outcome(), (counts.get(c.outcome()) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]).map(([what, n]) => (clients.length === 1 ? what : `${what} ×${n}`)).join(", ") || "nothing";
}

export const MiB = 1024 * 1024;

export function mib(bytes: number, digits = 1): string {
  return `${(bytes / MiB).toFixed(digits)} MiB`;
}
