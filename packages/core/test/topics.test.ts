/**
 * Topics and the broker seam: TopicRegistry's bookkeeping (the broker subscribes a topic only while a local
 * subscriber exists, no echo of remote messages back to the broker, text and binary kept apart), the publish
 * backpressure policy ("skip" counts, "close" drops with 1008), TopicHub's one frame for all (compressed once
 * per context without context takeover), RuntimeHub with and without a runtime's native publish.
 */
import { resolveSettings } from "../src/settings/resolve.ts";
import { beforeAll, describe, expect, it } from "vitest";
import { Connection, createUpgradeRequest, silentLogger, HeaderMap, type Message, type SendData, type TopicBroker } from "../src/index.ts";
import { RuntimeHub, RuntimeSocketTransport, ServerCore, TopicHub, TopicRegistry, zlibCodec, type RuntimeSocket, type TopicSubscriber, type ZlibModule } from "../src/adapter.ts";
import { PerMessageDeflate, type DeflateAgreement } from "../src/protocol.ts";
import { decodeFrames, utf8 } from "./support/frames.ts";
import { settle } from "./support/memory-stream.ts";
import { connectionPair } from "./support/peers.ts";

/** A broker that records what the hub asks of it and can play a message from another process. */
class FakeBroker implements TopicBroker {
  readonly calls: string[] = [];
  readonly published: Array<[string, Message]> = [];
  closed = 0;
  private deliver: ((topic: string, message: Message) => void) | null = null;
  attach(deliver: (topic: string, message: Message) => void): void {
    this.calls.push("attach");
    this.deliver = deliver;
  }
  subscribe(topic: string): void {
    this.calls.push(`subscribe ${topic}`);
  }
  unsubscribe(topic: string): void {
    this.calls.push(`unsubscribe ${topic}`);
  }
  publish(topic: string, message: Message): void {
    this.published.push([topic, message]);
  }
  async close(): Promise<void> {
    this.closed++;
  }
  /** a message from another process */
  remote(topic: string, message: Message): void {
    this.deliver!(topic, message);
  }
}

class FakeSubscriber implements TopicSubscriber {
  readonly topicSet = new Set<string>();
  bufferedAmount = 0;
  readonly got: Message[] = [];
  dropped: Array<[number | undefined, string | undefined]> = [];
  readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
  drop(code?: number, reason?: string): void {
    this.dropped.push([code, reason]);
  }
}

/** TopicRegistry with a recording delivery. */
class RecordingRegistry extends TopicRegistry<FakeSubscriber> {
  protected fanOut(topic: string, message: Message, except: FakeSubscriber | undefined): number {
    let n = 0;
    for (const s of this.topics.get(topic) ?? []) {
      if (s === except || !this.admit(s, typeof message === "string" ? message.length : message.byteLength)) continue;
      s.got.push(message);
      n++;
    }
    return n;
  }
}

