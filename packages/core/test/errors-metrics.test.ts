/**
 * Error hooks (a service's `error`, the server's `onError`), the logger's pino-style calls with Error objects,
 * the metrics hooks, and the errors `conn.sendOrReject()` rejects with.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  BackpressureError,
  ConnectionClosedError,
  consoleLogger,
  createUpgradeRequest,
  defineService,
  HeaderMap,
  InvalidOptionError,
  ProtocolViolationError,
  silentLogger,
  type ClosedMetrics,
  type Connection,
  type LogContext,
  type MetricsHooks,
  type Service,
  type ServerOptions,
} from "../src/index.ts";
import { connectOverStream, ServerCore } from "../src/adapter.ts";
import { serveStream } from "./support/serve-stream.ts";
import { bytes, cframe, closePayload } from "./support/frames.ts";
import { memoryPair, settle } from "./support/memory-stream.ts";
import { RawPeer, recordingLogger, withRawPeer } from "./support/peers.ts";

afterEach(() => vi.useRealTimers());

function upgrade(url = "/s") {
  return createUpgradeRequest({
    method: "GET",
    url,
    httpVersion: "1.1",
    headers: new HeaderMap({
      Host: "localhost",
      Upgrade: "websocket",
      Connection: "Upgrade",
      "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
      "Sec-WebSocket-Version": "13",
    }),
    remoteAddress: "127.0.0.1",
  });
}

/** A server with one service on "/s" and a raw peer connected to it. */
async function serverWithPeer(service: Service<unknown>, options: Partial<ServerOptions> = {}) {
  const core = new ServerCore({ logger: silentLogger, ...options, services: { "/s": service } });
  const [a, b] = memoryPair();
  const peer = new RawPeer(b);
  const outcome = await core.negotiate(upgrade());
  if (!outcome.ok) throw new Error(`refused ${outcome.status}`);
  const conn = outcome.accept(a);
  return { core, conn, peer, a, b };
}

/** Metrics hooks that record every call. */
function recordingMetrics() {
  const calls: Array<[keyof MetricsHooks, ...unknown[]]> = [];
  const record = (name: keyof MetricsHooks) => (...args: unknown[]) => void calls.push([name, ...args.map((a) => (isConn(a) ? "conn" : a))]);
  const isConn = (a: unknown) => typeof a === "object" && a !== null && "readyState" in a;
  const metrics: MetricsHooks = {
    opened: record("opened"),
    closed: record("closed"),
    upgradeRefused: (status) => void calls.push(["upgradeRefused", status]),
    messageIn: record("messageIn"),
    messageOut: record("messageOut"),
    handlerError: record("handlerError"),
    protocolError: record("protocolError"),
  };
  const of = (name: keyof MetricsHooks) => calls.filter((c) => c[0] === name).map((c) => c.slice(1));
  return { calls, metrics, of };
}

