/**
 * The attacks of issue 11 against the core's bounds, each asserted from the core's own accounting (budget
 * bytes, send buffer, close codes, slot counts), not from timings.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { createUpgradeRequest, HeaderMap, silentLogger, type UpgradeRequest } from "../src/index.ts";
import { ServerCore, zlibCodec, type ZlibModule } from "../src/adapter.ts";
import { negotiateDeflateServer, PerMessageDeflate, ReceiveBudget } from "../src/protocol.ts";
import { cframe, decodeFrames } from "./support/frames.ts";
import { settle } from "./support/memory-stream.ts";
import { recordingLogger, withRawPeer } from "./support/peers.ts";

afterEach(() => void vi.useRealTimers());

/** One big chunk: a text frame without fin and `n - 1` one-byte continuation frames without fin. */
function tinyFragments(n: number): Uint8Array {
  const parts = [cframe({ opcode: 1, fin: false, payload: "a" })];
  const one = cframe({ opcode: 0, fin: false, payload: "a" });
  const out = new Uint8Array(parts[0]!.length + (n - 1) * one.length);
  out.set(parts[0]!, 0);
  for (let i = 1; i < n; i++) out.set(one, parts[0]!.length + (i - 1) * one.length);
  return out;
}

function closeCodes(data: Uint8Array): number[] {
  return decodeFrames(data)
    .filter((f) => f.opcode === 8)
    .map((f) => (f.payload[0]! << 8) | f.payload[1]!);
}

describe("hostile: tiny fragments", () => {
  it("an unfinished message of 131,071 one-byte fragments holds its bytes (≤ 2×), not an object per fragment", async () => {
    const budget = new ReceiveBudget(1 << 20);
    const { conn, peer } = withRawPeer("server", { maxFragments: 200_000, budget });
    const got: string[] = [];
    conn.onText((t) => void got.push(t));
    conn.start();
    peer.send(tinyFragments(131_071));
    await settle();
    expect(conn.readyState).toBe("open");
    expect(budget.used).toBeGreaterThanOrEqual(131_071);
    expect(budget.used).toBeLessThanOrEqual(2 * 131_072);
    peer.send(cframe({ opcode: 0, fin: true, payload: "b" }));
    await settle();
    expect(got.map((t) => t.length)).toEqual([131_072]);
    expect(budget.used).toBe(0);
  });

  it("the default fragment count is bounded (1009 past 4096 frames)", async () => {
    const { conn, peer } = withRawPeer("server");
    conn.start();
    peer.send(tinyFragments(5000));
    await conn.closed;
    expect(closeCodes(peer.bytes())).toEqual([1009]);
  });

  it("all connections together: the one whose message does not fit the budget closes with 1013, and a closed one gives its share back", async () => {
    const budget = new ReceiveBudget(64 * 1024);
    const first = withRawPeer("server", { budget });
    const second = withRawPeer("server", { budget });
    first.conn.start();
    second.conn.start();
    // a 40 KiB frame whose first half has arrived: its whole payload is reserved
    const big = cframe({ opcode: 2, fin: true, payload: new Uint8Array(40 * 1024) });
    first.peer.send(big.subarray(0, 20 * 1024));
    await settle();
    expect(budget.used).toBe(40 * 1024);
    second.peer.send(big.subarray(0, 20 * 1024));
    await second.conn.closed;
    expect(closeCodes(second.peer.bytes())).toEqual([1013]);
    first.conn.drop();
    expect(budget.used).toBe(0);
  });
});

