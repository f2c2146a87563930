/**
 * Issue 21, items 1, 2 and 6 (and issue 22's unconsumed-messages warning) over the memory stream pair:
 * - the read queue charges every message a fixed overhead, so a flood of empty messages pauses reading on a
 *   server whose service has no `received` and on a client without a handler;
 * - a small queued message does not keep the large read buffer it was parsed out of;
 * - the first pause with nothing consuming the queue logs one warning naming the fix;
 * - a client has the server's defaults: a 16 MiB send buffer (so automatic pongs wait), `messageTimeout`
 *   passed on (60 s by default), a keepalive (120 s).
 */
import { describe, expect, it } from "vitest";
import { Connection, silentLogger, type ClientOptions, type Service } from "../src/index.ts";
import { connectOverStream, createUpgradeRequest, ServerCore } from "../src/adapter.ts";
import { parseHttpHead } from "../src/protocol.ts";
import { DEFAULT_READ_HIGH_WATER_MARK, QUEUED_MESSAGE_OVERHEAD } from "../src/protocol/limits.ts";
import { DEFAULT_CLIENT_SETTINGS } from "../src/settings/resolve.ts";

const DEFAULT_CLIENT_MAX_BUFFERED_AMOUNT = DEFAULT_CLIENT_SETTINGS.maxBufferedAmount;
import { frame, RFC_MASK } from "./support/frames.ts";
import { concatBytes, memoryPair, settle, type MemoryStream } from "./support/memory-stream.ts";
import { recordingLogger } from "./support/peers.ts";

/** Accepts one upgrade on `stream` with `core` (a minimal adapter). */
function accept(core: ServerCore, stream: MemoryStream): Promise<Connection> {
  return new Promise((resolve, reject) => {
    let buffered: Uint8Array = new Uint8Array(0);
    stream.start({
      data: (chunk) => {
        buffered = concatBytes([buffered, chunk]);
        const head = parseHttpHead(buffered);
        if (!head || head instanceof Error) return;
        const [method, url, version] = head.startLine;
        const req = createUpgradeRequest({ method, url, httpVersion: version.replace("HTTP/", ""), headers: head.headers, remoteAddress: "127.0.0.1" });
        void core.negotiate(req).then((outcome) => (outcome.ok ? resolve(outcome.accept(stream, buffered.subarray(head.length))) : reject(new Error("refused"))));
      },
      drain: () => {},
      end: () => {},
      close: () => {},
    });
  });
}

/** A server with `service` on "/" and a client connected to it over a memory stream pair. */
async function pair(service: Service, server: Partial<ConstructorParameters<typeof ServerCore>[0]> = {}, client: ClientOptions = {}) {
  const core = new ServerCore({ logger: silentLogger, ...server, services: { "/": service } });
  const [a, b] = memoryPair();
  const served = accept(core, a);
  const conn = await connectOverStream(b, "ws://localhost/", { logger: silentLogger, ...client });
  return { core, a, b, client: conn, server: await served };
}

const macrotask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** Messages the read queue holds at most once reading paused, with `batch` more arriving in the read that paused it. */
const bound = (batch: number) => Math.ceil(DEFAULT_READ_HIGH_WATER_MARK / QUEUED_MESSAGE_OVERHEAD) + batch;

describe("read queue: empty messages are not free", () => {
  it("a service without received(), flooded with empty frames: reading pauses, the queue stays bounded, one warning names the fix", async () => {
    const { logger, lines } = recordingLogger();
    const { b, server } = await pair({}, { logger });
    const empty = frame({ opcode: 2, mask: RFC_MASK });
    const batch = 1000;
    const total = 30_000;
    // the flood goes out in reads of `batch` frames (the memory stream holds them while the server is paused)
    for (let sent = 0; sent < total; sent += batch) {
      b.write(concatBytes(Array.from({ length: batch }, () => empty)));
      await macrotask();
    }
    await settle();
    const unread = server.unread;
    expect(unread.messages).toBeGreaterThan(0);
    expect(unread.messages).toBeLessThanOrEqual(bound(batch));
    expect(unread.bytes).toBeLessThanOrEqual(DEFAULT_READ_HIGH_WATER_MARK + batch * QUEUED_MESSAGE_OVERHEAD);
    const warnings = lines.filter(([level]) => level === "warn");
    expect(warnings.length).toBe(1);
    expect(warnings[0]![1]).toMatch(/nothing consumes them.*received\(message, conn\).*conn\.onMessage.*conn\.read\(\)/);
    // nothing is lost: what was held back arrives as the queue is read
    let read = 0;
    while ((await server.read({ timeout: 200 }).catch(() => null)) !== null) if (++read === total) break;
    expect(read).toBe(total);
  });

  it("a client without a handler, flooded with empty messages by the server: its reading pauses and its queue stays bounded", async () => {
    const { client, server } = await pair({});
    const batch = 1000;
    for (let sent = 0; sent < 30_000; sent += batch) {
      for (let i = 0; i < batch; i++) void server.send("");
      await macrotask();
    }
    await settle();
    expect(client.unread.messages).toBeGreaterThan(0);
    expect(client.unread.messages).toBeLessThanOrEqual(bound(batch));
  });

  it("warns once per logger, and not when something reads or a handler takes the messages", async () => {
    const { logger, lines } = recordingLogger();
    const reader = await pair({ connected: (conn) => void conn.read() }, { logger });
    const handled = await pair({ received: () => {} }, { logger });
    const quiet1 = await pair({}, { logger });
    const quiet2 = await pair({}, { logger });
    const big = frame({ opcode: 2, payload: new Uint8Array(DEFAULT_READ_HIGH_WATER_MARK + 1), mask: RFC_MASK });
    for (const p of [reader, handled]) p.b.write(big), p.b.write(big);
    await settle();
    expect(lines.filter(([level]) => level === "warn")).toEqual([]);
    quiet1.b.write(big);
    quiet2.b.write(big);
    await settle();
    expect(quiet1.server.unread.messages).toBe(1);
    expect(quiet2.server.unread.messages).toBe(1);
    expect(lines.filter(([level]) => level === "warn").length).toBe(1);
  });
});