describe("error hooks", () => {
  it("a service's error(conn, err) and the server's onError(err, conn) get the Error a handler threw or rejected with, each time", async () => {
    const seen: string[] = [];
    const thrown = new Error("sync boom");
    const rejected = new Error("async boom");
    const { conn, peer } = await serverWithPeer(
      defineService({
        received(m) {
          if (m === "sync") throw thrown;
          return Promise.reject(rejected);
        },
        error(c, err) {
          expect(c).toBe(conn);
          seen.push(`service ${err === thrown ? "thrown" : err === rejected ? "rejected" : err.message}`);
        },
      }),
      {
        onError(err, c) {
          expect(c).toBe(conn);
          seen.push(`server ${err === thrown ? "thrown" : err === rejected ? "rejected" : err.message}`);
        },
      },
    );
    peer.send(cframe({ opcode: 1, payload: "sync" }), cframe({ opcode: 1, payload: "async" }), cframe({ opcode: 1, payload: "sync" }));
    await settle();
    // each failure reaches the service's hook, then the server's (a rejection a few microtasks later)
    expect(seen.filter((x) => x.endsWith("thrown"))).toEqual(["service thrown", "server thrown", "service thrown", "server thrown"]);
    expect(seen.filter((x) => x.endsWith("rejected"))).toEqual(["service rejected", "server rejected"]);
    expect(conn.readyState).toBe("open");
  });

  it("a non-Error thrown reaches the hooks as an Error (the value kept as `thrown`)", async () => {
    const errors: Error[] = [];
    const { peer } = await serverWithPeer({
      received() {
        throw "a string"; // eslint-disable-line no-throw-literal
      },
      error: (_c, err) => void errors.push(err),
    });
    peer.send(cframe({ opcode: 1, payload: "x" }));
    await settle();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(Error);
    expect(errors[0]!.message).toBe("a string");
    expect((errors[0] as Error & { thrown?: unknown }).thrown).toBe("a string");
  });

  it("a protocol error reaches the hooks once as a ProtocolViolationError with its close code", async () => {
    const errors: Error[] = [];
    const serverErrors: Error[] = [];
    const { conn, peer } = await serverWithPeer({ error: (_c, err) => void errors.push(err) }, { onError: (err) => void serverErrors.push(err) });
    peer.send(cframe({ opcode: 1, payload: bytes(0x48, 0xff, 0x49) })); // invalid UTF-8
    await conn.closed;
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ProtocolViolationError);
    expect((errors[0] as ProtocolViolationError).code).toBe(1007);
    expect(errors[0]!.message).toMatch(/invalid UTF-8/);
    expect(serverErrors).toEqual(errors);
  });

  it("a message over maxMessageSize: ProtocolViolationError 1009", async () => {
    const errors: ProtocolViolationError[] = [];
    const { conn, peer } = await serverWithPeer({ maxMessageSize: 4, error: (_c, err) => void errors.push(err as ProtocolViolationError) });
    peer.send(cframe({ opcode: 2, payload: bytes(1, 2, 3, 4, 5, 6) }));
    await conn.closed;
    expect(errors.map((e) => [e.name, e.code])).toEqual([["ProtocolViolationError", 1009]]);
  });

  it("a throwing or rejecting error hook is contained: logged under the bound, never called for its own failure, the connection stays open", async () => {
    const log = recordingLogger();
    let calls = 0;
    let rejecting = 0;
    const { conn, peer } = await serverWithPeer(
      {
        received() {
          throw new Error("handler boom");
        },
        error() {
          calls++;
          throw new Error("hook boom");
        },
      },
      {
        logger: log.logger,
        onError: () => {
          rejecting++;
          return Promise.reject(new Error("async hook boom"));
        },
      },
    );
    for (let i = 0; i < 50; i++) peer.send(cframe({ opcode: 1, payload: "x" }));
    await settle();
    expect(calls).toBe(50); // once per handler failure, not again for its own throw
    expect(rejecting).toBe(50); // the server's hook still runs after the service's threw
    expect(conn.readyState).toBe("open");
    // the log's bound holds for handler and hook failures together: one line at once, one summary at close
    expect(log.lines.filter((l) => l[0] === "error")).toHaveLength(1);
    peer.send(cframe({ opcode: 8, payload: closePayload(1000) }));
    await conn.closed;
    const errors = log.lines.filter((l) => l[0] === "error");
    expect(errors).toHaveLength(2);
    expect(errors[1]![1]).toContain("in all");
  });

  it("a failing upgrade gate and a failing resolve reach onError without a connection", async () => {
    const got: Array<[string, unknown]> = [];
    const core = new ServerCore({
      logger: silentLogger,
      services: {
        "/gate": {
          upgrade() {
            throw new Error("gate boom");
          },
        },
      },
      resolve() {
        throw new Error("resolve boom");
      },
      onError: (err, conn) => void got.push([err.message, conn]),
    });
    expect((await core.negotiate(upgrade("/gate"))).ok).toBe(false);
    expect((await core.negotiate(upgrade("/nowhere"))).ok).toBe(false);
    expect(got).toEqual([
      ["gate boom", undefined],
      ["resolve boom", undefined],
    ]);
  });

  it("the service key `error` is accepted; a non-function is refused; onError and metrics are checked", () => {
    expect(() => new ServerCore({ services: { "/": { error: () => {} } } })).not.toThrow();
    expect(() => new ServerCore({ services: { "/": { error: 1 as never } } })).toThrow(InvalidOptionError);
    expect(() => new ServerCore({ onError: "x" as never })).toThrow(/onError/);
    expect(() => new ServerCore({ metrics: { opend: () => {} } as never })).toThrow(/did you mean opened/);
    expect(() => new ServerCore({ metrics: { closed: 1 } as never })).toThrow(/metrics\.closed/);
  });
});

