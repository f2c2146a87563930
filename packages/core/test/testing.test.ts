/**
 * @ws/core/testing: a service driven through the real upgrade decision and real Connections on both sides, over
 * an in-memory byte stream pair — no socket, no runtime.
 */
import { afterEach, describe, expect, it } from "vitest";
import { CloseCode, ConnectionClosedError, defineService, HandshakeError, ReadTimeoutError, silentLogger, type Connection, type UpgradeDecision } from "../src/index.ts";
import { inject, memoryStreamPair, testServer, type TestServer } from "../src/testing.ts";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Echoes text back, prefixed; subscribes to the `room` query parameter's topic and publishes into it. */
const echo = defineService<{ user: string }>({
  protocols: ["chat", "superchat"],
  upgrade(req): UpgradeDecision<{ user: string }> {
    const token = req.cookies.get("token");
    if (token === undefined) return { reject: 401, reason: "no token cookie", headers: { "WWW-Authenticate": "Cookie" } };
    if (token === "banned") return false;
    return { data: { user: token }, headers: { "X-User": token } };
  },
  connected(conn) {
    const room = conn.request.query.get("room");
    if (room) conn.subscribe(room);
  },
  received(message, conn) {
    if (message === "close me") return void conn.close(4001, "as asked");
    const room = conn.request.query.get("room");
    if (typeof message === "string" && message.startsWith("say ") && room) return void conn.publish(room, `${conn.data.user}: ${message.slice(4)}`);
    void conn.send(typeof message === "string" ? `echo ${message}` : message);
  },
});

