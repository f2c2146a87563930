/**
 * The attacks of issue 11 over real sockets (node:net, which Node, Bun and Deno all have), against any
 * adapter's serve(): run by this package's test/hostile.test.ts and, inside Bun and Deno, by their
 * test/fixtures/hostile.ts. Each check asserts an outcome the server reports itself (its close code, the
 * status it answered, its own send-buffer accounting, its log lines), never how fast something happened.
 */
import * as net from "node:net";
import * as zlib from "node:zlib";
import type { Connection, EngineServeOptions, Logger, ServeEngine, Service, defineService as DefineService } from "@ws/core";

/** What the checks use of an adapter module: serve() with an engine (Node's has one: "core"). */
export interface HostileTarget {
  serve(options: EngineServeOptions): Promise<{ port: number; close(options?: { timeout?: number }): Promise<void> }>;
  defineService: typeof DefineService;
  silentLogger: Logger;
}

/** One attack's outcome, as core's adapter checks report theirs. */
export type CheckResult = { name: string; ok: boolean; error?: string };

const te = new TextEncoder();

/** A client frame (masked with a zero key: the bytes stay readable in a capture). */
function frame(opcode: number, payload: Uint8Array | string, fin = true, rsv1 = false): Uint8Array {
  const body = typeof payload === "string" ? te.encode(payload) : payload;
  const n = body.length;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const out = new Uint8Array(head + 4 + n);
  out[0] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  if (n < 126) out[1] = 0x80 | n;
  else if (n < 65536) {
    out[1] = 0x80 | 126;
    out[2] = n >> 8;
    out[3] = n & 0xff;
  } else {
    out[1] = 0x80 | 127;
    new DataView(out.buffer).setBigUint64(2, BigInt(n));
  }
  out.set(body, head + 4);
  return out;
}

