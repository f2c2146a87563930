/**
 * The write batches of one turn go to their streams in ONE microtask for every connection (send-queue.ts): a
 * broadcast to N subscribers queues one microtask, not N, and still makes one write per subscriber for all the
 * messages of a read; an echo of the messages of a read is one write. Counts microtasks and writes, never times.
 */
import { describe, expect, it } from "vitest";
import { createUpgradeRequest, defineService, HeaderMap, silentLogger, type Connection } from "../src/index.ts";
import { ServerCore, type ByteStream, type ByteStreamEvents } from "../src/adapter.ts";

class CountingStream implements ByteStream {
  events: ByteStreamEvents | null = null;
  writes: Uint8Array[] = [];
  /** the buffers given to write, as given */
  given: Uint8Array[] = [];
  bufferedAmount = 0;
  start(events: ByteStreamEvents): void {
    this.events = events;
  }
  write(chunk: Uint8Array): boolean {
    this.writes.push(chunk.slice());
    this.given.push(chunk);
    return true;
  }
  end(): void {}
  destroy(): void {}
}

/** A masked client text frame. */
function textFrame(text: string, key = [0x11, 0x22, 0x33, 0x44]): Uint8Array {
  const payload = new TextEncoder().encode(text);
  const out = new Uint8Array(6 + payload.length);
  out[0] = 0x81;
  out[1] = 0x80 | payload.length;
  out.set(key, 2);
  for (let i = 0; i < payload.length; i++) out[6 + i] = payload[i]! ^ key[i & 3]!;
  return out;
}
const join = (frames: Uint8Array[]) => {
  const out = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let o = 0;
  for (const f of frames) out.set(f, o), (o += f.length);
  return out;
};

async function open(core: ServerCore, path: string): Promise<CountingStream> {
  const request = createUpgradeRequest({
    method: "GET",
    url: path,
    httpVersion: "1.1",
    headers: new HeaderMap({ host: "x", upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" }),
  });
  const outcome = await core.negotiate(request, core.route(request));
  if (!outcome.ok) throw new Error("refused");
  const stream = new CountingStream();
  outcome.accept(stream, undefined);
  await new Promise<void>((r) => setTimeout(r, 0));
  stream.writes = []; // the 101
  stream.given = [];
  return stream;
}

/** Runs `fn`, counting the microtasks queued meanwhile (queueMicrotask). */
function countingMicrotasks(fn: () => void): number {
  const original = globalThis.queueMicrotask;
  let n = 0;
  globalThis.queueMicrotask = (task) => {
    n++;
    original(task);
  };
  try {
    fn();
  } finally {
    globalThis.queueMicrotask = original;
  }
  return n;
}

const tick = () => new Promise<void>((r) => setTimeout(r, 0));

describe("write batches of one turn", () => {
  it("an echo of 8 messages in one read is one write", async () => {
    const core = new ServerCore({ logger: silentLogger, services: { "/": defineService({ received: (m, conn) => void conn.send(m) }) } });
    const stream = await open(core, "/");
    const texts = Array.from({ length: 8 }, (_, i) => `message ${i}`);
    stream.events!.data(join(texts.map((t) => textFrame(t))));
    await tick();
    expect(stream.writes.length).toBe(1);
    // the 8 replies, in order, unmasked
    const out = stream.writes[0]!;
    const got: string[] = [];
    for (let p = 0; p < out.length; ) {
      const n = out[p + 1]! & 0x7f;
      got.push(new TextDecoder().decode(out.subarray(p + 2, p + 2 + n)));
      p += 2 + n;
    }
    expect(got).toEqual(texts);
    await core.close({ timeout: 10 });
  });

  it("a broadcast of 4 messages in one read to 20 subscribers queues one microtask and makes one write per subscriber", async () => {
    const core = new ServerCore({
      logger: silentLogger,
      services: { "/t": defineService({ connected: (conn: Connection) => conn.subscribe("t"), received: (m, conn) => void conn.publish("t", m) }) },
    });
    const sender = await open(core, "/t");
    const receivers: CountingStream[] = [];
    for (let i = 0; i < 20; i++) receivers.push(await open(core, "/t"));
    const microtasks = countingMicrotasks(() => sender.events!.data(join(["a", "b", "c", "d"].map((t) => textFrame(t)))));
    expect(microtasks).toBe(1);
    await tick();
    expect(receivers.map((r) => r.writes.length)).toEqual(receivers.map(() => 1));
    expect(sender.writes.length).toBe(0);
    for (const r of receivers) expect(Array.from(r.writes[0]!)).toEqual([0x81, 1, 97, 0x81, 1, 98, 0x81, 1, 99, 0x81, 1, 100]);
    // the four frames were copied together once, and that one buffer written to every subscriber
    for (const r of receivers) expect(r.given[0]).toBe(receivers[0]!.given[0]);
    await core.close({ timeout: 10 });
  });

  it("a subscriber whose batch holds more than the broadcast gets a copy of its own, with its own frames in order", async () => {
    const core = new ServerCore({ logger: silentLogger, services: { "/t": defineService({ connected: (conn: Connection) => conn.subscribe("t") }) } });
    const receivers: CountingStream[] = [];
    for (let i = 0; i < 3; i++) receivers.push(await open(core, "/t"));
    const conns = [...core.connections];
    core.publish("t", "a");
    void conns[1]!.send("own");
    core.publish("t", "b");
    await tick();
    expect(receivers[0]!.given[0]).toBe(receivers[2]!.given[0]);
    expect(receivers[1]!.given[0]).not.toBe(receivers[0]!.given[0]);
    expect(Array.from(receivers[0]!.writes[0]!)).toEqual([0x81, 1, 97, 0x81, 1, 98]);
    expect(Array.from(receivers[1]!.writes[0]!)).toEqual([0x81, 1, 97, 0x81, 3, 111, 119, 110, 0x81, 1, 98]);
    await core.close({ timeout: 10 });
  });

  it("server.publish from outside a read (a timer) queues one microtask for all the subscribers", async () => {
    const core = new ServerCore({ logger: silentLogger, services: { "/t": defineService({ connected: (conn: Connection) => conn.subscribe("t") }) } });
    const receivers: CountingStream[] = [];
    for (let i = 0; i < 10; i++) receivers.push(await open(core, "/t"));
    const microtasks = countingMicrotasks(() => {
      core.publish("t", "one");
      core.publish("t", "two");
    });
    expect(microtasks).toBe(1);
    await tick();
    expect(receivers.map((r) => r.writes.length)).toEqual(receivers.map(() => 1));
    await core.close({ timeout: 10 });
  });

  it("a connection dropped with its batch waiting: the others' batches still go out, and its own send resolves", async () => {
    const core = new ServerCore({ logger: silentLogger, services: { "/t": defineService({ connected: (conn: Connection) => conn.subscribe("t") }) } });
    const receivers: CountingStream[] = [];
    for (let i = 0; i < 3; i++) receivers.push(await open(core, "/t"));
    const conns = [...core.connections];
    core.publish("t", "x");
    const sent = conns[1]!.send("y");
    conns[1]!.drop(1001, "bye");
    await tick();
    expect(await sent).toBe(true);
    expect(receivers[0]!.writes.length).toBe(1);
    expect(receivers[2]!.writes.length).toBe(1);
    await core.close({ timeout: 10 });
  });
});