describe("TopicRegistry and the broker", () => {
  it("subscribes the broker to a topic only while a local subscriber exists", () => {
    const broker = new FakeBroker();
    const hub = new RecordingRegistry({ broker, logger: silentLogger });
    const [a, b] = [new FakeSubscriber("a"), new FakeSubscriber("b")];
    hub.subscribe(a, "room");
    hub.subscribe(b, "room");
    hub.subscribe(a, "room"); // again: nothing new
    hub.subscribe(b, "other");
    expect(broker.calls).toEqual(["attach", "subscribe room", "subscribe other"]);
    hub.unsubscribe(a, "room");
    expect(broker.calls.at(-1)).toBe("subscribe other"); // b is still in the room
    hub.unsubscribe(a, "room"); // not subscribed: nothing
    hub.removeConnection(b); // closed: leaves both topics
    expect(broker.calls.slice(3).sort()).toEqual(["unsubscribe other", "unsubscribe room"]);
    expect(hub.topicNames).toEqual([]);
    expect(b.topicSet.size).toBe(0);
  });

  it("publish: local subscribers but the sender, and the broker once; remote messages go to every local subscriber and never back to the broker", () => {
    const broker = new FakeBroker();
    const hub = new RecordingRegistry({ broker, logger: silentLogger });
    const [a, b, c] = [new FakeSubscriber("a"), new FakeSubscriber("b"), new FakeSubscriber("c")];
    for (const s of [a, b, c]) hub.subscribe(s, "room");
    expect(hub.publish("room", "hi", a)).toBe(2);
    expect([a.got, b.got, c.got]).toEqual([[], ["hi"], ["hi"]]);
    expect(broker.published).toEqual([["room", "hi"]]);
    // a topic nobody here subscribes to still goes to the other processes
    expect(hub.publish("elsewhere", "x")).toBe(0);
    expect(broker.published.at(-1)).toEqual(["elsewhere", "x"]);

    broker.remote("room", "from afar");
    expect([a.got.at(-1), b.got.at(-1), c.got.at(-1)]).toEqual(["from afar", "from afar", "from afar"]);
    expect(broker.published.length).toBe(2); // not echoed back out
  });

  it("text and binary stay distinct on the way to the broker (bytes of any view become a Uint8Array)", () => {
    const broker = new FakeBroker();
    const hub = new RecordingRegistry({ broker, logger: silentLogger });
    hub.publish("t", "text");
    hub.publish("t", utf8("text"));
    hub.publish("t", Uint8Array.of(1, 2).buffer);
    hub.publish("t", new Uint16Array([0x0303]));
    const [s, bin, ab, view] = broker.published.map(([, m]) => m);
    expect(s).toBe("text");
    expect(bin).toBeInstanceOf(Uint8Array);
    expect([...(bin as Uint8Array)]).toEqual([...utf8("text")]);
    expect([...(ab as Uint8Array)]).toEqual([1, 2]);
    expect([...(view as Uint8Array)]).toEqual([3, 3]);
  });

  it('"skip": a subscriber over the publish limit is left out and counted, the others get everything', () => {
    const hub = new RecordingRegistry({ settings: resolveSettings("server", [{ publishBackpressure: "skip", maxPublishBufferedAmount: 100 }]), logger: silentLogger });
    const [fast, slow] = [new FakeSubscriber("fast"), new FakeSubscriber("slow")];
    hub.subscribe(fast, "room");
    hub.subscribe(slow, "room");
    slow.bufferedAmount = 95;
    expect(hub.publish("room", "12345")).toBe(2); // 95 + 5 fits
    expect(hub.publish("room", "123456")).toBe(1); // 95 + 6 does not
    slow.bufferedAmount = 0;
    expect(hub.publish("room", "x".repeat(500))).toBe(2); // an empty buffer always takes one message
    expect(fast.got.length).toBe(3);
    expect(slow.got.length).toBe(2);
    expect([hub.skipped(), hub.skipped(slow), hub.skipped(fast)]).toEqual([1, 1, 0]);
    expect(slow.dropped).toEqual([]);
  });

  it('"close": a subscriber over the publish limit is dropped with 1008; no policy: nobody is skipped', () => {
    const hub = new RecordingRegistry({ settings: resolveSettings("server", [{ publishBackpressure: "close", maxPublishBufferedAmount: 10 }]), logger: silentLogger });
    const slow = new FakeSubscriber("slow");
    hub.subscribe(slow, "room");
    slow.bufferedAmount = 11;
    expect(hub.publish("room", "x")).toBe(0);
    expect(slow.dropped).toEqual([[1008, "send buffer limit exceeded"]]);
    expect(hub.skipped()).toBe(0);

    const plain = new RecordingRegistry({ logger: silentLogger });
    const s = new FakeSubscriber("s");
    plain.subscribe(s, "room");
    s.bufferedAmount = 1e9;
    expect(plain.publish("room", "x")).toBe(1);
  });

  it("close(): the broker is closed once and hears nothing more", async () => {
    const broker = new FakeBroker();
    const hub = new RecordingRegistry({ broker, logger: silentLogger });
    const a = new FakeSubscriber("a");
    hub.subscribe(a, "room");
    await hub.close();
    await hub.close();
    expect(broker.closed).toBe(1);
    hub.publish("room", "late");
    hub.removeConnection(a);
    broker.remote("room", "late remote");
    expect(broker.published).toEqual([]);
    expect(broker.calls).toEqual(["attach", "subscribe room"]);
    expect(a.got).toEqual(["late"]); // local delivery still works for what is left
  });

  it("a broker delivery that throws is logged, not thrown into the broker", () => {
    const broker = new FakeBroker();
    const errors: string[] = [];
    const logger = { ...silentLogger, error: (_: unknown, m: string) => void errors.push(m) };
    class Throwing extends TopicRegistry<FakeSubscriber> {
      protected fanOut(): number {
        throw new Error("boom");
      }
    }
    const hub = new Throwing({ broker, logger });
    expect(() => broker.remote("room", "x")).not.toThrow();
    expect(errors[0]).toMatch(/boom/);
    void hub;
  });
});

