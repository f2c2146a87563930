/**
 * The runtime engine's pieces in core: a Connection on a RuntimeSocketTransport over a fake RuntimeSocket, RuntimeServer over
 * ServerCore (its decision, settings, shutdown), ServerCore.decide itself, and the fetch-server helpers.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { Connection, createUpgradeRequest, defineService, HeaderMap, silentLogger, UnsupportedError, type Logger, type SendData, type UpgradeRequest } from "../src/index.ts";
import { connectOverStream, RuntimeServer, RuntimeHub, RuntimeSocketTransport, ServerCore, upgradeRequestFrom, isWebSocketRequest, type ByteStreamEvents, type RuntimeSocket } from "../src/adapter.ts";
import { acceptKey } from "../src/protocol.ts";
import { frame, closePayload, td, utf8 } from "./support/frames.ts";
import { recordingLogger } from "./support/peers.ts";

afterEach(() => {
  vi.useRealTimers();
});

interface Settings {
  maxMessageSize: number;
  idleTimeout: number;
  keepaliveNative: boolean;
  closeTimeout: number;
  maxBufferedAmount: number;
  backpressure: "close" | "reject";
  readHighWaterMark: number;
}

const settings: Settings = {
  maxMessageSize: 1024,
  idleTimeout: 0,
  keepaliveNative: false,
  closeTimeout: 100,
  maxBufferedAmount: Infinity,
  backpressure: "close",
  readHighWaterMark: 16,
};

class FakeSocket implements RuntimeSocket {
  readonly engineName = "Fake.serve";
  readonly sent: SendData[] = [];
  readonly closes: Array<[number, string]> = [];
  terminated = 0;
  bufferedAmount = 0;
  hasDrainEvent = true;
  pauses = 0;
  resumes = 0;
  readonly topics = new Set<string>();
  sendText(text: string): boolean {
    this.sent.push(text);
    return true;
  }
  sendBinary(bytes: Uint8Array): boolean {
    this.sent.push(bytes);
    return true;
  }
  close(code: number, reason: string): void {
    this.closes.push([code, reason]);
  }
  terminate(): void {
    this.terminated++;
  }
  pause(): void {
    this.pauses++;
  }
  resume(): void {
    this.resumes++;
  }
  subscribe(topic: string): void {
    this.topics.add(topic);
  }
  unsubscribe(topic: string): void {
    this.topics.delete(topic);
  }
  publish(): number {
    return 0;
  }
}

const request: UpgradeRequest = createUpgradeRequest({ method: "GET", url: "/chat", httpVersion: "1.1", headers: new HeaderMap({ host: "localhost" }) });

/** A Connection over a runtime socket, as the runtime engine builds one (RuntimeServer.connection). */
function overSocket(socket: RuntimeSocket, s: Settings = settings, logger: Logger = silentLogger, hub?: RuntimeHub, protocol: string | null = "chat") {
  const transport = new RuntimeSocketTransport(socket, { maxMessageSize: s.maxMessageSize, keepaliveNative: s.keepaliveNative, logger, label: "t" });
  const conn = new Connection(transport, {
    role: "server",
    request,
    protocol,
    idleTimeout: s.idleTimeout,
    closeTimeout: s.closeTimeout,
    maxBufferedAmount: s.maxBufferedAmount,
    backpressure: s.backpressure,
    readHighWaterMark: s.readHighWaterMark,
    logger,
    hub,
  });
  return { conn, transport };
}

function mapped(overrides: Partial<Settings> = {}, socket = new FakeSocket()) {
  return { ...overSocket(socket, { ...settings, ...overrides }), socket };
}

