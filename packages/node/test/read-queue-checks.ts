/**
 * Issue 21, items 1, 2 and 6, over real sockets (node:net, which Node, Bun and Deno all have), against any
 * adapter's serve() and connect(): run by this package's test/read-queue.test.ts and, inside Bun and Deno, by
 * their test/fixtures/read-queue.ts. Each check asserts what the endpoint reports itself (its read queue's
 * accounting, its send buffer, the close code, its log lines), never how fast something happened.
 */
import * as net from "node:net";
import { createHash } from "node:crypto";
import type { Connection, EngineServeOptions, Logger, LogContext, ServeEngine, Service, ClientOptions, defineService as DefineService } from "@ws/core";

/** What the checks use of an adapter module. */
export interface ReadQueueTarget {
  serve(options: EngineServeOptions): Promise<{ port: number; close(options?: { timeout?: number }): Promise<void> }>;
  connect(url: string, options?: ClientOptions): Promise<Connection>;
  defineService: typeof DefineService;
  silentLogger: Logger;
}

export type CheckResult = { name: string; ok: boolean; error?: string };

/** The default read high-water mark (1 MiB) over the per-message overhead (256 bytes): messages queued before the pause. */
const QUEUED_AT_PAUSE = (1024 * 1024) / 256;
/** The client's default send-buffer bound (16 MiB). */
const CLIENT_MAX_BUFFERED = 16 * 1024 * 1024;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Concatenates `count` copies of `bytes`. */
function repeat(bytes: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(bytes.length * count);
  for (let i = 0; i < count; i++) out.set(bytes, i * bytes.length);
  return out;
}

/** Waits until `value()` reaches `target` or has not changed for `quiet` polls; returns the last value. */
async function settled(value: () => number, target: number, quiet = 4): Promise<number> {
  let last = -1;
  let same = 0;
  for (;;) {
    const v = value();
    if (v >= target) return v;
    same = v === last ? same + 1 : 0;
    if (same >= quiet && v > 0) return v;
    last = v;
    await sleep(100);
  }
}

/** A logger that keeps its warnings. */
function warningLogger() {
  const warnings: string[] = [];
  const logger: Logger = { info: () => {}, warn: (_c: LogContext, m: string) => void warnings.push(m), error: () => {} };
  return { logger, warnings };
}

/**
 * A server that answers the opening handshake by hand and then does what `then` says with the raw socket:
 * a peer the client cannot trust (it never reads, it stalls mid-message).
 */
async function rawServer(then: (socket: net.Socket) => void): Promise<{ port: number; close(): void; sockets: net.Socket[] }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on("error", () => {});
    let head = "";
    const onData = (chunk: Uint8Array) => {
      head += new TextDecoder("latin1").decode(chunk);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("data", onData);
      const key = /sec-websocket-key:\s*(\S+)/i.exec(head)?.[1] ?? "";
      const accept = createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      then(socket);
    };
    socket.on("data", onData);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    sockets,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** Opens a raw client socket and completes the handshake; resolves once the 101 has arrived. */
async function rawClient(port: number, path: string): Promise<net.Socket> {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", () => {});
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  await new Promise<void>((resolve) => {
    let text = "";
    const onData = (chunk: Uint8Array) => {
      text += new TextDecoder("latin1").decode(chunk);
      if (text.includes("\r\n\r\n")) {
        socket.off("data", onData);
        resolve();
      }
    };
    socket.on("data", onData);
  });
  return socket;
}

/** Reads `count` queued messages. */
async function readAll(conn: Connection, count: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) out.push((await conn.read({ timeout: 1000 })) as Uint8Array);
  return out;
}

/** Each message is 1, 2, 3 in a buffer of at most 8 KiB (an eighth of a 64 KiB read buffer). */
function assertSmallBuffers(messages: Uint8Array[]): void {
  for (const m of messages) {
    if (m.byteLength !== 3 || m[2] !== 3) throw new Error(`message ${Array.from(m).join(",")}`);
    if (m.buffer.byteLength > 8192) throw new Error(`a 3-byte message keeps a buffer of ${m.buffer.byteLength} bytes`);
  }
}

