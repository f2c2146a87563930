import { afterEach, describe, expect, it, vi } from "vitest";
import { Connection, createUpgradeRequest, defineService, HandshakeError, HeaderMap, Router, silentLogger, type Service, type UpgradeRequest } from "../src/index.ts";
import { connectOverStream, normalizePath, ServerCore, TopicHub, encodeMessageFrame, type UpgradeOutcome } from "../src/adapter.ts";
import { acceptKey, parseCookieHeader, parseHttpHead } from "../src/protocol.ts";
import { cframe, closePayload, decodeFrames, frame, hex, td, utf8 } from "./support/frames.ts";
import { concatBytes, memoryPair, settle, type MemoryStream } from "./support/memory-stream.ts";
import { RawPeer, request as baseRequest } from "./support/peers.ts";
import { serveStream } from "./support/serve-stream.ts";

afterEach(() => {
  vi.useRealTimers();
});

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

function upgradeRequest(url = "/chat", headers: Record<string, string> = {}, method = "GET"): UpgradeRequest {
  return createUpgradeRequest({
    method,
    url,
    httpVersion: "1.1",
    headers: new HeaderMap({
      Host: "localhost",
      Upgrade: "websocket",
      Connection: "Upgrade",
      "Sec-WebSocket-Key": KEY,
      "Sec-WebSocket-Version": "13",
      ...headers,
    }),
    remoteAddress: "127.0.0.1",
  });
}


describe("Router", () => {
  it("normalizePath", () => {
    expect(["/chat", "chat", "/chat/", "/chat?x=1", "/chat/#frag", "", "/", "/a/b/"].map(normalizePath)).toEqual([
      "/chat",
      "/chat",
      "/chat",
      "/chat",
      "/chat",
      "/",
      "/",
      "/a/b",
    ]);
  });

  it("register, match, unregister", () => {
    const a: Service = {};
    const b: Service = {};
    const r = new Router({ chat: a });
    expect(r.match("/chat?room=1")).toBe(a);
    expect(r.match("/other")).toBeUndefined();
    r.register("/chat/", b);
    expect(r.match("/chat")).toBe(b);
    r.register("/echo", a);
    expect(r.paths.sort()).toEqual(["/chat", "/echo"]);
    expect(r.unregister("chat")).toBe(true);
    expect(r.unregister("/chat")).toBe(false);
    expect(r.match("/chat")).toBeUndefined();
  });
});

describe("Router: path parameters (the matching rules in router.ts)", () => {
  const room: Service = {};
  const lobby: Service = {};
  const admin: Service = {};
  const action: Service = {};

  it("/chat/:room matches one whole, non-empty segment and percent-decodes it; the query and a trailing / never take part", () => {
    const r = new Router({ "/chat/:room": room });
    expect(r.route("/chat/lobby?x=1")).toEqual({ service: room, params: { room: "lobby" } });
    expect(r.route("/chat/caf%C3%A9/")).toEqual({ service: room, params: { room: "café" } });
    expect(r.route("/chat/a%2Fb")?.params).toEqual({ room: "a/b" }); // an encoded "/" stays in the segment
    expect(r.route("/chat")).toBeUndefined();
    expect(r.route("/chat/a/b")).toBeUndefined();
    expect(r.route("/chat//")).toBeUndefined();
    expect(r.route("/chat/%E0%A4%A")).toBeUndefined(); // malformed percent-encoding: no match
    expect(r.match("/chat/x")).toBe(room);
  });

  it("exact paths first, whatever the order of registration; then literal segments before parameters", () => {
    const r = new Router({ "/chat/:room/:action": action, "/chat/:room": room, "/chat/:room/admin": admin });
    r.register("/chat/lobby", lobby);
    expect(r.route("/chat/lobby")).toEqual({ service: lobby, params: {} });
    expect(r.route("/chat/other")).toEqual({ service: room, params: { room: "other" } });
    expect(r.route("/chat/x/admin")).toEqual({ service: admin, params: { room: "x" } });
    expect(r.route("/chat/x/kick")).toEqual({ service: action, params: { room: "x", action: "kick" } });
    const mixed = new Router({ "/:a/b": action, "/a/:b": admin });
    expect(mixed.route("/a/b")?.service).toBe(admin); // literal "a" first, at the first segment that differs
    expect(mixed.route("/z/b")?.service).toBe(action);
  });

  it("patterns of one shape are one route: register replaces, unregister removes by shape; paths lists both kinds", () => {
    const r = new Router({ "/chat/:room": room, "/echo": lobby });
    r.register("/chat/:name", admin);
    expect(r.route("/chat/x")).toEqual({ service: admin, params: { name: "x" } });
    expect(r.paths).toEqual(["/echo", "/chat/:name"]);
    expect(r.unregister("/chat/:anything")).toBe(true);
    expect(r.unregister("/chat/:room")).toBe(false);
    expect(r.route("/chat/x")).toBeUndefined();
  });

  it("refuses a malformed or repeated parameter name", () => {
    const r = new Router();
    expect(() => r.register("/a/:", room)).toThrow(TypeError);
    expect(() => r.register("/a/:1x", room)).toThrow(TypeError);
    expect(() => r.register("/a/:x/:x", room)).toThrow(/twice/);
    expect(r.paths).toEqual([]);
  });
});