describe("Connection on a RuntimeSocketTransport", () => {
  it("sends text and binary through the runtime's socket once open, and not before", async () => {
    const { conn, socket, transport } = mapped();
    expect(await conn.send("early")).toBe(false);
    conn.start();
    expect(conn.readyState).toBe("open");
    expect(await conn.send("héllo")).toBe(true);
    expect(await conn.send(new Uint8Array([1, 2]))).toBe(true);
    expect(await conn.sendText(utf8("as bytes"))).toBe(true);
    expect(await conn.sendText(new Uint8Array([0xff]))).toBe(false); // not UTF-8: not sent
    expect(socket.sent).toEqual(["héllo", new Uint8Array([1, 2]), "as bytes"]);
  });

  it("delivers messages to handlers with the connection, and queues them for read() when there are none", async () => {
    const { conn, transport } = mapped();
    conn.start();
    transport.handleMessage("queued");
    expect(await conn.read()).toBe("queued");
    const texts: string[] = [];
    const all: unknown[] = [];
    conn.onText((text, c) => {
      texts.push(text);
      expect(c).toBe(conn);
    });
    const off = conn.onMessage((m) => all.push(m));
    transport.handleMessage("a");
    transport.handleMessage(new Uint8Array([7]));
    off();
    transport.handleMessage("b");
    expect(texts).toEqual(["a", "b"]);
    expect(all).toEqual(["a", new Uint8Array([7])]);
  });

  it("logs what a handler throws and goes on with the next one", () => {
    const { lines, logger } = recordingLogger();
    const { conn, transport } = overSocket(new FakeSocket(), settings, logger, undefined, null);
    conn.start();
    const got: string[] = [];
    conn.onText(() => {
      throw new Error("boom");
    });
    conn.onText((t) => void got.push(t));
    transport.handleMessage("x");
    expect(got).toEqual(["x"]);
    expect(lines.filter(([level, m]) => level === "error" && m.includes("handler failed") && m.includes("boom"))).toHaveLength(1);
  });

  it("pauses the runtime's socket past the read high-water mark and resumes it at half", async () => {
    const { conn, socket, transport } = mapped();
    conn.start();
    for (let i = 0; i < 3; i++) transport.handleMessage("0123456789"); // 30 > 16
    expect(socket.pauses).toBe(1);
    await conn.read(); // 20 unread
    await conn.read(); // 10 unread: still over half the mark (8)
    expect(socket.resumes).toBe(0);
    await conn.read(); // 0 unread
    expect(socket.resumes).toBe(1);
  });

  it("closes with 1009 when a message is over maxMessageSize", () => {
    const { conn, socket, transport } = mapped({ maxMessageSize: 4 });
    conn.start();
    transport.handleMessage("12345");
    expect(socket.closes).toEqual([[1009, "message too big"]]);
    expect(conn.readyState).toBe("closing");
  });

  it("close(): the close frame, then the runtime's close event settles `closed` and onClose, once", async () => {
    const { conn, socket, transport } = mapped();
    conn.start();
    const seen: Array<[number, string]> = [];
    conn.onClose((code, reason) => void seen.push([code, reason]));
    const closed = conn.close(1000, "bye");
    expect(socket.closes).toEqual([[1000, "bye"]]);
    transport.handleClose(1000, "bye");
    transport.handleClose(1000, "again");
    expect(await closed).toEqual({ code: 1000, reason: "bye", wasClean: true });
    expect(seen).toEqual([[1000, "bye"]]);
    expect(await conn.read()).toBeNull();
  });

  it("close(): drops the connection (1006) when the peer does not answer within the close timeout", async () => {
    vi.useFakeTimers();
    const { conn, socket, transport } = mapped({ closeTimeout: 50 });
    conn.start();
    const closed = conn.close();
    await vi.advanceTimersByTimeAsync(60);
    expect(socket.terminated).toBe(1);
    expect(await closed).toMatchObject({ code: 1006, wasClean: false });
  });

  it("drop(): terminates at once and reports the code given", async () => {
    const { conn, socket, transport } = mapped();
    conn.start();
    conn.drop(1008, "policy");
    expect(socket.closes).toEqual([[1008, "policy"]]);
    expect(socket.terminated).toBe(1);
    expect(await conn.closed).toEqual({ code: 1008, reason: "policy", wasClean: false });
  });

  it("throws UnsupportedError for what the runtime's socket cannot do", () => {
    const { conn, transport } = mapped();
    conn.start();
    expect(() => conn.stream()).toThrow(UnsupportedError);
    expect(() => conn.onFragment(() => {})).toThrow(UnsupportedError);
    expect(() => conn.sendFrame(new Uint8Array(2))).toThrow(UnsupportedError);
    expect(() => conn.ping()).toThrow(UnsupportedError); // FakeSocket has no ping
    expect(() => conn.onPong(() => {})).toThrow(UnsupportedError);
  });

  it("keepalive: drops (1006) after a silent connection timeout", async () => {
    vi.useFakeTimers();
    const socket = Object.assign(new FakeSocket(), { pings: 0, ping(this: { pings: number }) { this.pings++; } });
    const { conn } = overSocket(socket, { ...settings, idleTimeout: 2000 }, silentLogger, undefined, null);
    conn.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(socket.pings).toBe(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(await conn.closed).toMatchObject({ code: 1006 });
  });

  it("topics through the server's RuntimeHub, for runtimes without their own", () => {
    const hub = new RuntimeHub();
    const conns = [0, 1, 2].map(() => {
      const socket = new FakeSocket();
      const { conn } = overSocket(socket, settings, silentLogger, hub, null);
      conn.start();
      return { conn, socket };
    });
    for (const { conn } of conns) conn.subscribe("room");
    expect(hub.subscriberCount("room")).toBe(3);
    expect(conns[0]!.conn.publish("room", "hi")).toBe(2);
    expect(conns.map(({ socket }) => socket.sent.length)).toEqual([0, 1, 1]);
    conns[1]!.conn.drop();
    expect(hub.subscriberCount("room")).toBe(2);
  });
});

function wsRequest(url: string, headers: Record<string, string> = {}): UpgradeRequest {
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
      ...headers,
    }),
  });
}

