/**
 * Issue 21, defect 5: the broker must not queue without bound while Redis stalls, and one publish must not
 * overrun the other processes' subscriber connections in Redis. Against a real redis-server stopped with
 * SIGSTOP (connections open, nothing answered) for a bounded number of publishes, asserted from the broker's
 * own accounting: `queuedBytes` never over `maxQueuedBytes` (default 8 MiB), the rest counted in
 * `stats.dropped`; every message it did queue reaches the other process once Redis continues; a message over
 * `maxMessageSize` (default 1 MiB) is refused with an error naming the option, locally delivered all the same.
 * And the README's delivery guarantee on the receiving side: a process that falls behind loses its subscriber
 * connection to Redis's output buffer limit, and what was in it, then resubscribes and receives again.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { defineService, InvalidOptionError, type Logger, type Message } from "@ws/core";
import { serve } from "@ws/node";
import { RedisBroker } from "../src/index.ts";
import { startRedisServer, type LocalRedis } from "../src/redis-server.ts";

/** the documented defaults */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;
const MAX_MESSAGE_SIZE = 1024 * 1024;

let redis: LocalRedis;

beforeAll(async () => {
  redis = await startRedisServer();
});

afterEach(() => redis.resume()); // never leave it stopped, whatever failed

afterAll(async () => {
  await redis?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (_fields: object, message: string) => void lines.push(`${level} ${message}`);
  return { lines, debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") } as Logger & { lines: string[] };
}

/** A broker with a recording delivery, as a hub would attach it. */
async function broker(prefix: string) {
  const logger = recordingLogger();
  const b = new RedisBroker({ url: redis.url, prefix, logger, maxReconnectDelay: 200 });
  const got: Array<[string, Message]> = [];
  b.attach((topic, message) => void got.push([topic, message]));
  await b.ready();
  return { b, got, logger };
}

/**
 * While Redis is stopped, publishes `count` messages in batches of `batch`, a timer tick apart (a publisher
 * going on at its own pace, not one burst), and returns the most `queuedBytes` seen.
 */
async function publishWhileStalled(b: RedisBroker, message: Message, count: number, batch: number): Promise<number> {
  let most = 0;
  for (let sent = 0; sent < count; ) {
    for (let i = 0; i < batch && sent < count; i++, sent++) {
      b.publish("room", message);
      most = Math.max(most, b.queuedBytes);
    }
    await sleep(5);
  }
  return most;
}

describe("hostile: Redis stalls (SIGSTOP) under a publishing server", () => {
  it("16 MiB of 64 KiB messages: at most maxQueuedBytes wait for Redis, the rest are dropped, counted; the queued ones arrive", async () => {
    const [x, y] = await Promise.all([broker("s1:"), broker("s1:")]);
    y.b.subscribe("room");
    await y.b.settled();

    redis.pause();
    const count = 256;
    const most = await publishWhileStalled(x.b, new Uint8Array(64 * 1024), count, 16);
    expect(x.b.stats.published).toBe(0); // nothing answered while stopped
    expect(x.b.stats.dropped).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(MAX_QUEUED_BYTES);
    expect(x.b.queuedBytes).toBeLessThanOrEqual(MAX_QUEUED_BYTES);
    expect(x.logger.lines.filter((l) => /maxQueuedBytes/.test(l))).toHaveLength(1); // one line, not one per drop
    redis.resume();

    await until("every publish answered or dropped", () => x.b.stats.published + x.b.stats.dropped === count);
    expect(x.b.queuedBytes).toBe(0);
    // what fit (up to 8 MiB of it, serialized copies waiting for the socket included) was relayed: the other process gets exactly those, and kept its connection
    expect(x.b.stats.published).toBeGreaterThan(count / 8);
    await until("y to get what was published", () => y.got.length === x.b.stats.published);
    expect(y.b.stats.disconnects).toBe(0);
    expect(x.logger.lines.filter((l) => /under half of maxQueuedBytes again; \d+ published messages were dropped/.test(l))).toHaveLength(1);
    await Promise.all([x.b.close(), y.b.close()]);
  }, 30_000);

  it("20,000 empty messages: each counted with its overhead, so their number is bounded too", async () => {
    const [x, y] = await Promise.all([broker("s2:"), broker("s2:")]);
    y.b.subscribe("room");
    await y.b.settled();

    redis.pause();
    const count = 20_000;
    const most = await publishWhileStalled(x.b, "", count, 1000);
    expect(x.b.stats.dropped).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(MAX_QUEUED_BYTES);
    redis.resume();

    await until("every publish answered or dropped", () => x.b.stats.published + x.b.stats.dropped === count);
    expect(x.b.queuedBytes).toBe(0);
    await until("y to get what was published", () => y.got.length === x.b.stats.published);
    await Promise.all([x.b.close(), y.b.close()]);
  }, 30_000);

  it("a message over maxMessageSize is refused with an error naming the option; one at the limit goes through", async () => {
    const [x, y] = await Promise.all([broker("s3:"), broker("s3:")]);
    y.b.subscribe("room");
    await y.b.settled();

    expect(() => x.b.publish("room", new Uint8Array(MAX_MESSAGE_SIZE + 1))).toThrow(RangeError);
    // text is counted in UTF-8 bytes: half as many characters, two bytes each, and one more
    expect(() => x.b.publish("room", "é".repeat(MAX_MESSAGE_SIZE / 2) + "a")).toThrow(/over maxMessageSize \(1048576 bytes\)/);
    expect(() => x.b.publish("room", new Uint8Array(16 * 1024 * 1024))).toThrow(/maxMessageSize/);
    expect(x.b.stats.dropped).toBe(3);
    x.b.publish("room", new Uint8Array(MAX_MESSAGE_SIZE).fill(7));
    await until("y to get the one at the limit", () => y.got.length === 1);
    expect((y.got[0]![1] as Uint8Array).byteLength).toBe(MAX_MESSAGE_SIZE);
    expect(x.b.stats).toMatchObject({ published: 1, dropped: 3 });
    expect(y.b.stats.disconnects).toBe(0);
    await Promise.all([x.b.close(), y.b.close()]);
  });

  it("through a server: a too-large publish reaches the local subscribers, and the refusal is logged once", async () => {
    const logger = recordingLogger();
    const server = await serve({
      port: 0,
      hostname: "127.0.0.1",
      services: { "/": defineService({ connected: (conn) => conn.subscribe("room") }) },
      logger,
      broker: new RedisBroker({ url: redis.url, prefix: "s4:", logger }),
    });
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/`);
    const got: number[] = [];
    ws.on("message", (data: Buffer) => void got.push(data.length));
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    await until("the subscription", () => server.subscriberCount("room") === 1);
    expect(server.publish("room", new Uint8Array(MAX_MESSAGE_SIZE + 1))).toBe(1);
    await until("the local delivery", () => got.length === 1);
    expect(got).toEqual([MAX_MESSAGE_SIZE + 1]);
    expect(logger.lines.filter((l) => /maxMessageSize/.test(l))).toHaveLength(1);
    ws.close();
    await server.close({ timeout: 1000 });
  });

  it("checks its bounds when created", () => {
    expect(() => new RedisBroker({ url: redis.url, maxQueuedBytes: 0 })).toThrow(InvalidOptionError);
    expect(() => new RedisBroker({ url: redis.url, maxMessageSize: -1 })).toThrow(/maxMessageSize/);
    expect(() => new RedisBroker({ url: redis.url, maxQueuedBytes: 1024, maxMessageSize: 2048 })).toThrow(/at most maxQueuedBytes/);
  });
});

describe("a receiving process that falls behind (Redis's pubsub output buffer limit)", () => {
  it("loses its subscriber connection and what was in it, reconnects, resubscribes, and receives again", async () => {
    const { Redis } = await import("ioredis");
    const admin = new Redis(redis.url);
    // a small limit, so a bounded test exceeds it: 256 KiB hard
    await admin.config("SET", "client-output-buffer-limit", "pubsub 256kb 128kb 60");
    try {
      const [x, y] = await Promise.all([broker("s5:"), broker("s5:")]);
      y.b.subscribe("room");
      await y.b.settled();
      // y stops reading its subscriber connection (a blocked event loop, as far as Redis can tell)
      const subscriber = (y.b as unknown as { sub: { stream: { pause(): void; resume(): void } } }).sub.stream;
      subscriber.pause();
      // 1 MiB at a time, each answered before the next, until Redis has closed y's subscriber connection (the
      // kernel's socket buffers take some first); at most 64 MiB
      const subscribers = async () => ((await admin.pubsub("NUMSUB", "s5:room")) as [string, number])[1];
      expect(await subscribers()).toBe(1);
      const message = new Uint8Array(64 * 1024);
      for (let sent = 0; sent < 1024 && (await subscribers()) === 1; ) {
        for (let i = 0; i < 16; i++, sent++) x.b.publish("room", message);
        await until("published", () => x.b.stats.published === sent);
      }
      expect(await subscribers()).toBe(0); // Redis closed y's subscriber connection
      subscriber.resume();
      await until("y to lose its connection", () => y.b.stats.disconnects === 1);
      expect(x.b.stats.dropped).toBe(0);
      expect(y.got.length).toBeLessThan(x.b.stats.published); // what was in Redis's buffer is gone
      await until("y back", () => y.b.connected);
      await y.b.settled();
      const before = y.got.length;
      x.b.publish("room", "after");
      await until("y to receive again", () => y.got.length === before + 1);
      expect(y.got.at(-1)).toEqual(["room", "after"]);
      expect(y.logger.lines.filter((l) => /connection lost/.test(l))).toHaveLength(1);
      await Promise.all([x.b.close(), y.b.close()]);
    } finally {
      await admin.config("SET", "client-output-buffer-limit", "pubsub 32mb 8mb 60");
      admin.disconnect();
    }
  }, 30_000);
});