describe("@ws/core/testing: testServer(...).connect()", () => {
  it("sends and receives text and binary; messages are collected in order", async () => {
    server = testServer({ services: { "/echo": echo } });
    const client = await server.connect("/echo", { headers: { cookie: "token=ana" } });
    await client.send("hi");
    expect(await client.next()).toBe("echo hi");
    await client.send(new Uint8Array([1, 2, 3]));
    expect(await client.next()).toEqual(new Uint8Array([1, 2, 3]));
    await client.send("again");
    expect(await client.read()).toBe("echo again");
    expect(client.messages).toEqual(["echo hi", new Uint8Array([1, 2, 3]), "echo again"]);
  });

  it("next() rejects with ReadTimeoutError when nothing comes within the timeout", async () => {
    server = testServer({ services: { "/echo": echo }, timeout: 50 });
    const client = await server.connect("/echo", { headers: { cookie: "token=ana" } });
    await expect(client.next()).rejects.toBeInstanceOf(ReadTimeoutError);
    await expect(client.next({ timeout: 20 })).rejects.toThrow("no message within 20 ms");
  });

  it("a refusal by the gate rejects connect() with a HandshakeError: status, headers, body", async () => {
    server = testServer({ services: { "/echo": echo }, logger: silentLogger });
    const error = await server.connect("/echo").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HandshakeError);
    const refused = error as HandshakeError;
    expect(refused.status).toBe(401);
    expect(refused.statusText).toBe("Unauthorized");
    expect(refused.headers.get("www-authenticate")).toBe("Cookie");
    expect(refused.body).toBe("no token cookie\n");
    expect(refused.message).toContain("401");
    // `false` from the gate is a 403; an unknown path a 404
    await expect(server.connect("/echo", { headers: { cookie: "token=banned" } })).rejects.toMatchObject({ status: 403 });
    await expect(server.connect("/nowhere", { headers: { cookie: "token=ana" } })).rejects.toMatchObject({ status: 404 });
    expect(server.connections.size).toBe(0);
  });

  it("the gate sees the request as given (url, query, headers, remote address); its data is the server side's conn.data", async () => {
    let seen: { url: string; room: string | null; agent: string | null; address: string | undefined } | undefined;
    const spy = defineService<{ user: string }>({
      upgrade(req) {
        seen = { url: req.url, room: req.query.get("room"), agent: req.headers.get("user-agent"), address: req.remoteAddress };
        return { data: { user: "from the gate" } };
      },
      received() {},
    });
    server = testServer({ services: { "/spy/:id": spy } });
    const client = await server.connect("/spy/7?room=a", { headers: { "User-Agent": "test" }, remoteAddress: "10.0.0.9" });
    expect(seen).toEqual({ url: "/spy/7?room=a", room: "a", agent: "test", address: "10.0.0.9" });
    const conn = client.serverConnection as Connection<{ user: string }>;
    expect(conn.data).toEqual({ user: "from the gate" });
    expect(conn.request.params).toEqual({ id: "7" });
    expect(server.connections.has(conn)).toBe(true);
  });

  it("the gate's headers reach the client's response; the subprotocol is negotiated", async () => {
    server = testServer({ services: { "/echo": echo } });
    const client = await server.connect("/echo", { headers: { cookie: "token=ana" }, protocols: ["superchat", "chat"] });
    expect(client.protocol).toBe("superchat");
    expect(client.serverConnection.protocol).toBe("superchat");
    expect(client.response.headers.get("x-user")).toBe("ana");
    expect(client.response.status).toBe(101);
    const none = await server.connect("/echo", { headers: { cookie: "token=bob" }, protocols: ["other"] });
    expect(none.protocol).toBeNull();
  });

  it("topics: server.publish reaches every subscribed client; conn.publish every one but the sender", async () => {
    server = testServer({ services: { "/echo": echo } });
    const ana = await server.connect("/echo?room=r1", { headers: { cookie: "token=ana" } });
    const bob = await server.connect("/echo?room=r1", { headers: { cookie: "token=bob" } });
    const cy = await server.connect("/echo?room=r2", { headers: { cookie: "token=cy" } });
    expect(server.subscriberCount("r1")).toBe(2);
    expect(server.publish("r1", "news")).toBe(2);
    expect(await ana.next()).toBe("news");
    expect(await bob.next()).toBe("news");
    await ana.send("say hello");
    expect(await bob.next()).toBe("ana: hello");
    await expect(ana.next({ timeout: 30 })).rejects.toBeInstanceOf(ReadTimeoutError);
    expect(cy.messages).toEqual([]);
  });

  it("close codes both ways: the client's reach disconnected(); the server's reach client.closed", async () => {
    const closes: Array<[number, string]> = [];
    const service = defineService({ ...echo, upgrade: undefined, disconnected: (_conn, code, reason) => void closes.push([code, reason]) });
    server = testServer({ services: { "/s": service } });
    const a = await server.connect("/s");
    expect(await a.close(4000, "bye")).toMatchObject({ code: 4000, reason: "bye", wasClean: true });
    await a.serverConnection.closed;
    expect(closes).toEqual([[4000, "bye"]]);
    const b = await server.connect("/s");
    await b.send("close me");
    expect(await b.closed).toMatchObject({ code: 4001, reason: "as asked", wasClean: true });
    // nothing more to read: next() says how it closed, read() resolves null
    await expect(b.next()).rejects.toBeInstanceOf(ConnectionClosedError);
    await expect(b.next()).rejects.toMatchObject({ code: 4001, reason: "as asked" });
    expect(await b.read()).toBeNull();
    expect(server.connections.size).toBe(0);
  });

  it("messages sent before the close are still read after it", async () => {
    const parting = defineService({
      connected(conn) {
        void conn.send("one");
        void conn.send("two");
        void conn.close(CloseCode.PolicyViolation, "done");
      },
    });
    server = testServer({ services: { "/p": parting } });
    const client = await server.connect("/p");
    expect((await client.closed).code).toBe(1008);
    expect(await client.next()).toBe("one");
    expect(await client.read()).toBe("two");
    expect(await client.read()).toBeNull();
  });

  it("server.close() closes every client with 1001 and refuses new upgrades with 503", async () => {
    server = testServer({ services: { "/echo": echo }, logger: silentLogger });
    const a = await server.connect("/echo", { headers: { cookie: "token=ana" } });
    const b = await server.connect("/echo", { headers: { cookie: "token=bob" } });
    await server.close();
    expect(await a.closed).toMatchObject({ code: 1001, wasClean: true });
    expect(await b.closed).toMatchObject({ code: 1001, wasClean: true });
    expect(server.connections.size).toBe(0);
    await expect(server.connect("/echo", { headers: { cookie: "token=cy" } })).rejects.toMatchObject({ status: 503 });
  });

  it("the server's limits apply as on any runtime (maxMessageSize → 1009)", async () => {
    server = testServer({ services: { "/echo": echo }, maxMessageSize: 16, logger: silentLogger });
    const client = await server.connect("/echo", { headers: { cookie: "token=ana" } });
    await client.send("x".repeat(17));
    expect((await client.closed).code).toBe(CloseCode.MessageTooBig);
  });

  it("refuses an unknown option by name", () => {
    expect(() => testServer({ services: { "/echo": echo }, timout: 5 } as never)).toThrow(/timout/);
  });
});

