/**
 * RedisBroker against a real redis-server (started here on a free port, in a temp dir, nothing saved):
 * channels subscribed only while a local subscriber exists, no echo of a process's own messages, text and
 * binary kept distinct, an outage (SIGKILL, restart on the same port) survived with resubscription; and two
 * @ws/node servers sharing a room through it, driven by `ws` clients.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import WebSocket from "ws";
import { defineService, silentLogger, type Message } from "@ws/core";
import { serve } from "@ws/node";
import { RedisBroker } from "../src/index.ts";
import { startRedisServer, type LocalRedis } from "../src/redis-server.ts";

let redis: LocalRedis;
let admin: Redis;

beforeAll(async () => {
  redis = await startRedisServer();
  admin = new Redis(redis.url, { maxRetriesPerRequest: null, retryStrategy: () => 100 });
  admin.on("error", () => {});
});

afterAll(async () => {
  admin?.disconnect();
  await redis?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A broker with a recording delivery, as a hub would attach it. */
async function broker(prefix = "t:") {
  const b = new RedisBroker({ url: redis.url, prefix, logger: silentLogger, maxReconnectDelay: 200 });
  const got: Array<[string, Message]> = [];
  b.attach((topic, message) => void got.push([topic, message]));
  await b.ready();
  return { b, got };
}

const channels = async (pattern = "t:*") => ((await admin.pubsub("CHANNELS", pattern)) as string[]).sort();

describe("RedisBroker", () => {
  it("is on a channel only while the topic has a local subscriber", async () => {
    const { b } = await broker();
    b.subscribe("room");
    b.subscribe("other");
    await b.settled();
    expect(await channels()).toEqual(["t:other", "t:room"]);
    b.unsubscribe("room");
    await b.settled();
    expect(await channels()).toEqual(["t:other"]);
    await b.close();
    await until("the channel to go", async () => (await channels()).length === 0);
  });

  it("delivers to other processes (brokers), never back to the publisher; text and binary stay distinct", async () => {
    const [x, y, z] = await Promise.all([broker(), broker(), broker()]);
    for (const { b } of [x, y]) b.subscribe("room");
    await Promise.all([x.b.settled(), y.b.settled()]);
    x.b.publish("room", "text é ✓");
    x.b.publish("room", new TextEncoder().encode("text é ✓"));
    x.b.publish("room", "");
    x.b.publish("room", new Uint8Array(0));
    z.b.publish("room", "from z"); // z has no subscriber here, but publishes
    await until("y to get 5", () => y.got.length === 5);
    await sleep(50);
    expect(y.got[0]).toEqual(["room", "text é ✓"]);
    expect(y.got[1]![1]).toBeInstanceOf(Uint8Array);
    expect(new TextDecoder().decode(y.got[1]![1] as Uint8Array)).toBe("text é ✓");
    expect(y.got[2]).toEqual(["room", ""]);
    expect(y.got[3]![1]).toEqual(new Uint8Array(0));
    expect(y.got[4]).toEqual(["room", "from z"]);
    expect(x.got).toEqual([["room", "from z"]]); // its own four never came back
    expect(z.got).toEqual([]); // not subscribed: nothing
    expect(x.b.stats).toMatchObject({ published: 4, dropped: 0, received: 1 });
    // a foreign message on the channel (not an envelope) is ignored, counted
    await admin.publish("t:room", "plain text from someone else");
    await until("malformed counted", () => y.b.stats.malformed === 1);
    expect(y.got.length).toBe(5);
    await Promise.all([x, y, z].map(({ b }) => b.close()));
  });

  it("survives Redis dying and coming back: no throw, drops counted while down, resubscribes, delivery resumes", async () => {
    const [x, y] = await Promise.all([broker(), broker()]);
    y.b.subscribe("room");
    y.b.subscribe("later-gone");
    await y.b.settled();
    x.b.publish("room", "before");
    await until("before", () => y.got.length === 1);

    await redis.kill();
    await until("both to notice", () => !x.b.connected && !y.b.connected);
    expect(() => x.b.publish("room", "while down")).not.toThrow();
    expect(x.b.stats.dropped).toBe(1);
    y.b.subscribe("joined-while-down");
    y.b.unsubscribe("later-gone");

    await redis.restart();
    await until("reconnect", () => x.b.connected && y.b.connected);
    await until("resubscribed", async () => (await channels()).join() === "t:joined-while-down,t:room");
    x.b.publish("room", "after");
    x.b.publish("joined-while-down", "new topic");
    await until("after", () => y.got.length === 3);
    expect(y.got.map(([t, m]) => `${t}:${String(m)}`)).toEqual(["room:before", "room:after", "joined-while-down:new topic"]);
    expect(y.b.stats.disconnects).toBeGreaterThanOrEqual(1);
    await Promise.all([x.b.close(), y.b.close()]);
  }, 30_000);

  it("one broker serves one server", async () => {
    const { b } = await broker();
    expect(() => b.attach(() => {})).toThrow(/one server/);
    await b.close();
  });
});

describe("two @ws/node servers sharing a room through Redis", () => {
  it("conn.publish and server.publish reach the other server's clients once, text as text and binary as binary", async () => {
    const relay = defineService({
      connected: (conn) => conn.subscribe("room"),
      received: (message, conn) => void conn.publish("room", message),
    });
    const servers = await Promise.all(
      [0, 1].map(() =>
        serve({
          port: 0,
          hostname: "127.0.0.1",
          services: { "/": relay },
          logger: silentLogger,
          broker: new RedisBroker({ url: redis.url, prefix: "two:", logger: silentLogger }),
        }),
      ),
    );
    const clients = await Promise.all(
      [0, 0, 1].map(
        (i) =>
          new Promise<{ ws: WebSocket; got: Array<string | Buffer> }>((resolve, reject) => {
            const ws = new WebSocket(`ws://127.0.0.1:${servers[i]!.port}/`);
            const got: Array<string | Buffer> = [];
            ws.on("message", (data, isBinary) => got.push(isBinary ? (data as Buffer) : data.toString()));
            ws.once("open", () => resolve({ ws, got })).once("error", reject);
          }),
      ),
    );
    await until("both servers on the channel", async () => ((await admin.pubsub("NUMSUB", "two:room")) as [string, number])[1] === 2);
    clients[0]!.ws.send("hello");
    clients[2]!.ws.send(Buffer.from([1, 2, 3]));
    servers[1]!.publish("room", "from server 1");
    await until("deliveries", () => clients[0]!.got.length === 2 && clients[1]!.got.length === 3 && clients[2]!.got.length === 2);
    await sleep(100);
    const byKind = (got: Array<string | Buffer>) => got.map((m) => (typeof m === "string" ? `text ${m}` : `binary ${[...m].join(",")}`)).sort();
    expect(byKind(clients[0]!.got)).toEqual(["binary 1,2,3", "text from server 1"]);
    expect(byKind(clients[1]!.got)).toEqual(["binary 1,2,3", "text from server 1", "text hello"]);
    expect(byKind(clients[2]!.got)).toEqual(["text from server 1", "text hello"]); // server.publish: its own clients too
    for (const c of clients) c.ws.close();
    await Promise.all(servers.map((s) => s.close({ timeout: 1000 })));
    await until("the channel to go", async () => ((await admin.pubsub("NUMSUB", "two:room")) as [string, number])[1] === 0);
  });
});