describe("hostile: a peer that sends and never reads", () => {
  it("a server stops reading while its send buffer holds more than half of maxBufferedAmount, and resumes on drain", async () => {
    const { conn, a, peer } = withRawPeer("server", { maxBufferedAmount: 64 * 1024 }, { highWaterMark: 1024 });
    conn.onMessage((m, c) => void c.send(m));
    conn.start();
    a.stall();
    const message = cframe({ opcode: 2, payload: new Uint8Array(4096) });
    for (let i = 0; i < 200; i++) {
      peer.send(message); // 800 KiB of echoes asked for, one read at a time
      await settle();
    }
    expect(a.isPaused).toBe(true);
    expect(conn.readyState).toBe("open");
    expect(conn.bufferedAmount).toBeLessThanOrEqual(64 * 1024);
    a.unstall();
    await settle();
    await settle();
    expect(a.isPaused).toBe(false);
  });

  it("the 'close' policy's 1008 close frame reaches a peer that reads again", async () => {
    const { conn, a, peer } = withRawPeer("server", { maxBufferedAmount: 50, backpressure: "close", closeTimeout: 200 }, { highWaterMark: 16 });
    conn.start();
    a.stall();
    expect(await conn.send(new Uint8Array(40))).toBe(true);
    expect(await conn.send(new Uint8Array(40))).toBe(false);
    a.unstall();
    await settle();
    expect(closeCodes(peer.bytes())).toEqual([1008]);
    const info = await conn.closed;
    expect(info.code).toBe(1008);
  });

  it("automatic pongs wait for room in the send buffer: a ping flood queues one pong, the latest", async () => {
    const { conn, a, peer } = withRawPeer("server", { maxBufferedAmount: 100 }, { highWaterMark: 16 });
    conn.start();
    a.stall();
    for (let i = 0; i < 1000; i++) peer.send(cframe({ opcode: 9, payload: `ping ${i}` }));
    await settle();
    expect(conn.bufferedAmount).toBeLessThanOrEqual(100 + 16);
    a.unstall();
    await settle();
    await settle();
    const pongs = decodeFrames(peer.bytes()).filter((f) => f.opcode === 10);
    expect(pongs.length).toBeLessThan(50);
    expect(new TextDecoder().decode(pongs.at(-1)!.payload)).toBe("ping 999");
  });
});