describe("the logger gets Error objects, pino-style (context first, message second)", () => {
  it("a console-like logger: the Error as `err` in the context, the connection's id as `conn`", async () => {
    const error = vi.fn<(c: LogContext, m: string) => void>();
    const logger = { info: vi.fn(), warn: vi.fn(), error };
    const boom = new Error("boom");
    const { conn, peer } = await serverWithPeer(
      {
        received() {
          throw boom;
        },
      },
      { logger },
    );
    peer.send(cframe({ opcode: 1, payload: "x" }));
    await settle();
    expect(error).toHaveBeenCalledTimes(1);
    const [context, message] = error.mock.calls[0]!;
    expect(context.err).toBe(boom);
    expect(context.conn).toBe(conn.id);
    expect(message).toContain("handler failed: boom");
  });

  it("consoleLogger passes the Error on to console.error (its stack printed by console)", async () => {
    const spy = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const boom = new Error("boom");
      const { peer } = await serverWithPeer(
        {
          received() {
            throw boom;
          },
        },
        { logger: consoleLogger },
      );
      peer.send(cframe({ opcode: 1, payload: "x" }));
      await settle();
      expect(spy).toHaveBeenCalledTimes(1);
      const [message, context] = spy.mock.calls[0]! as [string, LogContext];
      expect(message).toMatch(/^\[ws\] connection .*: handler failed: boom$/);
      expect(context.err).toBe(boom);
    } finally {
      spy.mockRestore();
    }
  });

  it("a pino-shaped logger (object first, then message; err serialized): protocol violations carry their ProtocolViolationError", async () => {
    const records: Array<Record<string, unknown>> = [];
    // what pino does with (obj, msg): merges obj into the record, serializes `err`, sets `msg`
    const pinoLike = (level: string) => (obj: object, msg?: string) => {
      if (typeof obj !== "object" || obj === null || typeof msg !== "string") throw new Error(`not pino's (obj, msg) form: ${typeof obj}, ${typeof msg}`);
      const o = obj as LogContext;
      records.push({ level, ...o, msg, ...(o.err instanceof Error ? { err: { type: o.err.name, message: o.err.message, stack: o.err.stack, code: (o.err as { code?: number }).code } } : {}) });
    };
    const logger = { info: pinoLike("info"), warn: pinoLike("warn"), error: pinoLike("error") };
    const { conn, peer } = await serverWithPeer({}, { logger });
    peer.send(cframe({ opcode: 1, payload: bytes(0xff) }));
    await conn.closed;
    const warn = records.find((r) => r.level === "warn")!;
    expect(warn.msg).toMatch(/with 1007: invalid UTF-8/);
    expect(warn.err).toMatchObject({ type: "ProtocolViolationError", code: 1007 });
    expect(warn.conn).toBe(conn.id);
  });

  it("a handler failing on every message: the hook each time, the logger one line then one summary (the bound holds)", async () => {
    vi.useFakeTimers();
    const log = recordingLogger();
    let hookCalls = 0;
    const { conn, peer } = withRawPeer("server", {
      logger: log.logger,
      idleTimeout: 0,
      onError: () => void hookCalls++,
    });
    conn.onText(() => {
      throw new Error("boom");
    });
    conn.start();
    for (let i = 0; i < 200; i++) peer.send(cframe({ opcode: 1, payload: "x" }));
    await vi.advanceTimersByTimeAsync(1);
    expect(hookCalls).toBe(200);
    expect(log.lines.filter((l) => l[0] === "error")).toHaveLength(1);
    conn.drop();
    await vi.advanceTimersByTimeAsync(1);
    const errors = log.lines.filter((l) => l[0] === "error");
    expect(errors).toHaveLength(2);
    expect(errors[1]![1]).toContain("199 more time(s) (200 in all)");
    expect(errors[1]![2].err).toBeInstanceOf(Error);
  });
});