describe("ServerCore: params, resolve, query and cookies", () => {
  it("sets req.params before the gate; conn.request has them; resolve is the fallback and sees the request", async () => {
    const seen: string[] = [];
    const room = defineService({
      upgrade(req) {
        seen.push(`gate ${JSON.stringify(req.params)} ${req.query.get("user")} ${req.cookies.get("sid")}`);
      },
    });
    const resolved = defineService({});
    const core = new ServerCore({
      services: { "/chat/:room": room },
      resolve(req) {
        seen.push(`resolve ${req.url} ${JSON.stringify(req.params)}`);
        if (req.query.has("fallback")) return resolved;
        if (req.url.startsWith("/throw")) throw new Error("boom");
        return undefined;
      },
      logger: silentLogger,
    });
    const req = upgradeRequest("/chat/lobby?user=ann", { Cookie: "sid=s1; other=2" });
    const verdict = await core.decide(req);
    expect(verdict.ok && verdict.service).toBe(room);
    expect(req.params).toEqual({ room: "lobby" });
    const viaResolve = await core.decide(upgradeRequest("/anywhere?fallback"));
    expect(viaResolve.ok && viaResolve.service).toBe(resolved);
    expect(await core.decide(upgradeRequest("/nothing"))).toMatchObject({ ok: false, status: 404 });
    expect(await core.decide(upgradeRequest("/throw"))).toMatchObject({ ok: false, status: 404 });
    expect(seen).toEqual([
      'gate {"room":"lobby"} ann s1',
      'resolve /anywhere?fallback {}',
      "resolve /nothing {}",
      "resolve /throw {}",
    ]);
    for (const v of [verdict, viaResolve]) if (v.ok) v.slot.release();

    // end to end over a memory stream: the connection's request carries the params
    const [a, b] = memoryPair();
    const served = serveStream(core, a);
    const client = await connectOverStream(b, "ws://localhost/chat/caf%C3%A9?user=bob", { logger: silentLogger });
    const conn = (await served) as Connection;
    expect(conn.request.params).toEqual({ room: "café" });
    expect(conn.request.query.get("user")).toBe("bob");
    expect(conn.request.raw).toBeUndefined(); // this adapter passed none
    client.drop();
    await core.close({ timeout: 100 });
  });

  it("query and cookies are parsed on first use, once; cookies follow RFC 6265 §5.4 / §4.2.1", () => {
    const req = upgradeRequest("/chat?a=1&a=2&b=x%20y&c#frag", {
      Cookie: ' sid = "quoted" ;empty=; novalue; =anon; eq=a=b;sid=second;  last=1 ',
    });
    expect(req.query).toBe(req.query);
    expect(req.query.getAll("a")).toEqual(["1", "2"]);
    expect(req.query.get("b")).toBe("x y");
    expect(req.query.get("c")).toBe("");
    expect(req.query.has("frag")).toBe(false);
    expect(req.cookies).toBe(req.cookies);
    expect([...req.cookies]).toEqual([
      ["sid", "quoted"],
      ["empty", ""],
      ["eq", "a=b"],
      ["last", "1"],
    ]);
    expect(upgradeRequest("/").query.size).toBe(0);
    expect(upgradeRequest("/").cookies.size).toBe(0);
    expect(parseCookieHeader('a=1;b="2";c=%20')).toEqual(new Map([["a", "1"], ["b", "2"], ["c", "%20"]])); // not percent-decoded
  });
});