describe("hostile: a message trickled forever", () => {
  it("a message must be complete within messageTimeout once started (1008), however often a byte arrives", async () => {
    vi.useFakeTimers();
    const { conn, peer } = withRawPeer("server", { messageTimeout: 1000, maxFragments: 1000 });
    conn.start();
    peer.send(cframe({ opcode: 1, fin: false, payload: "a" }));
    for (let i = 0; i < 4; i++) {
      await vi.advanceTimersByTimeAsync(300);
      peer.send(cframe({ opcode: 0, fin: false, payload: "a" }));
    }
    await vi.advanceTimersByTimeAsync(300);
    expect(closeCodes(peer.bytes())).toEqual([1008]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect((await conn.closed).code).toBe(1008);
  });

  it("messages that complete are not cut off, even when no chunk ends between them", async () => {
    vi.useFakeTimers();
    const { conn, peer } = withRawPeer("server", { messageTimeout: 1000 });
    let count = 0;
    conn.onText(() => void count++);
    conn.start();
    const whole = cframe({ opcode: 1, payload: "abcdefgh" });
    // every chunk ends in the middle of a frame; each message completes in the next chunk
    peer.send(whole.subarray(0, 5));
    for (let i = 0; i < 10; i++) {
      await vi.advanceTimersByTimeAsync(400);
      const next = new Uint8Array(whole.length);
      next.set(whole.subarray(5), 0);
      next.set(whole.subarray(0, 5), whole.length - 5);
      peer.send(next);
    }
    await vi.advanceTimersByTimeAsync(400);
    expect(count).toBe(10);
    expect(conn.readyState).toBe("open");
  });
});

function wsRequest(path: string): UpgradeRequest {
  return createUpgradeRequest({
    method: "GET",
    url: path,
    httpVersion: "1.1",
    headers: new HeaderMap({
      Host: "localhost",
      Upgrade: "websocket",
      Connection: "Upgrade",
      "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
      "Sec-WebSocket-Version": "13",
    }),
  });
}

describe("hostile: connection slots", () => {
  it("maxConnections counts upgrades from the decision on, before any is adopted", async () => {
    const core = new ServerCore({ services: { "/": {} }, maxConnections: 2, logger: silentLogger });
    const verdicts = await Promise.all([1, 2, 3, 4].map(() => core.decide(wsRequest("/"))));
    expect(verdicts.map((v) => (v.ok ? 101 : v.status))).toEqual([101, 101, 503, 503]);
    expect(core.pendingUpgrades).toBe(2);
    for (const v of verdicts) if (v.ok) v.slot.release();
    expect(core.pendingUpgrades).toBe(0);
    expect((await core.decide(wsRequest("/"))).ok).toBe(true);
  });

  it("a gate that never settles is refused with 503 after handshakeTimeout and frees its slot", async () => {
    const hang = { upgrade: () => new Promise<never>(() => {}) };
    const core = new ServerCore({ services: { "/hang": hang, "/": {} }, maxConnections: 1, handshakeTimeout: 100, logger: silentLogger });
    const refused = await core.decide(wsRequest("/hang"));
    expect(refused).toMatchObject({ ok: false, status: 503 });
    expect(core.pendingUpgrades).toBe(0);
    expect((await core.decide(wsRequest("/"))).ok).toBe(true);
  });

  it("a server's connections get bounded defaults: 16 MiB send buffer, 120 s heartbeat, 60 s per message", () => {
    const core = new ServerCore({ logger: silentLogger });
    expect(core.settingsFor({})).toMatchObject({ maxBufferedAmount: 16 * 1024 * 1024, idleTimeout: 120_000, messageTimeout: 60_000 });
  });
});



describe("hostile: compressed data that inflates ~1000×", () => {
  // node:zlib, as the adapters hand it in (the core itself imports no runtime module; vitest runs on Node)
  const zlibModule = "node:zlib";
  async function deflating() {
    const codec = zlibCodec((await import(zlibModule)) as ZlibModule);
    const agreement = { sendWindowBits: 15, receiveWindowBits: 15, sendNoContextTakeover: true, receiveNoContextTakeover: true };
    /** one masked, compressed text frame of `size` "0"s, its deflate tail removed (RFC 7692 §7.2.1) */
    const bomb = (size: number) => {
      const z = codec.deflate(new Uint8Array(size).fill(0x30), { windowBits: 15, level: 9, memLevel: 9 });
      return cframe({ opcode: 1, rsv: 4, payload: z.subarray(0, z.length - 4) });
    };
    return { deflate: () => new PerMessageDeflate(agreement, codec), bomb };
  }

  it("reading pauses once a peer makes the connection inflate faster than inflateRate; every message still arrives, in order", async () => {
    vi.useFakeTimers();
    const { deflate, bomb } = await deflating();
    const { logger, lines } = recordingLogger();
    const { conn, a, peer } = withRawPeer("server", { deflate: deflate(), inflateRate: 1024 * 1024, logger });
    const got: number[] = [];
    conn.onText((t) => void got.push(t.length));
    conn.start();
    const message = bomb(256 * 1024);
    expect(message.length).toBeLessThan(1024); // ~260× smaller on the wire than inflated
    for (let i = 0; i < 8; i++) {
      peer.send(message); // 2 MiB inflated, each message arriving as its own read
      await settle();
    }
    // the first second's worth (1 MiB = 4 messages) goes at once, the fifth puts the account in debt: paused
    expect(got.length).toBe(5);
    expect(a.isPaused).toBe(true);
    expect(lines.filter(([level, m]) => level === "warn" && /inflateRate/.test(m))).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(200);
    expect(got.length).toBe(5); // the debt of 256 KiB takes 250 ms to pay back
    await vi.advanceTimersByTimeAsync(1000);
    expect(got.length).toBe(8);
    expect(got.every((n) => n === 256 * 1024)).toBe(true);
    await vi.advanceTimersByTimeAsync(500);
    expect(a.isPaused).toBe(false);
    expect(conn.readyState).toBe("open");
    expect(lines.filter(([level]) => level === "warn")).toHaveLength(1); // one log line per connection, not per pause
  });

  it("a server's connections get the default inflate rate (32 MiB/s); Infinity turns it off", async () => {
    const core = new ServerCore({ logger: silentLogger });
    expect(core.settingsFor({})).toMatchObject({ inflateRate: 32 * 1024 * 1024 });
    expect(new ServerCore({ logger: silentLogger, inflateRate: Infinity }).settingsFor({}).inflateRate).toBe(Infinity);
    const { deflate, bomb } = await deflating();
    const { conn, a, peer } = withRawPeer("server", { deflate: deflate(), inflateRate: Infinity });
    let n = 0;
    conn.onText(() => void n++);
    conn.start();
    for (let i = 0; i < 8; i++) peer.send(bomb(256 * 1024));
    await settle();
    expect(n).toBe(8);
    expect(a.isPaused).toBe(false);
  });

  it("an offer of server_max_window_bits=8 is declined (zlib cannot compress with it; replies would go out uncompressed)", () => {
    expect(negotiateDeflateServer([{ name: "permessage-deflate", params: { server_max_window_bits: "8" } }])).toBeNull();
    // the next acceptable offer is taken
    const r = negotiateDeflateServer([
      { name: "permessage-deflate", params: { server_max_window_bits: "8" } },
      { name: "permessage-deflate", params: { server_max_window_bits: "9" } },
    ]);
    expect(r?.agreement.sendWindowBits).toBe(9);
  });
});