describe("metrics hooks", () => {
  it("opened, messages and bytes in and out (UTF-8 bytes for text), closed with code and who started it", async () => {
    const m = recordingMetrics();
    const { conn, peer, core } = await serverWithPeer({ received: (msg, c) => void c.send(msg) }, { metrics: m.metrics });
    peer.send(cframe({ opcode: 1, payload: "héllo" }), cframe({ opcode: 2, payload: bytes(1, 2, 3) }));
    await settle();
    expect(m.of("opened")).toEqual([["conn"]]);
    expect(m.of("messageIn")).toEqual([
      ["conn", "text", 6],
      ["conn", "binary", 3],
    ]);
    expect(m.of("messageOut")).toEqual([
      ["conn", "text", 6],
      ["conn", "binary", 3],
    ]);
    peer.send(cframe({ opcode: 8, payload: closePayload(4001, "bye") }));
    await conn.closed;
    const [[, close]] = m.of("closed") as [[string, ClosedMetrics]];
    expect(close).toMatchObject({ code: 4001, reason: "bye", wasClean: true, initiatedBy: "peer" });
    expect(core.connectionCount).toBe(0);
  });

  it("a close this side starts: initiatedBy local; a protocol error: protocolError and the close", async () => {
    const m = recordingMetrics();
    const first = await serverWithPeer({}, { metrics: m.metrics });
    void first.conn.close(1001, "going");
    first.peer.send(cframe({ opcode: 8, payload: closePayload(1001) }));
    await first.conn.closed;
    expect(m.of("closed")[0]![1]).toMatchObject({ code: 1001, initiatedBy: "local" });

    const second = await serverWithPeer({}, { metrics: m.metrics });
    second.peer.send(cframe({ opcode: 1, payload: bytes(0xff) }));
    await second.conn.closed;
    const [[, error]] = m.of("protocolError") as [[string, ProtocolViolationError]];
    expect(error.code).toBe(1007);
    expect(m.of("closed")[1]![1]).toMatchObject({ initiatedBy: "local", wasClean: false });
  });

  it("upgrades refused, by status", async () => {
    const m = recordingMetrics();
    const core = new ServerCore({
      logger: silentLogger,
      metrics: m.metrics,
      maxConnections: 1,
      services: { "/s": {}, "/closed": { upgrade: () => false }, "/teapot": { upgrade: () => ({ reject: 418 }) } },
    });
    await core.negotiate(upgrade("/missing"));
    await core.negotiate(upgrade("/closed"));
    await core.negotiate(upgrade("/teapot"));
    const bad = createUpgradeRequest({ method: "GET", url: "/s", httpVersion: "1.1", headers: new HeaderMap({ Host: "x" }) });
    await core.negotiate(bad);
    expect(m.of("upgradeRefused")).toEqual([[404], [403], [418], [400]]);
  });

  it("handler errors are counted each time", async () => {
    const m = recordingMetrics();
    const { peer } = await serverWithPeer(
      {
        received() {
          throw new Error("boom");
        },
      },
      { metrics: m.metrics },
    );
    for (let i = 0; i < 5; i++) peer.send(cframe({ opcode: 1, payload: "x" }));
    await settle();
    expect(m.of("handlerError").map(([, e]) => (e as Error).message)).toEqual(["boom", "boom", "boom", "boom", "boom"]);
  });

  it("the send-buffer high-water: the most the buffer held, reported on close", async () => {
    const m = recordingMetrics();
    const { conn, peer, a } = await serverWithPeer({}, { metrics: m.metrics, maxBufferedAmount: Infinity });
    a.stall(); // the peer does not read: what is sent piles up
    await settle();
    for (let i = 0; i < 4; i++) void conn.send(new Uint8Array(1000));
    await settle();
    expect(conn.bufferedAmount).toBeGreaterThanOrEqual(4000);
    a.unstall();
    await settle();
    expect(conn.bufferedAmount).toBe(0);
    peer.send(cframe({ opcode: 8, payload: closePayload(1000) }));
    await conn.closed;
    const close = m.of("closed")[0]![1] as ClosedMetrics;
    expect(close.peakBufferedAmount).toBeGreaterThanOrEqual(4000);
    expect(close.peakBufferedAmount).toBeLessThan(4100);
  });

  it("a throwing metrics hook does not break the connection", async () => {
    const { conn, peer } = await serverWithPeer(
      { received: (msg, c) => void c.send(msg) },
      {
        metrics: {
          messageIn() {
            throw new Error("metrics boom");
          },
          messageOut() {
            throw new Error("metrics boom");
          },
        },
      },
    );
    peer.send(cframe({ opcode: 1, payload: "x" }));
    await settle();
    expect(conn.readyState).toBe("open");
    expect([...peer.bytes().subarray(-3)]).toEqual([0x81, 0x01, 0x78]); // the echo went out: an unmasked text frame "x"
  });
});