/** Runs each check on each engine of `target` (the client checks once, on the first engine). */
export async function runReadQueueChecks(target: ReadQueueTarget, engines: ServeEngine[]): Promise<CheckResult[]> {
  const { defineService } = target;
  const results: CheckResult[] = [];
  const cleanups: Array<() => unknown> = [];

  async function check(name: string, fn: () => Promise<void>): Promise<void> {
    try {
      await Promise.race([fn(), new Promise((_, j) => setTimeout(() => j(new Error("timed out")), 30_000))]);
      results.push({ name, ok: true });
    } catch (e) {
      results.push({ name, ok: false, error: e instanceof Error ? e.message : String(e) });
    } finally {
      for (const c of cleanups.splice(0)) await Promise.resolve(c()).catch(() => {});
    }
  }
  function assert(cond: unknown, message: string): asserts cond {
    if (!cond) throw new Error(message);
  }
  async function serve(engine: ServeEngine, options: Omit<EngineServeOptions, "engine" | "port" | "hostname">) {
    const s = await target.serve({ logger: target.silentLogger, ...options, engine, port: 0, hostname: "127.0.0.1" });
    cleanups.push(() => s.close({ timeout: 100 }));
    return s;
  }
  async function connect(url: string, options: ClientOptions = {}) {
    const c = await target.connect(url, { logger: target.silentLogger, ...options });
    cleanups.push(() => c.drop());
    return c;
  }

  for (const engine of engines) {
    await check(`${engine}: a service without received(), flooded with empty frames: reading pauses, its read queue stays bounded, one warning`, async () => {
      const { logger, warnings } = warningLogger();
      const conns: Connection[] = [];
      const service = defineService({ connected: (conn) => void conns.push(conn as Connection) }) as Service<unknown>;
      const s = await serve(engine, { services: { "/": service }, logger });
      const socket = await rawClient(s.port, "/");
      cleanups.push(() => socket.destroy());
      while (conns.length === 0) await sleep(10);
      const conn = conns[0]!;
      const flood = 300_000;
      socket.write(repeat(Uint8Array.of(0x82, 0x80, 0, 0, 0, 0), flood)); // empty binary frames, masked with a zero key
      const queued = await settled(() => conn.unread.messages, flood);
      assert(queued < flood / 3, `the server queued ${queued} of ${flood} empty messages (${conn.unread.bytes} bytes counted)`);
      assert(queued >= QUEUED_AT_PAUSE, `queued ${queued}: reading paused before the high-water mark`);
      assert(warnings.length === 1 && /nothing consumes them.*received\(message, conn\)/.test(warnings[0]!), `warnings: ${JSON.stringify(warnings)}`);
    });
  }

  for (const engine of engines) {
    await check(`${engine}: small binary messages waiting in a server's read queue do not keep the buffers they were read into`, async () => {
      const conns: Connection[] = [];
      const service = defineService({ connected: (conn) => void conns.push(conn as Connection) }) as Service<unknown>;
      const s = await serve(engine, { services: { "/": service } });
      const socket = await rawClient(s.port, "/");
      cleanups.push(() => socket.destroy());
      while (conns.length === 0) await sleep(10);
      const conn = conns[0]!;
      for (let i = 0; i < 20; i++) {
        socket.write(Uint8Array.of(0x82, 0x83, 0, 0, 0, 0, 1, 2, 3)); // one 3-byte binary message per write
        await sleep(5);
      }
      await settled(() => conn.unread.messages, 20);
      assertSmallBuffers(await readAll(conn, 20));
    });
  }

  const engine = engines[0]!;

  await check("small binary messages waiting in a client's read queue do not keep the buffers they were read into", async () => {
    const service = defineService({
      async connected(conn) {
        for (let i = 0; i < 20; i++) {
          void conn.send(Uint8Array.of(1, 2, 3));
          await sleep(5);
        }
      },
    }) as Service<unknown>;
    const s = await serve(engine, { services: { "/": service } });
    const client = await connect(`ws://127.0.0.1:${s.port}/`);
    await settled(() => client.unread.messages, 20);
    assertSmallBuffers(await readAll(client, 20));
  });

  await check("a client without a handler, flooded with empty messages: its reading pauses and its read queue stays bounded", async () => {
    const flood = 300_000;
    const service = defineService({
      async connected(conn) {
        for (let sent = 0; sent < flood; sent += 10_000) {
          for (let i = 0; i < 10_000; i++) void conn.send("");
          await sleep(1);
        }
      },
    }) as Service<unknown>;
    const s = await serve(engine, { services: { "/": service } });
    const { logger, warnings } = warningLogger();
    const client = await connect(`ws://127.0.0.1:${s.port}/`, { logger });
    const queued = await settled(() => client.unread.messages, flood);
    assert(queued < flood / 3, `the client queued ${queued} of ${flood} empty messages`);
    assert(warnings.length === 1, `warnings: ${JSON.stringify(warnings)}`);
  });

  await check("a client answering the pings of a server that never reads: its pongs stop at the 16 MiB send buffer", async () => {
    const pings = 300_000; // 300,000 pongs of 131 bytes: 39 MB if nothing bounds them
    const ping = repeat(new Uint8Array(127), 1);
    ping[0] = 0x89;
    ping[1] = 125;
    const srv = await rawServer((socket) => {
      socket.pause(); // never reads what the client sends
      socket.write(repeat(ping, pings));
    });
    cleanups.push(() => srv.close());
    const client = await connect(`ws://127.0.0.1:${srv.port}/`);
    let answered = 0;
    client.onPing(() => void answered++);
    await settled(() => answered, pings);
    assert(answered === pings, `the client got ${answered} of ${pings} pings`);
    assert(client.bufferedAmount <= CLIENT_MAX_BUFFERED + 131, `the client holds ${client.bufferedAmount} bytes of pongs`);
    assert(client.readyState === "open", `client ${client.readyState}`);
  });

  await check("connect({ messageTimeout }) is passed on: a message the server never finishes closes the client with 1008", async () => {
    const srv = await rawServer((socket) => void socket.write(Uint8Array.of(0x81, 5, 0x68, 0x65))); // "he" of a 5-byte text
    cleanups.push(() => srv.close());
    const client = await connect(`ws://127.0.0.1:${srv.port}/`, { messageTimeout: 200, closeTimeout: 200 });
    const info = await Promise.race([client.closed, sleep(5000).then(() => "still open")]);
    assert(typeof info === "object" && info.code === 1008, `client closed with ${JSON.stringify(info)}`);
  });

  await check("a client whose reading is paused notices, through its keepalive, that the server has gone", async () => {
    let serverSide: Connection | undefined;
    const service = defineService({
      connected(conn) {
        serverSide = conn as Connection;
        const kib = new Uint8Array(1024);
        for (let i = 0; i < 4096; i++) void conn.send(kib); // 4 MiB: the client's queue pauses at 1 MiB
      },
    }) as Service<unknown>;
    const s = await serve(engine, { services: { "/": service } });
    const client = await connect(`ws://127.0.0.1:${s.port}/`, { idleTimeout: 1000 });
    await settled(() => client.unread.messages, 4096);
    assert(client.unread.messages < 4096, `the client queued all ${client.unread.messages} messages`);
    serverSide!.drop(); // the server goes without a close handshake; the client reads nothing more
    const info = await Promise.race([client.closed, sleep(10_000).then(() => "still open")]);
    assert(typeof info === "object" && info.code === 1006, `client: ${JSON.stringify(info)}`);
  });

  return results;
}