describe("ServerCore.negotiate", () => {
  it("404 for an unknown path, with a complete HTTP response", async () => {
    const core = new ServerCore({ services: { "/chat": {} }, logger: silentLogger });
    const r = await core.negotiate(upgradeRequest("/nope?x=1"));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.status).toBe(404);
    expect(td.decode(r.response)).toMatch(/^HTTP\/1\.1 404 Not Found\r\n[\s\S]*\r\n\r\nno WebSocket service at \/nope\n$/);
  });

  it("400 for a bad request, 426 with Sec-WebSocket-Version for a wrong version", async () => {
    const core = new ServerCore({ services: { "/chat": {} }, logger: silentLogger });
    const bad = await core.negotiate(upgradeRequest("/chat", { "Sec-WebSocket-Key": "short" }));
    expect([bad.ok, !bad.ok && bad.status]).toEqual([false, 400]);
    const noUpgrade = await core.negotiate(upgradeRequest("/chat", { Upgrade: "" }));
    expect([noUpgrade.ok, !noUpgrade.ok && noUpgrade.status]).toEqual([false, 400]);
    const version = await core.negotiate(upgradeRequest("/chat", { "Sec-WebSocket-Version": "8" }));
    expect(version.ok).toBe(false);
    if (version.ok) return;
    expect(version.status).toBe(426);
    expect(td.decode(version.response)).toContain("\r\nSec-WebSocket-Version: 13\r\n");
  });

  it("Sec-WebSocket-Accept comes from the adapter's acceptKey when it gives one, else the core's own", async () => {
    const portable = await new ServerCore({ services: { "/chat": {} }, logger: silentLogger }).negotiate(upgradeRequest());
    expect(portable.ok && td.decode(portable.response)).toContain(`\r\nSec-WebSocket-Accept: ${acceptKey(KEY)}\r\n`);
    const keys: string[] = [];
    const native = (key: string) => (keys.push(key), "from-the-adapter");
    const core = new ServerCore({ services: { "/chat": {} }, logger: silentLogger }, { acceptKey: native });
    const r = await core.negotiate(upgradeRequest());
    expect(r.ok && td.decode(r.response)).toContain("\r\nSec-WebSocket-Accept: from-the-adapter\r\n");
    expect(keys).toEqual([KEY]);
    if (r.ok) r.release();
  });

  it("the gate: rejection status, false → 403, throwing → 500, data attached to conn.data", async () => {
    const gated = (decision: unknown): Service => ({ upgrade: () => decision as never });
    const core = new ServerCore({
      logger: silentLogger,
      services: {
        "/reject": gated({ reject: 401, reason: "who are you", headers: { "WWW-Authenticate": "Bearer" } }),
        "/false": gated(false),
        "/throws": {
          upgrade: () => {
            throw new Error("gate bug");
          },
        },
        "/data": {
          upgrade: async (req) => ({ data: { user: req.headers.get("x-user") }, headers: { "X-Welcome": "1" } }),
        },
      },
    });
    const r401 = await core.negotiate(upgradeRequest("/reject"));
    expect(!r401.ok && [r401.status, r401.reason]).toEqual([401, "who are you"]);
    expect(!r401.ok && td.decode(r401.response)).toMatch(/^HTTP\/1\.1 401 Unauthorized\r\n[\s\S]*WWW-Authenticate: Bearer\r\n/);
    const r403 = await core.negotiate(upgradeRequest("/false"));
    expect(!r403.ok && r403.status).toBe(403);
    const r500 = await core.negotiate(upgradeRequest("/throws"));
    expect(!r500.ok && r500.status).toBe(500);
    const ok = await core.negotiate(upgradeRequest("/data", { "X-User": "ann" }));
    expect(ok.ok).toBe(true);
    if (!ok.ok) return;
    expect(td.decode(ok.response)).toContain("\r\nX-Welcome: 1\r\n");
    const [a] = memoryPair();
    const conn = ok.accept(a);
    expect(conn.data).toEqual({ user: "ann" });
  });

  it("the protocol is chosen and appears in the 101 head", async () => {
    const core = new ServerCore({ logger: silentLogger, services: { "/chat": { protocols: ["v2", "v1"] } } });
    const r = await core.negotiate(upgradeRequest("/chat", { "Sec-WebSocket-Protocol": "v1, v2" }));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.protocol).toBe("v1");
    expect(td.decode(r.response)).toBe(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(KEY)}\r\nSec-WebSocket-Protocol: v1\r\n\r\n`,
    );
    const none = await core.negotiate(upgradeRequest("/chat", { "Sec-WebSocket-Protocol": "v3" }));
    expect(none.ok && none.protocol).toBe(null);
    expect(none.ok && td.decode(none.response)).not.toContain("Sec-WebSocket-Protocol");
  });

  it("maxConnections → 503 (gates in progress count)", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const core = new ServerCore({ logger: silentLogger, maxConnections: 2, services: { "/slow": { upgrade: () => gate }, "/chat": {} } });
    const first = await core.negotiate(upgradeRequest("/chat"));
    if (!first.ok) throw new Error("expected ok");
    const [a] = memoryPair();
    first.accept(a);
    expect(core.connectionCount).toBe(1);
    const pending = core.negotiate(upgradeRequest("/slow"));
    const third = await core.negotiate(upgradeRequest("/chat"));
    expect(!third.ok && third.status).toBe(503);
    release();
    expect((await pending).ok).toBe(true);
  });

  it("accept writes the 101 head first, calls connected, then delivers bytes that came with the request", async () => {
    const seen: string[] = [];
    const core = new ServerCore({
      logger: silentLogger,
      services: {
        "/chat": defineService({
          connected: (conn) => void seen.push(`connected ${conn.request.url}`),
          received: (m) => void seen.push(`received ${String(m)}`),
        }),
      },
    });
    const r = await core.negotiate(upgradeRequest("/chat"));
    if (!r.ok) throw new Error("expected ok");
    const [a, b] = memoryPair();
    const peer = new RawPeer(b);
    r.accept(a, cframe({ opcode: 1, payload: "early" }));
    expect(seen).toEqual(["connected /chat", "received early"]);
    expect(a.writes[0]).toBe(r.response);
    await settle();
    expect(td.decode(peer.bytes())).toBe(td.decode(r.response));
  });
});

describe("ServerCore: services, topics and shutdown over memory streams", () => {
  async function open(core: ServerCore, path = "/chat") {
    const [a, b] = memoryPair();
    const served = serveStream(core, a);
    const client = await connectOverStream(b, `ws://localhost${path}`, { logger: silentLogger });
    const server = (await served) as Connection;
    return { a, b, client, server };
  }

  it("connectOverStream against a ServerCore: 101 validated, messages both ways, disconnected once", async () => {
    const events: string[] = [];
    const core = new ServerCore({
      logger: silentLogger,
      services: {
        "/chat": defineService({
          protocols: ["chat"],
          connected: () => void events.push("connected"),
          received: (m, conn) => void conn.send(typeof m === "string" ? m.toUpperCase() : m),
          disconnected: (_c, code, reason) => void events.push(`disconnected ${code} ${reason}`),
        }),
      },
    });
    const [a, b] = memoryPair();
    const served = serveStream(core, a);
    const client = await connectOverStream(b, "ws://localhost/chat", { logger: silentLogger, protocols: ["other", "chat"] });
    await served;
    expect(client.protocol).toBe("chat");
    expect(client.role).toBe("client");
    await client.send("hello");
    expect(await client.read()).toBe("HELLO");
    await client.send(utf8("bin"));
    expect(await client.read()).toEqual(utf8("bin"));
    expect(core.connectionCount).toBe(1);
    expect(await client.close(1000, "bye")).toEqual({ code: 1000, reason: "bye", wasClean: true });
    await settle();
    expect(events).toEqual(["connected", "disconnected 1000 bye"]);
    expect(core.connectionCount).toBe(0);
  });

  it("bytes that arrive with the 101 head are delivered as data", async () => {
    const core = new ServerCore({ logger: silentLogger, services: { "/chat": { connected: (conn) => void conn.send("welcome") } } });
    const [a, b] = memoryPair();
    const served = serveStream(core, a, true); // hold the server's output so the head and the frame leave together
    const connecting = connectOverStream(b, "ws://localhost/chat", { logger: silentLogger });
    await served;
    await settle();
    a.unstall();
    const client = await connecting;
    expect(await client.read()).toBe("welcome");
    expect(b.eventLog.filter((e) => e.startsWith("data")).length).toBe(1); // one chunk: head + frame
  });

  it("connectOverStream rejects with HandshakeError for a refused upgrade, a wrong accept, or a closed stream", async () => {
    const core = new ServerCore({ logger: silentLogger, services: { "/chat": {} } });
    const [a, b] = memoryPair();
    void serveStream(core, a);
    const err = await connectOverStream(b, "ws://localhost/missing", { logger: silentLogger }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HandshakeError);
    expect((err as HandshakeError).status).toBe(404);

    const [c, d] = memoryPair();
    c.start({
      data: () => {
        c.write(utf8(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(KEY)}\r\n\r\n`));
      },
      drain: () => {},
      end: () => {},
      close: () => {},
    });
    const wrong = await connectOverStream(d, "ws://localhost/chat", { logger: silentLogger }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(HandshakeError);
    expect((wrong as Error).message).toMatch(/Accept/);
    expect(d.closed).toBe(true);

    const [e, f] = memoryPair();
    e.start({ data: () => e.destroy(), drain: () => {}, end: () => {}, close: () => {} });
    await expect(connectOverStream(f, "ws://localhost/chat", { logger: silentLogger })).rejects.toBeInstanceOf(HandshakeError);
  });

  it("connectOverStream times out when the server never answers", async () => {
    vi.useFakeTimers();
    const [a, b] = memoryPair();
    a.start({ data: () => {}, drain: () => {}, end: () => {}, close: () => {} });
    const p = connectOverStream(b, "ws://localhost/chat", { logger: silentLogger, handshakeTimeout: 1000 });
    const assertion = expect(p).rejects.toThrow(/1000 ms/);
    await vi.advanceTimersByTimeAsync(1000);
    await assertion;
    expect(b.destroyCalls).toBe(1);
  });

  it("topics: publish to all subscribers but the sender, one frame object for all; unsubscribe; removed on close", async () => {
    const core = new ServerCore({ logger: silentLogger, services: { "/chat": { connected: (conn) => conn.subscribe("room") } } });
    const p1 = await open(core);
    const p2 = await open(core);
    const p3 = await open(core);
    await settle();
    expect(core.subscriberCount("room")).toBe(3);
    expect(p1.server.isSubscribed("room")).toBe(true);
    const before = [p1, p2, p3].map((p) => p.a.writes.length);
    expect(p1.server.publish("room", "hi all")).toBe(2);
    await settle();
    const frames = [p2, p3].map((p) => p.a.writes[before[[p1, p2, p3].indexOf(p)]!]!);
    expect(frames[0]).toBe(frames[1]); // the same bytes object was written to both
    expect(hex(frames[0]!)).toBe(hex(frame({ opcode: 1, payload: "hi all" })));
    expect(p1.a.writes.length).toBe(before[0]); // not to the sender
    expect(await p2.client.read()).toBe("hi all");
    expect(await p3.client.read()).toBe("hi all");

    p3.server.unsubscribe("room");
    expect(p3.server.topics.has("room")).toBe(false);
    expect(p1.server.publish("room", utf8("bin"))).toBe(1);
    expect(await p2.client.read()).toEqual(utf8("bin"));

    await p2.client.close();
    await p2.server.closed;
    expect(core.subscriberCount("room")).toBe(1);
    expect(core.hub.topicNames).toEqual(["room"]);
    expect(core.publish("room", "server-wide")).toBe(1); // no sender to skip
    expect(await p1.client.read()).toBe("server-wide");
    expect(p1.server.publish("room", "nobody")).toBe(0);
  });

  it("TopicHub without a server; encodeMessageFrame for text, bytes, ArrayBuffer and views", () => {
    const hub = new TopicHub();
    expect(hub.publish("none", "x")).toBe(0);
    expect(hex(encodeMessageFrame("hi"))).toBe("81 02 68 69");
    expect(hex(encodeMessageFrame(Uint8Array.of(1)))).toBe("82 01 01");
    expect(hex(encodeMessageFrame(Uint8Array.of(2, 3).buffer))).toBe("82 02 02 03");
    expect(hex(encodeMessageFrame(new Uint16Array([0x0101])))).toBe("82 02 01 01");
  });

  it("close(): 1001 to every connection, the ones that answer close cleanly, the rest dropped after the timeout", async () => {
    vi.useFakeTimers();
    const disconnected: Array<[string, number]> = [];
    const core = new ServerCore({
      logger: silentLogger,
      closeTimeout: 60_000,
      services: { "/chat": { disconnected: (conn, code) => void disconnected.push([conn.request.url, code]) } },
    });
    // a conforming client
    const good = await open(core, "/chat?good");
    // a peer that never answers the close frame
    const r = await core.negotiate(upgradeRequest("/chat?silent"));
    if (!r.ok) throw new Error("expected ok");
    const [a, b] = memoryPair();
    const silent = new RawPeer(b, false);
    r.accept(a);
    expect(core.connectionCount).toBe(2);
    let finished = false;
    const closing = core.close({ timeout: 1000 }).then(() => (finished = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(decodeFrames(silent.bytes().subarray(r.response.length))).toEqual([
      expect.objectContaining({ opcode: 8, payload: closePayload(1001, "server shutting down") }),
    ]);
    expect(await good.client.closed).toEqual({ code: 1001, reason: "server shutting down", wasClean: true });
    expect(finished).toBe(false);
    // new upgrades are refused while shutting down
    const late = await core.negotiate(upgradeRequest("/chat"));
    expect(!late.ok && late.status).toBe(503);
    await vi.advanceTimersByTimeAsync(1000);
    await closing;
    expect(disconnected.sort()).toEqual([
      ["/chat?good", 1001],
      ["/chat?silent", 1006],
    ]);
    expect(core.connectionCount).toBe(0);
    expect(a.destroyCalls).toBe(1);
  });
});

describe("Connection request for a client", () => {
  it("connectOverStream fills in the request from the URL and the response headers", async () => {
    const core = new ServerCore({ logger: silentLogger, services: { "/chat": {} } });
    const [a, b] = memoryPair();
    void serveStream(core, a);
    const client = await connectOverStream(b, "ws://example.test:9000/chat?x=1", { logger: silentLogger });
    expect(client.request.url).toBe("/chat?x=1");
    expect(client.request.headers.get("upgrade")).toBe("websocket");
    void baseRequest;
  });
});