describe("@ws/core/testing: inject()", () => {
  it("connects one client to one service, with the request given", async () => {
    const client = await inject(echo, { url: "/room?room=x", headers: { cookie: "token=ana" } });
    expect(client.serverConnection.request.url).toBe("/room?room=x");
    expect(client.serverConnection.data).toEqual({ user: "ana" });
    await client.send("ping");
    expect(await client.next()).toBe("echo ping");
    expect((await client.close(4000)).code).toBe(4000);
    await expect(inject(echo, { logger: silentLogger })).rejects.toMatchObject({ status: 401, body: "no token cookie\n" });
  });
});

describe("@ws/core/testing: memoryStreamPair()", () => {
  it("carries bytes both ways, in order, and ends both sides", async () => {
    const [a, b] = memoryStreamPair();
    const got: string[] = [];
    let closed = 0;
    const events = (name: string) => ({
      data: (chunk: Uint8Array) => got.push(`${name}:${new TextDecoder().decode(chunk)}`),
      drain: () => {},
      end: () => got.push(`${name}:end`),
      close: () => void closed++,
    });
    a.start(events("a"));
    b.start(events("b"));
    a.write(new TextEncoder().encode("x"));
    a.write(new TextEncoder().encode("y"));
    b.write(new TextEncoder().encode("z"));
    a.end();
    b.end();
    for (let i = 0; i < 20; i++) await Promise.resolve();
    expect(got.filter((e) => e.startsWith("b:"))).toEqual(["b:xy", "b:end"]); // a's two writes as one chunk, then its end
    expect(got.filter((e) => e.startsWith("a:"))).toEqual(["a:z", "a:end"]);
    expect(closed).toBe(2);
  });

  it("write returns false above the high-water mark, and drain follows", async () => {
    const [a, b] = memoryStreamPair({ highWaterMark: 4 });
    let drained = 0;
    a.start({ data: () => {}, drain: () => void drained++, end: () => {}, close: () => {} });
    b.start({ data: () => {}, drain: () => {}, end: () => {}, close: () => {} });
    expect(a.write(new Uint8Array(3))).toBe(true);
    expect(a.write(new Uint8Array(3))).toBe(false);
    expect(a.bufferedAmount).toBe(6);
    for (let i = 0; i < 20; i++) await Promise.resolve();
    expect(a.bufferedAmount).toBe(0);
    expect(drained).toBe(1);
  });
});

// node:fs loaded dynamically, as in runtime-agnostic.test.ts (the core's type-check has no Node typings)
const fs = (await import("node:fs" as string)) as { readFileSync(path: string | URL, encoding: "utf8"): string };
const here = (import.meta as unknown as { url: string }).url;

describe("@ws/core/testing: the README and the TSDoc", () => {
  it("its 'Testing your service' example is test/readme-testing.test.ts, verbatim (so it runs with the suite)", () => {
    const readme = fs.readFileSync(new URL("../../../README.md", here), "utf8");
    const section = readme.slice(readme.indexOf("\n## Testing your service"));
    const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block).toBe(fs.readFileSync(new URL("./readme-testing.test.ts", here), "utf8"));
  });

  it("every function and class @ws/core/testing exports has TSDoc with an @example", () => {
    for (const file of ["memory-stream.ts", "test-client.ts", "test-server.ts"]) {
      const text = fs.readFileSync(new URL(`../src/testing/${file}`, here), "utf8");
      for (const m of text.matchAll(/^export (?:async )?(?:function|class) (\w+)/gm)) {
        const before = text.slice(0, m.index);
        const doc = before.slice(before.lastIndexOf("/**"));
        expect(doc.trimEnd().endsWith("*/") && doc.includes("@example"), `${file}: ${m[1]}`).toBe(true);
      }
    }
  });
});
