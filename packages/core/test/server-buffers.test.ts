/**
 * Issue 21 #3: what a server's connections hold for their peers has one server-wide bound
 * (`maxServerBufferedAmount`: send buffers and read queues together; beyond it the connection holding the
 * most is dropped with 1008), and a broadcast is one frame buffer for all its receivers however many frames
 * go out in a turn. Asserted from the server's own accounting (`bufferedBytes`, the close codes, the streams'
 * written chunks, the log), over memory streams.
 */
import { QUEUED_MESSAGE_OVERHEAD } from "../src/protocol/limits.ts";
import { describe, expect, it } from "vitest";
import { defineService, InvalidOptionError, silentLogger, type Connection } from "../src/index.ts";
import { ServerCore, SHARED_FRAME_MIN } from "../src/adapter.ts";
import { cframe, decodeFrames, utf8 } from "./support/frames.ts";
import { memoryPair, settle } from "./support/memory-stream.ts";
import { RawPeer, recordingLogger } from "./support/peers.ts";
import { serveStream } from "./support/serve-stream.ts";

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

/** A client of `core` at `path` over a memory stream; `stalled`: it never reads (the server's writes pile up). */
async function client(core: ServerCore, path: string, stalled = false, highWaterMark = 4096) {
  const [a, b] = memoryPair({ serverOptions: { highWaterMark } });
  const peer = new RawPeer(b);
  const served = serveStream(core, a, stalled);
  b.write(utf8(`GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`));
  const conn = (await served) as Connection;
  const closes: number[] = [];
  void conn.closed.then((info) => closes.push(info.code));
  return { a, b, peer, conn, closes };
}

type Client = Awaited<ReturnType<typeof client>>;

/** A service whose connections subscribe to "t". */
const subscribers = defineService({ connected: (conn) => conn.subscribe("t") });

describe("a broadcast shares one frame buffer", () => {
  it("frames published to N receivers in one turn are written to every stream as the same buffers, not copied per receiver", async () => {
    const core = new ServerCore({ logger: silentLogger, services: { "/t": subscribers } });
    const clients: Client[] = [];
    for (let i = 0; i < 5; i++) clients.push(await client(core, "/t"));
    await settle();
    const before = clients.map((c) => c.a.writes.length);
    const size = 4 * SHARED_FRAME_MIN;
    // three messages in one event-loop turn: each receiver's write batch holds three frames
    for (let m = 0; m < 3; m++) core.publish("t", new Uint8Array(size).fill(m));
    await settle();
    const framesOf = (i: number) => clients[i]!.a.writes.slice(before[i]).filter((w) => w.length >= size);
    for (let i = 0; i < clients.length; i++) {
      expect(framesOf(i).length).toBe(3);
      // the same objects for every receiver: one buffer per message in memory, whatever the number of receivers
      for (let m = 0; m < 3; m++) expect(framesOf(i)[m]).toBe(framesOf(0)[m]);
      const got = decodeFrames(clients[i]!.peer.bytes().subarray(clients[i]!.peer.bytes().indexOf(0x82)));
      expect(got.map((f) => [f.opcode, f.payload.length, f.payload[0]])).toEqual([0, 1, 2].map((m) => [2, size, m]));
    }
    await core.close({ timeout: 100 });
  });

  it("small frames of the same turn are still written together with one call", async () => {
    const core = new ServerCore({ logger: silentLogger, services: { "/t": subscribers } });
    const c = await client(core, "/t");
    await settle();
    const calls = c.a.writeCalls;
    for (let m = 0; m < 10; m++) core.publish("t", `tick ${m}`);
    await settle();
    expect(c.a.writeCalls).toBe(calls + 1);
    expect(decodeFrames(c.peer.bytes().subarray(c.peer.bytes().indexOf(0x81))).map((f) => f.opcode)).toEqual(Array(10).fill(1));
    await core.close({ timeout: 100 });
  });
});

describe("maxServerBufferedAmount: one bound on what all connections hold for their peers", () => {
  it("subscribers that never read: the total stays within the bound, the one holding the most is dropped with 1008 (one log line each), readers get everything", async () => {
    const limit = 64 * 1024;
    const { lines, logger } = recordingLogger();
    const core = new ServerCore({ logger, services: { "/t": subscribers }, maxServerBufferedAmount: limit });
    const stalled: Client[] = [];
    const readers: Client[] = [];
    for (let i = 0; i < 3; i++) stalled.push(await client(core, "/t", true));
    for (let i = 0; i < 2; i++) readers.push(await client(core, "/t"));
    await settle();
    const message = new Uint8Array(4 * 1024);
    for (let m = 0; m < 30; m++) {
      core.publish("t", message);
      await settle();
      // the server's own count, and what the open connections' send buffers actually hold, within the bound
      expect(core.bufferedBytes).toBeLessThanOrEqual(limit);
      const held = [...core.connections].reduce((n, c) => n + c.bufferedAmount, 0);
      expect(held).toBeLessThanOrEqual(limit);
    }
    expect(stalled.map((c) => c.closes)).toEqual([[1008], [1008], [1008]]);
    expect(readers.map((c) => c.conn.readyState)).toEqual(["open", "open"]);
    for (const r of readers) expect(decodeFrames(r.peer.bytes().subarray(r.peer.bytes().indexOf(0x82))).length).toBe(30);
    expect(core.buffers.dropped).toBe(3);
    const policyLines = lines.filter(([, m]) => m.includes("maxServerBufferedAmount"));
    expect(policyLines.length).toBe(3);
    expect(policyLines[0]![0]).toBe("warn");
    await core.close({ timeout: 100 });
    expect(core.bufferedBytes).toBe(0);
  });

  it("unread messages count too: the read queue's bytes are in the total, given back when read, and over the bound the connection is dropped with 1008", async () => {
    const limit = 64 * 1024;
    // no `received`: messages wait for read()
    const core = new ServerCore({ logger: silentLogger, services: { "/q": defineService({}) }, maxServerBufferedAmount: limit });
    const c = await client(core, "/q");
    const eight = cframe({ opcode: 2, payload: new Uint8Array(8 * 1024) });
    // each queued message counts its payload plus the queue's per-message charge
    const queued = 8 * 1024 + QUEUED_MESSAGE_OVERHEAD;
    for (let i = 0; i < 4; i++) c.peer.send(eight);
    await settle();
    expect(core.bufferedBytes).toBe(4 * queued);
    await c.conn.read();
    await c.conn.read();
    expect(core.bufferedBytes).toBe(2 * queued);
    for (let i = 0; i < 8; i++) c.peer.send(eight);
    await settle();
    expect(c.closes).toEqual([1008]);
    expect(core.bufferedBytes).toBe(0);
    await core.close({ timeout: 100 });
  });

  it("defaults to 256 MiB; is checked where it is given; Infinity turns it off", () => {
    expect(new ServerCore({ logger: silentLogger }).buffers.limit).toBe(256 * 1024 * 1024);
    expect(() => new ServerCore({ maxServerBufferedAmount: -1 })).toThrow(InvalidOptionError);
    expect(() => new ServerCore({ maxServerBufferedAmount: "1mb" as unknown as number })).toThrow(/maxServerBufferedAmount/);
    expect(new ServerCore({ logger: silentLogger, maxServerBufferedAmount: Infinity }).buffers.limit).toBe(Infinity);
  });
});