describe("read queue: a small message does not keep the read buffer it came in", () => {
  it("a queued small binary message is copied out of a large chunk (client and server side)", async () => {
    const { a, b, client, server } = await pair({});
    const small = new Uint8Array([1, 2, 3]);
    // one read: a 3-byte message followed by a 60 KiB one
    a.write(concatBytes([frame({ opcode: 2, payload: small }), frame({ opcode: 2, payload: new Uint8Array(60 * 1024) })]));
    b.write(concatBytes([frame({ opcode: 2, payload: small, mask: RFC_MASK }), frame({ opcode: 2, payload: new Uint8Array(60 * 1024), mask: RFC_MASK })]));
    await macrotask();
    await settle();
    for (const conn of [client, server]) {
      expect(conn.unread.messages).toBe(2); // queued, not handed to a waiting read()
      const m = (await conn.read({ timeout: 500 })) as Uint8Array;
      expect(m).toEqual(small);
      expect(m.buffer.byteLength).toBeLessThan(1024);
      const large = (await conn.read({ timeout: 500 })) as Uint8Array;
      expect(large.byteLength).toBe(60 * 1024);
    }
  });
});

describe("client defaults", () => {
  it("automatic pongs to a server that never reads stop at the 16 MiB send buffer", async () => {
    const { b, client, server } = await pair({});
    b.stall(); // the server stops reading: the client's send buffer fills with pongs
    const payload = new Uint8Array(125);
    const pings = Math.ceil((DEFAULT_CLIENT_MAX_BUFFERED_AMOUNT * 1.25) / (6 + 125));
    let answered = 0;
    client.onPing(() => void answered++);
    for (let sent = 0; sent < pings; sent += 5000) {
      for (let i = 0; i < 5000 && sent + i < pings; i++) void server.ping(payload);
      await macrotask();
    }
    await settle();
    expect(answered).toBe(pings);
    expect(client.bufferedAmount).toBeLessThanOrEqual(DEFAULT_CLIENT_MAX_BUFFERED_AMOUNT + 6 + 125);
    expect(client.readyState).toBe("open");
  });

  it("messageTimeout reaches the client's connection: an unfinished message closes it with 1008", async () => {
    const { a, client } = await pair({}, {}, { messageTimeout: 100, closeTimeout: 100 });
    a.write(frame({ opcode: 1, payload: "hello" }).subarray(0, 4)); // the header and 2 of 5 bytes
    const info = await Promise.race([client.closed, new Promise((resolve) => setTimeout(() => resolve("still open"), 2000))]);
    expect(info).toMatchObject({ code: 1008 });
  });

  it("a client's connection gets the server's defaults: 16 MiB send buffer, 60 s messageTimeout, 120 s keepalive", async () => {
    const { client } = await pair({});
    // white-box: the values the connection and its transport were built with (waiting them out takes minutes)
    const c = client as unknown as { settings: { maxBufferedAmount: number }; heartbeat: { interval: number } | null; transport: { settings: { messageTimeout: number; maxBufferedAmount: number } } };
    expect(c.settings.maxBufferedAmount).toBe(16 * 1024 * 1024);
    expect(c.transport.settings.maxBufferedAmount).toBe(16 * 1024 * 1024);
    expect(c.transport.settings.messageTimeout).toBe(60_000);
    expect(c.heartbeat?.interval).toBe(120_000 / 2);
  });

  it("a client whose reading is paused learns that the server has gone through its keepalive", async () => {
    const { a, client, server } = await pair({}, {}, { idleTimeout: 1000 });
    const batch = 1000;
    for (let sent = 0; sent < 10_000; sent += batch) {
      for (let i = 0; i < batch; i++) void server.send("");
      await macrotask();
    }
    await settle();
    expect(client.unread.messages).toBeLessThan(10_000); // paused
    a.stall(); // the server is gone without a word: nothing more arrives, nothing is answered
    const info = await Promise.race([client.closed, new Promise((resolve) => setTimeout(() => resolve("still open"), 3000))]);
    expect(info).toMatchObject({ code: 1006 });
  });
});