describe("a client connection's onError and metrics", () => {
  it("connectOverStream({ onError, metrics }): the client's handler errors and its messages", async () => {
    const core = new ServerCore({ logger: silentLogger, services: { "/s": { connected: (c) => void c.send("hi") } } });
    const [a, b] = memoryPair();
    const served = serveStream(core, a);
    const m = recordingMetrics();
    const errors: Error[] = [];
    const client = await connectOverStream(b, "ws://localhost/s", { logger: silentLogger, metrics: m.metrics, onError: (e) => void errors.push(e) });
    await served;
    client.onText(() => {
      throw new Error("client boom");
    });
    await new Promise<void>((r) => setTimeout(() => r(), 20));
    expect(errors.map((e) => e.message)).toEqual(["client boom"]);
    expect(m.of("opened")).toHaveLength(1);
    expect(m.of("messageIn")).toEqual([["conn", "text", 2]]);
    await client.close(1000);
    expect(m.of("closed")[0]![1]).toMatchObject({ code: 1000, initiatedBy: "local" });
  });
});

describe("conn.sendOrReject(): why a message was not sent", () => {
  it("rejects with ConnectionClosedError carrying the close code and reason once closed; send() still resolves false", async () => {
    const { conn, peer } = withRawPeer("server");
    conn.start();
    peer.send(cframe({ opcode: 8, payload: closePayload(4002, "done") }));
    await conn.closed;
    const err = await conn.sendOrReject("x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect(err).toMatchObject({ code: 4002, reason: "done" });
    expect(await conn.send("x")).toBe(false);
  });

  it("rejects with ConnectionClosedError while closing (no code yet)", async () => {
    const { conn } = withRawPeer("server");
    conn.start();
    void conn.close();
    const err = await conn.sendOrReject(new Uint8Array(1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect((err as ConnectionClosedError).code).toBeUndefined();
  });

  it("rejects with BackpressureError over maxBufferedAmount (policy reject: the connection stays open)", async () => {
    const { conn, a } = withRawPeer("server", { maxBufferedAmount: 100, backpressure: "reject" });
    conn.start();
    a.stall();
    await conn.sendOrReject(new Uint8Array(80));
    const err = await conn.sendOrReject(new Uint8Array(80)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackpressureError);
    expect(err).toMatchObject({ limit: 100 });
    expect((err as BackpressureError).bufferedAmount).toBeGreaterThanOrEqual(80);
    expect(conn.readyState).toBe("open");
    expect(await conn.send(new Uint8Array(80))).toBe(false); // send() never rejects
  });

  it("under the close policy: BackpressureError, and the connection closes with 1008", async () => {
    const { conn, a } = withRawPeer("server", { maxBufferedAmount: 100 });
    conn.start();
    a.stall();
    await conn.sendOrReject("a".repeat(80));
    const err = await conn.sendOrReject("b".repeat(80)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackpressureError);
    expect(conn.readyState).toBe("closing");
  });
});

void ({} as Connection);