describe("TopicHub over core's Connection", () => {
  // node:zlib, as the adapters hand it in (the core itself imports no runtime module; vitest runs on Node)
  const zlibModule = "node:zlib";
  let codec: ReturnType<typeof zlibCodec>;
  beforeAll(async () => {
    codec = zlibCodec((await import(zlibModule)) as ZlibModule);
  });
  const agreement = (noContextTakeover: boolean): DeflateAgreement => ({
    sendWindowBits: 15,
    receiveWindowBits: 15,
    sendNoContextTakeover: noContextTakeover,
    receiveNoContextTakeover: noContextTakeover,
  });
  /** A server connection with `deflate` (a client that inflates) subscribed to "room". */
  function subscriber(hub: TopicHub, deflate?: "shared" | "takeover") {
    const serverDeflate = deflate ? new PerMessageDeflate(agreement(deflate === "shared"), codec, { threshold: 16 }) : undefined;
    const clientDeflate = deflate ? new PerMessageDeflate(agreement(deflate === "shared"), codec) : undefined;
    const pair = connectionPair({ hub, deflate: serverDeflate }, { deflate: clientDeflate });
    pair.server.start();
    pair.client.start();
    if (serverDeflate) hub.setDeflate(pair.server, serverDeflate);
    pair.server.subscribe("room");
    return pair;
  }

  it("messages from the broker reach the clients as text or binary, as they were published", async () => {
    const broker = new FakeBroker();
    const hub = new TopicHub({ broker, logger: silentLogger });
    const { client } = subscriber(hub);
    broker.remote("room", "text");
    broker.remote("room", utf8("text"));
    expect(await client.read()).toBe("text");
    expect(await client.read()).toEqual(utf8("text"));
  });

  it("permessage-deflate, \"shared\" (default): one compressed frame for every subscriber without context takeover, uncompressed for those with", async () => {
    const hub = new TopicHub({ logger: silentLogger });
    const shared = [subscriber(hub, "shared"), subscriber(hub, "shared")];
    const own = subscriber(hub, "takeover");
    const plain = subscriber(hub);
    const text = "a message long enough to be compressed, a message long enough to be compressed";
    expect(hub.publish("room", text)).toBe(4);
    await settle();
    const [s1, s2, o, p] = [...shared, own, plain].map((x) => x.a.writes.at(-1)!);
    expect(s1).toBe(s2);
    expect(decodeFrames(s1!)[0]).toMatchObject({ rsv: 4 });
    expect(o).toBe(p); // the same uncompressed frame
    expect(decodeFrames(o!)[0]).toMatchObject({ rsv: 0 });
    for (const x of [...shared, own, plain]) expect(await x.client.read()).toBe(text);
  });

  it("permessage-deflate, \"per-connection\": each subscriber with context takeover compressed with its own window", async () => {
    const hub = new TopicHub({ logger: silentLogger, settings: resolveSettings("server", [{ publishCompression: "per-connection" }]) });
    const shared = [subscriber(hub, "shared"), subscriber(hub, "shared")];
    const own = [subscriber(hub, "takeover"), subscriber(hub, "takeover")];
    const plain = subscriber(hub);
    const all = [...shared, ...own, plain];
    const text = "a message long enough to be compressed, a message long enough to be compressed";
    for (let round = 0; round < 2; round++) {
      const before = all.map((p) => p.a.writes.length);
      expect(hub.publish("room", text)).toBe(5);
      await settle();
      const frames = all.map((p, i) => p.a.writes[before[i]!]!);
      expect(frames[0]).toBe(frames[1]); // the same compressed bytes object to both
      expect(decodeFrames(frames[0]!)[0]).toMatchObject({ rsv: 4, opcode: 1 });
      expect(frames[2]).not.toBe(frames[3]);
      expect(decodeFrames(frames[2]!)[0]).toMatchObject({ rsv: 4 });
      expect(decodeFrames(frames[4]!)[0]).toMatchObject({ rsv: 0 });
      for (const p of all) expect(await p.client.read()).toBe(text);
    }
    // context takeover: the second message refers back to the first, so it is smaller than the first
    const sizes = own[0]!.a.writes.slice(-2).map((w) => w.length);
    expect(sizes[1]!).toBeLessThan(sizes[0]!);
  });

  it('"skip" with a real send buffer: a stalled subscriber misses messages, the other gets all; skippedMessages counts', async () => {
    const core = new ServerCore({ logger: silentLogger, publishBackpressure: "skip", maxPublishBufferedAmount: 64 * 1024 });
    const fast = subscriber(core.hub);
    const slow = subscriber(core.hub);
    slow.a.stall(); // its peer reads nothing: the buffer fills
    const chunk = new Uint8Array(16 * 1024);
    let sent = 0;
    for (let i = 0; i < 20; i++) {
      sent += core.publish("room", chunk);
      await settle();
    }
    expect(core.skippedMessages()).toBeGreaterThan(0);
    expect(core.skippedMessages(slow.server)).toBe(core.skippedMessages());
    expect(sent).toBe(40 - core.skippedMessages());
    let received = 0;
    for (let i = 0; i < 20; i++) if (await fast.client.read({ timeout: 1000 })) received++;
    expect(received).toBe(20);
  });

  it("ServerCore: the broker from the options; close() closes it", async () => {
    const broker = new FakeBroker();
    const core = new ServerCore({ logger: silentLogger, broker });
    expect(core.publish("room", "x")).toBe(0);
    expect(broker.published).toEqual([["room", "x"]]);
    await core.close({ timeout: 10 });
    expect(broker.closed).toBe(1);
  });

  it("Connection.publish goes through the hub to the broker; subscribe without a hub still throws", () => {
    const broker = new FakeBroker();
    const hub = new TopicHub({ broker, logger: silentLogger });
    const { server } = subscriber(hub);
    expect(broker.calls).toEqual(["attach", "subscribe room"]);
    expect(server.publish("room", "mine")).toBe(0);
    expect(broker.published).toEqual([["room", "mine"]]);
    const lone = connectionPair().server;
    expect(() => lone.subscribe("x")).toThrow();
    expect(lone).toBeInstanceOf(Connection);
  });
});