describe("ServerCore.decide", () => {
  it("accepts with the service, subprotocol, the gate's headers and data, and the validated handshake", async () => {
    const chat = defineService({ protocols: ["chat"], upgrade: () => ({ headers: { "X-Room": "1" }, data: { user: "ann" } }) });
    const core = new ServerCore({ services: { "/chat": chat }, logger: silentLogger });
    const verdict = await core.decide(wsRequest("/chat?x=1", { "Sec-WebSocket-Protocol": "other, chat", "Sec-WebSocket-Extensions": "permessage-deflate" }));
    expect(verdict).toEqual({
      ok: true,
      service: chat,
      protocol: "chat",
      headers: { "X-Room": "1" },
      data: { user: "ann" },
      key: "dGhlIHNhbXBsZSBub25jZQ==",
      extensions: [{ name: "permessage-deflate", params: {} }],
      slot: { release: expect.any(Function) },
    });
  });

  it("refuses as negotiate does: 404, 400, the gate's status, 503 while shutting down", async () => {
    const core = new ServerCore({ services: { "/chat": { upgrade: () => ({ reject: 401, reason: "who?" }) }, "/open": {} }, logger: silentLogger });
    expect(await core.decide(wsRequest("/nope"))).toMatchObject({ ok: false, status: 404 });
    expect(await core.decide({ ...wsRequest("/open"), method: "POST" })).toMatchObject({ ok: false, status: 405 });
    expect(await core.decide(wsRequest("/chat"))).toEqual({ ok: false, status: 401, reason: "who?", headers: undefined });
    await core.close({ timeout: 10 });
    expect(await core.decide(wsRequest("/open"))).toMatchObject({ ok: false, status: 503 });
  });
});

