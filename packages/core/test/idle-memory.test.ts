/**
 * What an idle core-engine connection keeps alive (issue 16): its byte stream gets one events object whose
 * methods live on a shared prototype (no closures per connection), and they still reach that transport; the
 * keepalive of all connections with the same interval runs on one timer (heartbeat.ts).
 */
import { describe, expect, it, vi } from "vitest";
import { silentLogger } from "../src/index.ts";
import { ProtocolTransport, type ByteStream, type ByteStreamEvents } from "../src/adapter.ts";
import { NO_TRANSPORT_EVENTS, type TransportEvents } from "../src/session/transport.ts";
import { HeartbeatQueue } from "../src/session/heartbeat.ts";
import { DEFAULT_SETTINGS } from "../src/settings/resolve.ts";
import { cframe } from "./support/frames.ts";
import { withRawPeer } from "./support/peers.ts";

function fakeStream(): { stream: ByteStream; events: () => ByteStreamEvents } {
  let events: ByteStreamEvents | null = null;
  const stream: ByteStream = {
    start: (e) => void (events = e),
    write: () => true,
    end: () => {},
    destroy: () => {},
    bufferedAmount: 0,
  };
  return { stream, events: () => events! };
}

describe("ProtocolTransport's byte-stream events", () => {
  it("are one object per connection with no function of its own", () => {
    const a = fakeStream();
    const b = fakeStream();
    new ProtocolTransport(a.stream, { role: "server", settings: DEFAULT_SETTINGS, logger: silentLogger, label: "a" }).attach(NO_TRANSPORT_EVENTS, false);
    new ProtocolTransport(b.stream, { role: "server", settings: DEFAULT_SETTINGS, logger: silentLogger, label: "b" }).attach(NO_TRANSPORT_EVENTS, false);
    const ea = a.events();
    const eb = b.events();
    expect(ea).not.toBe(eb);
    for (const name of ["data", "drain", "end", "close"] as const) {
      expect(Object.hasOwn(ea, name)).toBe(false);
      expect(ea[name]).toBe(eb[name]);
    }
  });

  it("deliver the stream's close to their own transport", () => {
    const a = fakeStream();
    const closed: string[] = [];
    const events: TransportEvents = { ...NO_TRANSPORT_EVENTS, closed: (info) => void closed.push(`${info.code}:${info.reason}`) };
    new ProtocolTransport(a.stream, { role: "server", settings: DEFAULT_SETTINGS, logger: silentLogger, label: "a" }).attach(events, false);
    a.events().close(new Error("reset"));
    expect(closed).toEqual(["1006:connection lost"]);
  });
});

describe("the keepalive of many connections: one heartbeat queue, one timer", () => {
  it("pings each connection exactly half a timeout after it opened and drops it (1006) after the other half, on one timer", async () => {
    vi.useFakeTimers();
    try {
      const heartbeat = new HeartbeatQueue(5000); // idleTimeout 10 s
      const conns: Array<ReturnType<typeof withRawPeer>> = [];
      for (let i = 0; i < 50; i++) {
        const c = withRawPeer("server", { idleTimeout: 10_000, heartbeat });
        c.conn.start();
        conns.push(c);
        await vi.advanceTimersByTimeAsync(10); // opened 10 ms apart
      }
      // one timer for all of them, not one per connection
      expect(vi.getTimerCount()).toBe(1);
      expect(heartbeat.size).toBe(50);
      // the first opened at t=0, now is t=500: it is due at t=5000, the last (t=490) at t=5490
      await vi.advanceTimersByTimeAsync(4499);
      expect(conns[0]!.peer.frames()).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      expect(conns[0]!.peer.frames().map((f) => f.opcode)).toEqual([9]);
      expect(conns[1]!.peer.frames()).toEqual([]);
      await vi.advanceTimersByTimeAsync(10);
      expect(conns[1]!.peer.frames().map((f) => f.opcode)).toEqual([9]);
      expect(conns[49]!.peer.frames()).toEqual([]);
      await vi.advanceTimersByTimeAsync(480);
      expect(conns.every((c) => c.peer.frames().length === 1)).toBe(true);
      // connection 7 answers its ping (any data counts): it stays; the others are dropped at t=10000 + 10 i
      conns[7]!.peer.send(cframe({ opcode: 0xa, payload: "" }));
      await vi.advanceTimersByTimeAsync(4510);
      expect(conns[0]!.conn.readyState).toBe("closed");
      expect((await conns[0]!.conn.closed).code).toBe(1006);
      expect(conns[1]!.conn.readyState).toBe("open");
      await vi.advanceTimersByTimeAsync(490);
      expect(conns.filter((c) => c.conn.readyState !== "closed").map((c) => conns.indexOf(c))).toEqual([7]);
      // the closed ones left the queue (nothing holds them); the one left still has its timer
      expect(heartbeat.size).toBe(1);
      expect(vi.getTimerCount()).toBe(1);
      conns[7]!.conn.drop();
      expect(heartbeat.size).toBe(0);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it("a connection holds no timer and no closure of its own for its keepalive", () => {
    vi.useFakeTimers();
    try {
      const heartbeat = new HeartbeatQueue(60_000);
      const { conn } = withRawPeer("server", { idleTimeout: 120_000, heartbeat });
      conn.start();
      const own = Object.values(conn as object).filter((v) => typeof v === "function" || (typeof v === "object" && v !== null && "hasRef" in v));
      expect(own).toEqual([]);
      conn.drop();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("a connection's listeners", () => {
  it("one listener of an event is kept as itself, not in a list; two and more in order, each removable", async () => {
    const { conn, peer } = withRawPeer("server");
    const seen: string[] = [];
    const offA = conn.onMessage((m) => void seen.push(`a:${String(m)}`));
    conn.onClose(() => {});
    const lists = Object.values((conn as unknown as { listeners: { lists: Record<string, unknown> } }).listeners.lists);
    expect(lists.map((l) => typeof l)).toEqual(["function", "function"]);
    const offB = conn.onMessage((m) => void seen.push(`b:${String(m)}`));
    conn.start();
    peer.send(cframe({ opcode: 1, payload: "1" }));
    await new Promise<void>((resolve) => setTimeout(() => resolve(), 1));
    offA();
    peer.send(cframe({ opcode: 1, payload: "2" }));
    await new Promise<void>((resolve) => setTimeout(() => resolve(), 1));
    offB();
    conn.onMessage((m) => void seen.push(`c:${String(m)}`));
    peer.send(cframe({ opcode: 1, payload: "3" }));
    await new Promise<void>((resolve) => setTimeout(() => resolve(), 1));
    expect(seen).toEqual(["a:1", "b:1", "b:2", "c:3"]);
    conn.drop();
  });
});