describe("RuntimeHub", () => {
  function mapped(hub: RuntimeHub) {
    const sent: SendData[] = [];
    const socket = {
      engineName: "test",
      buffered: 0,
      sendText: (t: string) => (sent.push(t), true),
      sendBinary: (b: Uint8Array) => (sent.push(b), true),
      close: () => {},
      terminate: () => {},
      get bufferedAmount() {
        return this.buffered;
      },
      hasDrainEvent: true,
    } satisfies RuntimeSocket & { buffered: number };
    const transport = new RuntimeSocketTransport(socket, { maxMessageSize: 1 << 20, keepaliveNative: false, logger: silentLogger, label: "t" });
    const conn = new Connection(transport, {
      role: "server",
      request: createUpgradeRequest({ method: "GET", url: "/", httpVersion: "1.1", headers: new HeaderMap() }),
      closeTimeout: 1000,
      logger: silentLogger,
      hub,
    });
    conn.start();
    conn.subscribe("room");
    return { conn, sent, socket };
  }

  it("hands delivery to the runtime's native publish (sender or server-wide), counts from its own bookkeeping; the broker's messages go server-wide", () => {
    const broker = new FakeBroker();
    const hub = new RuntimeHub({ broker, logger: silentLogger });
    const native: Array<[string, Message, boolean]> = [];
    hub.native = (topic, message, except) => void native.push([topic, message, except !== undefined]);
    const [a, b] = [mapped(hub), mapped(hub)];
    expect(a.conn.publish("room", "hi")).toBe(1);
    expect(hub.publish("room", "all")).toBe(2);
    broker.remote("room", utf8("bin"));
    expect(native).toEqual([
      ["room", "hi", true],
      ["room", "all", false],
      ["room", utf8("bin"), false],
    ]);
    expect(broker.published.map(([, m]) => m)).toEqual(["hi", "all"]);
    b.conn.drop();
    expect(hub.subscriberCount("room")).toBe(1);
    expect(a.conn.publish("room", "alone")).toBe(0);
    expect(native.length).toBe(3); // nobody else: the runtime is not asked
    expect(broker.calls).toEqual(["attach", "subscribe room"]);
    a.conn.drop();
    expect(broker.calls.at(-1)).toBe("unsubscribe room");
  });

  it("with a publish policy, sends to each subscriber itself (skipping the slow one)", () => {
    const hub = new RuntimeHub({ settings: resolveSettings("server", [{ publishBackpressure: "skip", maxPublishBufferedAmount: 10 }]), logger: silentLogger });
    hub.native = () => {
      throw new Error("native publish cannot apply the policy");
    };
    const [a, b, slow] = [mapped(hub), mapped(hub), mapped(hub)];
    slow.socket.buffered = 50;
    expect(a.conn.publish("room", "hi")).toBe(1);
    expect([a.sent, b.sent, slow.sent]).toEqual([[], ["hi"], []]);
    expect(hub.skipped(slow.conn)).toBe(1);
  });
});