describe("RuntimeServer", () => {
  it("refuses frame-level limits with UnsupportedError, in the options and in a service", () => {
    expect(() => new RuntimeServer({ maxFrameSize: 10 }, "Fake.serve")).toThrow(UnsupportedError);
    expect(() => new RuntimeServer({ services: { "/a": { maxFragments: 2 } } }, "Fake.serve")).toThrow(UnsupportedError);
    const server = new RuntimeServer({ logger: silentLogger }, "Fake.serve");
    expect(() => server.register("/b", { maxFrameSize: 1 })).toThrow(/service at \/b/);
  });

  it("resolves settings (service over server, then the defaults)", () => {
    const server = new RuntimeServer({ closeTimeout: 700, services: {}, logger: silentLogger }, "Fake.serve");
    expect(server.settingsFor({ maxMessageSize: 10 })).toMatchObject({
      maxMessageSize: 10,
      idleTimeout: 120_000,
      closeTimeout: 700,
      maxBufferedAmount: 16 * 1024 * 1024,
      backpressure: "close",
    });
  });

  it("opens connections into the server's set, wired to the service, and closes them all (1001) on close()", async () => {
    const events: string[] = [];
    const service = defineService({
      connected: () => void events.push("connected"),
      received: (m) => void events.push(`received ${String(m)}`),
      disconnected: (_c, code) => void events.push(`disconnected ${code}`),
    });
    const server = new RuntimeServer({ services: { "/chat": service }, logger: silentLogger }, "Fake.serve");
    const controls = server.controls({ publish: () => 0, subscriberCount: () => 0 });
    const verdict = await server.decide(wsRequest("/chat"));
    if (!verdict.ok) throw new Error("refused");
    const socket = new FakeSocket();
    const { conn, transport } = server.connection(socket, wsRequest("/chat"), verdict);
    server.open(conn, verdict);
    expect(controls.connectionCount).toBe(1);
    transport.handleMessage("hi");
    const closing = controls.close({ timeout: 1000 });
    expect(socket.closes).toEqual([[1001, "server shutting down"]]);
    transport.handleClose(1001, "server shutting down");
    await closing;
    expect(controls.connectionCount).toBe(0);
    expect(events).toEqual(["connected", "received hi", "disconnected 1001"]);
  });

  it("a resumed connection (rebuilt after hibernation) keeps its id and data and is not reported connected again", async () => {
    const events: string[] = [];
    const service = defineService<{ name: string }>({
      connected: (c) => void events.push(`connected ${c.id}`),
      received: (m, c) => void events.push(`received ${String(m)} from ${c.data.name} (${c.id})`),
      disconnected: (c, code) => void events.push(`disconnected ${c.id} ${code}`),
    });
    const server = new RuntimeServer({ services: { "/chat": service as never }, logger: silentLogger }, "Fake.serve");
    const verdict = await server.decide(wsRequest("/chat"));
    if (!verdict.ok) throw new Error("refused");
    const { conn, transport } = server.connection(new FakeSocket(), wsRequest("/chat"), { ...verdict, data: { name: "ann" } }, true, "conn-7");
    server.open(conn, { ...verdict, data: { name: "ann" } }, { resumed: true });
    expect(conn.id).toBe("conn-7");
    expect(conn.readyState).toBe("open");
    expect(server.core.connectionCount).toBe(1);
    expect(server.core.pendingUpgrades).toBe(0); // the decision's slot was taken over
    transport.handleMessage("hi");
    transport.handleClose(1000, "");
    await conn.closed;
    expect(events).toEqual(["received hi from ann (conn-7)", "disconnected conn-7 1000"]);
  });
});