/** A message compressed for permessage-deflate (RFC 7692 §7.2.1: the final empty block's 4 octets removed). */
function deflated(data: Uint8Array): Uint8Array {
  const all = zlib.deflateRawSync(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  return new Uint8Array(all.buffer, all.byteOffset, all.byteLength - 4);
}

/** A raw WebSocket client on a socket: the handshake's status, the frames the server sent, how it ended. */
class RawClient {
  status = 0;
  responseHead = "";
  private buffered = new Uint8Array(0);
  private headDone = false;
  readonly frames: Array<{ opcode: number; payload: Uint8Array }> = [];
  received = 0;
  readonly ended: Promise<void>;
  private waiters: Array<() => void> = [];
  private gone = false;
  readonly socket: net.Socket;

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Uint8Array) => this.onData(chunk));
    this.ended = new Promise((resolve) =>
      socket.once("close", () => {
        this.gone = true;
        this.wake();
        resolve();
      }),
    );
    socket.on("error", () => {});
  }

  static async open(port: number, path: string, headers: Record<string, string> = {}): Promise<RawClient> {
    const socket = net.connect(port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    const client = new RawClient(socket);
    const lines = [
      `GET ${path} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
      "Sec-WebSocket-Version: 13",
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ];
    socket.write(lines.join("\r\n") + "\r\n\r\n");
    await client.until(() => client.headDone || client.gone);
    return client;
  }

  private onData(chunk: Uint8Array): void {
    this.received += chunk.length;
    const all = new Uint8Array(this.buffered.length + chunk.length);
    all.set(this.buffered, 0);
    all.set(chunk, this.buffered.length);
    this.buffered = all;
    if (!this.headDone) {
      const text = new TextDecoder("latin1").decode(this.buffered);
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) return this.wake();
      this.responseHead = text.slice(0, end);
      this.status = Number(/^HTTP\/1\.1 (\d+)/.exec(this.responseHead)?.[1] ?? 0);
      this.headDone = true;
      this.buffered = this.buffered.subarray(end + 4);
    }
    this.parseFrames();
    this.wake();
  }

  private parseFrames(): void {
    for (;;) {
      const b = this.buffered;
      if (b.length < 2) return;
      let len = b[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = (b[2]! << 8) | b[3]!;
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(2));
        off = 10;
      }
      if (b.length < off + len) return;
      this.frames.push({ opcode: b[0]! & 0x0f, payload: b.slice(off, off + len) });
      this.buffered = b.subarray(off + len);
    }
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves once `cond` holds (checked on every chunk and at the end of the socket). */
  async until(cond: () => boolean): Promise<void> {
    while (!cond()) {
      if (this.gone) throw new Error(`socket ended first (status ${this.status}, ${this.frames.length} frames)`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** The code of the server's close frame, once it has come. */
  async closeCode(): Promise<number> {
    await this.until(() => this.frames.some((f) => f.opcode === 8));
    const f = this.frames.find((f) => f.opcode === 8)!;
    return f.payload.length >= 2 ? (f.payload[0]! << 8) | f.payload[1]! : 1005;
  }

  /** Writes and resolves once the kernel has the bytes, or the socket is gone. */
  write(data: Uint8Array): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.write(data, () => resolve());
    });
  }

  destroy(): void {
    this.socket.destroy();
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs each attack on each engine of `target`. `engines` lists those serve() takes (Node: ["core"]). */
export async function runHostileChecks(target: HostileTarget, engines: ServeEngine[]): Promise<CheckResult[]> {
  const { defineService } = target;
  const results: CheckResult[] = [];

  for (const engine of engines) {
    const servers: Array<{ close(o?: { timeout?: number }): Promise<void> }> = [];
    const clients: RawClient[] = [];
    async function serve(options: Omit<EngineServeOptions, "engine" | "port" | "hostname">) {
      const s = await target.serve({ logger: target.silentLogger, ...options, engine, port: 0, hostname: "127.0.0.1" });
      servers.push(s);
      return s;
    }
    async function open(port: number, path: string, headers?: Record<string, string>) {
      const c = await RawClient.open(port, path, headers);
      clients.push(c);
      return c;
    }
    async function check(name: string, only: ServeEngine[], fn: () => Promise<void>): Promise<void> {
      if (!only.includes(engine)) return;
      try {
        await Promise.race([fn(), new Promise((_, j) => setTimeout(() => j(new Error("timed out")), 15_000))]);
        results.push({ name: `${engine}: ${name}`, ok: true });
      } catch (e) {
        results.push({ name: `${engine}: ${name}`, ok: false, error: e instanceof Error ? e.message : String(e) });
      } finally {
        for (const c of clients.splice(0)) c.destroy();
        for (const s of servers.splice(0)) await s.close({ timeout: 100 }).catch(() => {});
      }
    }
    function assert(cond: unknown, message: string): asserts cond {
      if (!cond) throw new Error(message);
    }
    /** A service that keeps its server-side connections (and how they closed) for the check to look at. */
    function recording(extra: Partial<Service<unknown>> = {}) {
      const conns: Connection<unknown>[] = [];
      const closes: number[] = [];
      const service = defineService({
        ...extra,
        connected(conn: Connection<unknown>) {
          conns.push(conn);
          void conn.closed.then((info) => closes.push(info.code));
        },
      } as Service<unknown>) as Service<unknown>;
      return { conns, closes, service };
    }
    const echo = (message: unknown, conn: Connection<unknown>) => void conn.send(message as string | Uint8Array);

    await check("an unfinished message of one-byte fragments meets the default maxFragments (4096): 1009", ["core"], async () => {
      const { service } = recording({ received: echo });
      const s = await serve({ services: { "/": service } });
      const c = await open(s.port, "/");
      assert(c.status === 101, `status ${c.status}`);
      const parts = [frame(1, "a", false)];
      for (let i = 0; i < 5000; i++) parts.push(frame(0, "a", false));
      const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let off = 0;
      for (const p of parts) all.set(p, (off += p.length) - p.length);
      await c.write(all);
      const code = await c.closeCode();
      assert(code === 1009, `close code ${code}`);
    });

    await check("unfinished messages of all connections together meet maxPendingMessageBytes: 1013 for the one that does not fit", ["core"], async () => {
      const { service } = recording({ received: echo });
      const s = await serve({ services: { "/": service }, maxPendingMessageBytes: 256 * 1024 });
      const first = await open(s.port, "/");
      const second = await open(s.port, "/");
      const big = frame(2, new Uint8Array(200 * 1024));
      await first.write(big.subarray(0, 1024));
      await sleep(100);
      await second.write(big.subarray(0, 1024));
      const code = await second.closeCode();
      assert(code === 1013, `second connection's close code ${code}`);
      assert(!first.frames.some((f) => f.opcode === 8), "the first connection was closed too");
    });

    await check("a compressed 50 MiB of zeros (~50 KiB on the wire) is refused at the default maxMessageSize: 1009", ["core"], async () => {
      const { service } = recording({ received: echo });
      const s = await serve({ services: { "/": service }, perMessageDeflate: true });
      const c = await open(s.port, "/", { "Sec-WebSocket-Extensions": "permessage-deflate" });
      assert(/permessage-deflate/i.test(c.responseHead), "permessage-deflate not negotiated");
      await c.write(frame(2, deflated(new Uint8Array(50 * 1024 * 1024)), true, true));
      const code = await c.closeCode();
      assert(code === 1009, `close code ${code}`);
    });

    await check("inflated echoes to a peer that never reads count against its send buffer: bounded, then 1008", ["core"], async () => {
      const limit = 1024 * 1024;
      let highest = 0;
      const { conns, closes, service } = recording({
        received(message: unknown, conn: Connection<unknown>) {
          void conn.send(message as Uint8Array);
          highest = Math.max(highest, conn.bufferedAmount);
        },
      });
      // the echoes go out uncompressed (above no threshold), so what is queued is what was inflated (an offer of
      // server_max_window_bits=8 did this before it was declined: see core's hostile.test.ts)
      const s = await serve({ services: { "/": service }, perMessageDeflate: { threshold: 1024 * 1024 * 1024 }, maxBufferedAmount: limit });
      const c = await open(s.port, "/", { "Sec-WebSocket-Extensions": "permessage-deflate" });
      c.socket.pause();
      const one = frame(2, deflated(new Uint8Array(512 * 1024)), true, /permessage-deflate/i.test(c.responseHead));
      const many = new Uint8Array(one.length * 64);
      for (let i = 0; i < 64; i++) many.set(one, i * one.length);
      await c.write(many);
      await conns[0]!.closed;
      assert(closes[0] === 1008, `server-side close code ${closes[0]}`);
      assert(highest <= limit + 512 * 1024, `send buffer reached ${highest} bytes`);
    });

    await check("a peer that sends and never reads: reading pauses, nothing accepted is lost once it reads", ["core"], async () => {
      const limit = 4 * 1024 * 1024;
      let highest = 0;
      const { service } = recording({
        received(message: unknown, conn: Connection<unknown>) {
          void conn.send(message as Uint8Array);
          highest = Math.max(highest, conn.bufferedAmount);
        },
      });
      const s = await serve({ services: { "/": service }, maxBufferedAmount: limit });
      const c = await open(s.port, "/");
      c.socket.pause();
      const size = 64 * 1024;
      const count = 200;
      const sent = (async () => {
        for (let i = 0; i < count; i++) await c.write(frame(2, new Uint8Array(size).fill(i & 0xff)));
      })();
      await sleep(500);
      assert(highest <= limit, `send buffer reached ${highest} bytes before the peer read`);
      c.socket.resume();
      await sent;
      await c.until(() => c.frames.filter((f) => f.opcode === 2).length === count || c.frames.some((f) => f.opcode === 8));
      const echoed = c.frames.filter((f) => f.opcode === 2);
      assert(echoed.length === count, `${echoed.length} of ${count} echoes (closed: ${c.frames.some((f) => f.opcode === 8)})`);
      assert(echoed.every((f, i) => f.payload.length === size && f.payload[0] === (i & 0xff)), "echoes out of order or cut");
      assert(highest <= limit, `send buffer reached ${highest} bytes`);
    });

    await check("the 'close' policy's 1008 close frame reaches a peer that stopped reading, once it reads", ["core"], async () => {
      const { conns, service } = recording({
        received(_message: unknown, conn: Connection<unknown>) {
          for (let i = 0; i < 64; i++) void conn.send(new Uint8Array(64 * 1024));
        },
      });
      const s = await serve({ services: { "/": service }, maxBufferedAmount: 1024 * 1024 });
      const c = await open(s.port, "/");
      c.socket.pause();
      await c.write(frame(1, "flood me"));
      const info = await conns[0]!.closed.catch(() => null);
      assert(info, "no close");
      c.socket.resume();
      const code = await c.closeCode();
      assert(code === 1008, `close code ${code}`);
    });

    await check("a ping flood from a peer that never reads: the pongs stay within maxBufferedAmount", ["core"], async () => {
      const limit = 64 * 1024;
      const { conns, service } = recording({});
      const s = await serve({ services: { "/": service }, maxBufferedAmount: limit });
      const c = await open(s.port, "/");
      c.socket.pause();
      const ping = frame(9, new Uint8Array(125));
      const flood = new Uint8Array(ping.length * 20_000);
      for (let i = 0; i < 20_000; i++) flood.set(ping, i * ping.length);
      void c.write(flood);
      await sleep(1000);
      const held = conns[0]!.bufferedAmount;
      assert(held <= limit, `send buffer holds ${held} bytes of pongs`);
      // the pongs wait for room: not a reason to close a peer that has only pinged
      assert(conns[0]!.readyState === "open", `connection ${conns[0]!.readyState}`);
    });

    await check("a message trickled one byte at a time must complete within messageTimeout: 1008", ["core"], async () => {
      const { service } = recording({ received: echo });
      const s = await serve({ services: { "/": service }, messageTimeout: 500 });
      const c = await open(s.port, "/");
      await c.write(frame(1, "a", false));
      const code = c.closeCode();
      for (let i = 0; i < 40 && !c.frames.some((f) => f.opcode === 8) && !c.socket.destroyed; i++) {
        await sleep(100);
        await c.write(frame(0, "a", false));
      }
      assert((await code) === 1008, `close code ${await code}`);
    });

    await check("a silent peer that never answers pings is reaped by the heartbeat", ["core", "runtime"], async () => {
      const { conns, service } = recording({});
      const s = await serve({ services: { "/": service }, idleTimeout: 1000 });
      const c = await open(s.port, "/");
      assert(c.status === 101, `status ${c.status}`);
      await Promise.race([conns[0]!.closed, c.ended]);
      assert(c.frames.some((f) => f.opcode === 9), "no ping was sent before closing");
    });

    await check("maxConnections holds exactly, counted from the upgrade decision", ["core", "runtime"], async () => {
      const service = defineService({
        async upgrade() {
          await sleep(200);
        },
      } as Service<unknown>) as Service<unknown>;
      const s = await serve({ services: { "/": service }, maxConnections: 5 });
      const all = await Promise.all(Array.from({ length: 12 }, () => open(s.port, "/")));
      const statuses = all.map((c) => c.status).sort();
      const accepted = statuses.filter((x) => x === 101).length;
      const refused = statuses.filter((x) => x === 503).length;
      assert(accepted === 5 && refused === 7, `statuses ${statuses.join(",")}`);
    });

    await check("a gate that never settles gets 503 after handshakeTimeout and gives its slot back", ["core", "runtime"], async () => {
      const hang = defineService({ upgrade: () => new Promise<void>(() => {}) } as Service<unknown>) as Service<unknown>;
      const { service } = recording({ received: echo });
      const s = await serve({ services: { "/hang": hang, "/": service }, maxConnections: 1, handshakeTimeout: 300 });
      const first = await open(s.port, "/hang");
      assert(first.status === 503 || first.status === 0, `hanging gate answered ${first.status}`);
      const second = await open(s.port, "/hang");
      assert(second.status === 503 || second.status === 0, `second hanging gate answered ${second.status}`);
      const ok = await open(s.port, "/");
      assert(ok.status === 101, `after two timed-out gates an upgrade got ${ok.status}`);
    });

    await check("a handler that throws on every message logs one stack, then one summary line", ["core", "runtime"], async () => {
      const lines: string[] = [];
      // a line and the stack of the Error it carries (pino-style context first: `err`)
      const logger: Logger = { ...target.silentLogger, error: (c, m) => void lines.push(c.err instanceof Error ? `${m}\n${c.err.stack}` : m) };
      const { conns, service } = recording({
        received() {
          throw new Error("boom");
        },
      });
      const s = await serve({ services: { "/": service }, logger });
      const c = await open(s.port, "/");
      const burst = frame(1, "x");
      const all = new Uint8Array(burst.length * 300);
      for (let i = 0; i < 300; i++) all.set(burst, i * burst.length);
      await c.write(all);
      await c.write(frame(8, new Uint8Array([0x03, 0xe8])));
      await conns[0]!.closed;
      const handlerLines = lines.filter((l) => l.includes("handler failed"));
      assert(handlerLines.length === 2, `${handlerLines.length} log lines: ${handlerLines.join(" | ").slice(0, 300)}`);
      assert(handlerLines[0]!.includes("boom") && handlerLines[0]!.includes("\n"), "the first line has no stack");
      assert(handlerLines[1]!.includes("300 in all"), `summary: ${handlerLines[1]}`);
    });
  }
  return results;
}