describe("RuntimeServer: error hooks and metrics on the runtime engine", () => {
  it("the same hooks as the core engine: opened, messages, handler errors to error()/onError, a 1009 violation, closed", async () => {
    const seen: string[] = [];
    const service = defineService({
      maxMessageSize: 4,
      received(m) {
        if (m === "boom") throw new Error("boom");
      },
      error: (_c, err) => void seen.push(`service ${err.name} ${err.message}`),
    });
    const server = new RuntimeServer(
      {
        services: { "/chat": service },
        logger: silentLogger,
        onError: (err, c) => void seen.push(`server ${err.name} ${c ? "conn" : "-"}`),
        metrics: {
          opened: () => void seen.push("opened"),
          messageIn: (_c, type, bytes) => void seen.push(`in ${type} ${bytes}`),
          messageOut: (_c, type, bytes) => void seen.push(`out ${type} ${bytes}`),
          handlerError: (_c, err) => void seen.push(`handlerError ${err.message}`),
          protocolError: (_c, err) => void seen.push(`protocolError ${err.code}`),
          closed: (_c, close) => void seen.push(`closed ${close.code} ${close.initiatedBy}`),
          upgradeRefused: (status) => void seen.push(`refused ${status}`),
        },
      },
      "Fake.serve",
    );
    expect((await server.decide(wsRequest("/nowhere"))).ok).toBe(false);
    const verdict = await server.decide(wsRequest("/chat"));
    if (!verdict.ok) throw new Error("refused");
    const socket = new FakeSocket();
    const { conn, transport } = server.connection(socket, wsRequest("/chat"), verdict);
    server.open(conn, verdict);
    transport.handleMessage("é");
    void conn.send("ok");
    transport.handleMessage("boom");
    transport.handleMessage("too long");
    expect(socket.closes).toEqual([[1009, "message too big"]]);
    transport.handleClose(1009, "message too big");
    await conn.closed;
    expect(seen).toEqual([
      "refused 404",
      "opened",
      "in text 2",
      "out text 2",
      "in text 4",
      "handlerError boom",
      "service Error boom",
      "server Error conn",
      "protocolError 1009",
      "service ProtocolViolationError message of 8 bytes is over the limit of 4",
      "server ProtocolViolationError conn",
      "closed 1009 local",
    ]);
  });
});

describe("fetch-server helpers", () => {
  it("upgradeRequestFrom and isWebSocketRequest read a fetch-style request", () => {
    const headers = new HeaderMap({ Upgrade: "WebSocket", Host: "example.com" });
    const req = { method: "GET", url: "https://example.com/chat?room=1", headers } as unknown as Request;
    expect(isWebSocketRequest(req)).toBe(true);
    expect(isWebSocketRequest({ ...req, headers: new HeaderMap({}) } as unknown as Request)).toBe(false);
    const upgrade = upgradeRequestFrom(req, "10.0.0.1", 5000);
    expect({ ...upgrade }).toMatchObject({
      method: "GET",
      url: "/chat?room=1",
      httpVersion: "1.1",
      headers,
      remoteAddress: "10.0.0.1",
      remotePort: 5000,
      params: {},
    });
    expect(upgrade.raw).toBe(req);
    expect(upgrade.query.get("room")).toBe("1");
    expect(upgrade.cookies.size).toBe(0);
  });
});

describe("connectOverStream: data held until the opener's handlers are attached", () => {
  it("a close frame and the transport's close in the same turn as the 101: the close frame still counts", async () => {
    let events!: ByteStreamEvents;
    let requestText = "";
    const stream = {
      start(e: ByteStreamEvents) {
        events = e;
      },
      write(chunk: Uint8Array) {
        requestText += td.decode(chunk);
        return true;
      },
      end() {},
      destroy() {},
      bufferedAmount: 0,
    };
    const connecting = connectOverStream(stream, "ws://localhost/chat", { logger: silentLogger, perMessageDeflate: false });
    const key = /Sec-WebSocket-Key: (\S+)/i.exec(requestText)![1]!;
    const response = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`;
    events.data(utf8(response));
    events.data(frame({ opcode: 8, payload: closePayload(1001, "going away") }));
    events.close();
    const conn = await connecting;
    expect(await conn.closed).toEqual({ code: 1001, reason: "going away", wasClean: true });
  });
});
