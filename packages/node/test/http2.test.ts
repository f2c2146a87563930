/**
 * Issue 25: WebSockets over HTTP/2 (RFC 8441) on Node — serve({ tls, http2: true }) serves the extended CONNECT and
 * the HTTP/1.1 Upgrade on one port, through the same services, gate, limits and connection; attach() to an
 * http2 server; h2c. The client here is a raw one (./http2-support.ts), written from RFC 8441 §4–5.
 */
import * as http2 from "node:http2";
import * as zlib from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attach, connect, defineService, serve, type Connection, type ServeHandle } from "../src/index.ts";
import { selfSignedCert } from "./helpers.ts";
import { clientFrame, closeCode, closeFrame, h2Connect, h2Session, until } from "./http2-support.ts";

const cert = selfSignedCert();
const quiet = { error() {}, warn() {}, info() {}, debug() {} };

interface Closed {
  code: number;
  httpVersion: string;
}

function echoService(closed: Closed[] = []) {
  return defineService({
    protocols: ["chat", "superchat"],
    received: (message, conn) => void conn.send(message),
    disconnected: (conn, code) => void closed.push({ code, httpVersion: conn.request.httpVersion }),
  });
}

describe("serve({ tls, http2: true }) on Node", () => {
  let server: ServeHandle<unknown>;
  const closed: Closed[] = [];
  const versions: string[] = [];
  beforeAll(async () => {
    const echo = echoService(closed);
    server = await serve({
      hostname: "127.0.0.1",
      tls: cert,
      http2: true,
      logger: quiet,
      perMessageDeflate: true,
      maxConnections: 60,
      services: {
        "/echo": echo,
        "/version": defineService({ connected: (conn) => void versions.push(conn.request.httpVersion), received: (m, conn) => void conn.send(conn.request.httpVersion) }),
        "/gated": defineService({
          upgrade: async (req) => (req.headers.get("authorization") === "Bearer ok" ? { data: 1 } : { reject: 401, reason: "no token", headers: { "WWW-Authenticate": 'Bearer realm="chat"' } }),
          received: (m, conn) => void conn.send(m),
        }),
      },
      fetch: (request) => new Response(`plain ${new URL(request.url).pathname}`),
    });
  });
  afterAll(() => server.close());

  it("advertises SETTINGS_ENABLE_CONNECT_PROTOCOL and answers an extended CONNECT with 200, no Sec-WebSocket-Accept", async () => {
    const { session, settings } = await h2Session(`https://127.0.0.1:${server.port}`);
    expect(settings.enableConnectProtocol).toBe(true);
    const ws = await h2Connect(session, "/echo");
    expect(ws.status).toBe(200);
    expect(ws.headers["sec-websocket-accept"]).toBeUndefined();
    // frames both ways: the client's masked, the server's not
    ws.stream.write(clientFrame(0x1, Buffer.from("hello over h2")));
    const frame = await ws.next();
    expect(frame.opcode).toBe(0x1);
    expect(frame.masked).toBe(false);
    expect(frame.payload.toString()).toBe("hello over h2");
    ws.stream.write(closeFrame(1000));
    const close = await ws.next();
    expect(close.opcode).toBe(0x8);
    expect(closeCode(close)).toBe(1000);
    expect(await ws.closed).toBe(0); // the stream ended cleanly (END_STREAM both ways), not reset
    session.close();
  });

  it("tells the connection's HTTP version in conn.request.httpVersion", async () => {
    const { session } = await h2Session(`https://127.0.0.1:${server.port}`);
    const ws = await h2Connect(session, "/version");
    ws.stream.write(clientFrame(0x1, Buffer.from("?")));
    expect((await ws.next()).payload.toString()).toBe("2");
    session.close();
    const conn = await connect(`wss://127.0.0.1:${server.port}/version`, { tls: { rejectUnauthorized: false } });
    const got = new Promise<string>((resolve) => conn.onText(resolve));
    await conn.send("?");
    expect(await got).toBe("1.1");
    await conn.close();
  });

  it("carries 50 WebSockets on one session, each its own connection", async () => {
    const { session } = await h2Session(`https://127.0.0.1:${server.port}`);
    const before = server.connectionCount;
    const sockets = await Promise.all(Array.from({ length: 50 }, () => h2Connect(session, "/echo")));
    expect(sockets.map((s) => s.status)).toEqual(Array(50).fill(200));
    expect(server.connectionCount).toBe(before + 50);
    sockets.forEach((s, i) => s.stream.write(clientFrame(0x1, Buffer.from(`n${i}`))));
    const echoes = await Promise.all(sockets.map((s) => s.next()));
    expect(echoes.map((f) => f.payload.toString())).toEqual(sockets.map((_, i) => `n${i}`));
    for (const s of sockets) s.stream.write(closeFrame(1000));
    await Promise.all(sockets.map((s) => s.closed));
    await until(() => server.connectionCount === before, 2000, "the 50 connections to close");
    session.close();
  });

  it("negotiates the subprotocol and permessage-deflate as over HTTP/1.1", async () => {
    const { session } = await h2Session(`https://127.0.0.1:${server.port}`);
    const ws = await h2Connect(session, "/echo", { "sec-websocket-protocol": "superchat, chat", "sec-websocket-extensions": "permessage-deflate; client_max_window_bits" });
    expect(ws.status).toBe(200);
    expect(ws.headers["sec-websocket-protocol"]).toBe("superchat");
    expect(String(ws.headers["sec-websocket-extensions"])).toMatch(/^permessage-deflate/);
    const text = "compress me ".repeat(50);
    // a compressed message (RSV1, RFC 7692 §7.2.1: the DEFLATE block's 00 00 ff ff tail dropped): only a server
    // that agreed to permessage-deflate reads it
    const deflated = zlib.deflateRawSync(Buffer.from(text), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    const compressed = clientFrame(0x1, deflated.subarray(0, deflated.length - 4));
    compressed[0]! |= 0x40;
    ws.stream.write(compressed);
    const frame = await ws.next();
    const echoed = frame.rsv1 ? zlib.inflateRawSync(Buffer.concat([frame.payload, Buffer.from([0, 0, 0xff, 0xff])])) : frame.payload;
    expect(echoed.toString()).toBe(text);
    session.close();
  });

  it("answers the gate's refusal on the stream: its status, headers and body", async () => {
    const { session } = await h2Session(`https://127.0.0.1:${server.port}`);
    const refused = await h2Connect(session, "/gated");
    expect(refused.status).toBe(401);
    expect(refused.headers["www-authenticate"]).toBe('Bearer realm="chat"');
    expect(await refused.body()).toBe("no token\n");
    const ok = await h2Connect(session, "/gated", { authorization: "Bearer ok" });
    expect(ok.status).toBe(200);
    const missing = await h2Connect(session, "/nowhere");
    expect(missing.status).toBe(404);
    const version = await h2Connect(session, "/echo", { "sec-websocket-version": "8" });
    expect(version.status).toBe(426);
    expect(version.headers["sec-websocket-version"]).toBe("13");
    session.close();
  });

  it("refuses an extended CONNECT for another :protocol with 501", async () => {
    const { session } = await h2Session(`https://127.0.0.1:${server.port}`);
    const stream = session.request({ ":method": "CONNECT", ":protocol": "webtransport", ":scheme": "https", ":path": "/echo", ":authority": `127.0.0.1:${server.port}` }, { endStream: false });
    const status = await new Promise<number>((resolve) => stream.once("response", (h) => resolve(Number(h[":status"]))));
    expect(status).toBe(501);
    session.close();
  });

  it("still upgrades HTTP/1.1 on the same port, and answers plain requests over both versions with fetch", async () => {
    const conn = await connect(`wss://127.0.0.1:${server.port}/echo`, { tls: { rejectUnauthorized: false } });
    const got = new Promise<string>((resolve) => conn.onText(resolve));
    await conn.send("over 1.1");
    expect(await got).toBe("over 1.1");
    await conn.close();
    const { session } = await h2Session(`https://127.0.0.1:${server.port}`);
    const req = session.request({ ":path": "/page" });
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    await new Promise((resolve) => req.once("end", resolve));
    expect(Buffer.concat(chunks).toString()).toBe("plain /page");
    session.close();
  });

  it("closes a connection whose client ends the stream (END_STREAM, as a TCP FIN) with 1006", async () => {
    const { session } = await h2Session(`https://127.0.0.1:${server.port}`);
    const ws = await h2Connect(session, "/echo");
    const count = closed.length;
    ws.stream.end(); // END_STREAM without a close frame
    await until(() => closed.length > count, 2000, "the server's connection to close");
    expect(closed.at(-1)).toEqual({ code: 1006, httpVersion: "2" });
    session.close();
  });

  it("closes a connection whose client resets the stream (RST_STREAM, as a TCP reset) with 1006, and frees its slot", async () => {
    const { session } = await h2Session(`https://127.0.0.1:${server.port}`);
    const before = server.connectionCount;
    const ws = await h2Connect(session, "/echo");
    expect(server.connectionCount).toBe(before + 1);
    const count = closed.length;
    ws.stream.close(http2.constants.NGHTTP2_CANCEL);
    await until(() => closed.length > count, 2000, "the server's connection to close");
    expect(closed.at(-1)).toEqual({ code: 1006, httpVersion: "2" });
    await until(() => server.connectionCount === before, 2000, "the slot to be freed");
    session.close();
  });

  it("fails a connection whose client sends an unmasked frame with 1002 (masking is unchanged over HTTP/2)", async () => {
    const { session } = await h2Session(`https://127.0.0.1:${server.port}`);
    const ws = await h2Connect(session, "/echo");
    ws.stream.write(Buffer.from([0x81, 0x02, 0x68, 0x69])); // "hi", no mask
    const close = await ws.next();
    expect(close.opcode).toBe(0x8);
    expect(closeCode(close)).toBe(1002);
    session.close();
  });

  it("counts each WebSocket over HTTP/2 against maxConnections: past it, 503 on the stream", async () => {
    const { session } = await h2Session(`https://127.0.0.1:${server.port}`);
    const before = server.connectionCount;
    const sockets = await Promise.all(Array.from({ length: 60 - before }, () => h2Connect(session, "/echo")));
    expect(sockets.every((s) => s.status === 200)).toBe(true);
    const over = await h2Connect(session, "/echo");
    expect(over.status).toBe(503);
    // and over HTTP/1.1 on the same port too: one count for both versions
    await expect(connect(`wss://127.0.0.1:${server.port}/echo`, { tls: { rejectUnauthorized: false } })).rejects.toThrow(/503/);
    session.destroy();
    await until(() => server.connectionCount === before, 3000, "the connections of the destroyed session to close");
  });
});

describe("HTTP/2 without TLS, and attach() to a node:http2 server", () => {
  it("serve({ http2: true }) without tls speaks h2c (prior knowledge)", async () => {
    const server = await serve({ hostname: "127.0.0.1", http2: true, logger: quiet, services: { "/echo": echoService() } });
    try {
      expect(server.url).toMatch(/^ws:\/\//);
      const { session, settings } = await h2Session(`http://127.0.0.1:${server.port}`);
      expect(settings.enableConnectProtocol).toBe(true);
      const ws = await h2Connect(session, "/echo", {}, "http");
      expect(ws.status).toBe(200);
      ws.stream.write(clientFrame(0x2, Buffer.from([1, 2, 3])));
      expect([...(await ws.next()).payload]).toEqual([1, 2, 3]);
      session.close();
    } finally {
      await server.close();
    }
  });

  it("attach() to http2.createSecureServer() with its own request listener: extended CONNECT and HTTP/1.1 both", async () => {
    const h2 = http2.createSecureServer({ ...cert, allowHTTP1: true }, (_req, res) => res.end("mine"));
    const ws = attach(h2, { logger: quiet, services: { "/echo": echoService() } });
    await new Promise<void>((resolve) => h2.listen(0, "127.0.0.1", resolve));
    const port = (h2.address() as { port: number }).port;
    const opened: Connection[] = [];
    try {
      const { session, settings } = await h2Session(`https://127.0.0.1:${port}`);
      expect(settings.enableConnectProtocol).toBe(true); // attach() turned it on
      const s = await h2Connect(session, "/echo");
      expect(s.status).toBe(200);
      s.stream.write(clientFrame(0x1, Buffer.from("x")));
      expect((await s.next()).payload.toString()).toBe("x");
      // a plain CONNECT (no :protocol) is not a WebSocket: 405, as node:http2 answers it
      const plain = session.request({ ":method": "CONNECT", ":authority": "example.com:443" }, { endStream: false });
      expect(await new Promise((resolve) => plain.once("response", (h) => resolve(h[":status"])))).toBe(405);
      session.close();
      const conn = await connect(`wss://127.0.0.1:${port}/echo`, { tls: { rejectUnauthorized: false } });
      opened.push(conn);
      await until(() => [...ws.connections].some((c) => c.request.httpVersion === "1.1"), 2000, "the HTTP/1.1 connection");
      await conn.close();
    } finally {
      await ws.close();
      await new Promise((resolve) => h2.close(resolve));
    }
  });

  it("attach() to http2.createServer() with no request listener (streams only)", async () => {
    const h2 = http2.createServer();
    const ws = attach(h2, { logger: quiet, services: { "/echo": echoService() } });
    await new Promise<void>((resolve) => h2.listen(0, "127.0.0.1", resolve));
    const port = (h2.address() as { port: number }).port;
    try {
      const { session } = await h2Session(`http://127.0.0.1:${port}`);
      const s = await h2Connect(session, "/echo", {}, "http");
      expect(s.status).toBe(200);
      expect(ws.connectionCount).toBe(1);
      s.stream.write(clientFrame(0x1, Buffer.from("y")));
      expect((await s.next()).payload.toString()).toBe("y");
      session.close();
    } finally {
      await ws.close();
      await new Promise((resolve) => h2.close(resolve));
    }
  });
});

describe("the shared HTTP/2 checks (also run inside Bun and Deno)", () => {
  it("pass on Node", async () => {
    const { runHttp2Checks } = await import("./http2-checks.ts");
    const results = await runHttp2Checks({ serve: (o) => serve(o as never) as never, defineService }, cert);
    expect(results.length).toBe(5);
    expect(results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.error}`)).toEqual([]);
  }, 30_000);
});

describe("the fetch handler takes the extended CONNECTs no service claims", () => {
  it("upgrades with info.upgrade() over HTTP/2 (the gate's data and headers), or writes its Response as the refusal", async () => {
    const seen: { method: string; upgrade: string | null; version: string | null }[] = [];
    const echo = defineService<{ user: string }>({ received: (m, conn) => void conn.send(`${conn.data.user}: ${String(m)}`) });
    const server = await serve({
      hostname: "127.0.0.1",
      tls: cert,
      http2: true,
      logger: quiet,
      fetch: (request, info) => {
        seen.push({ method: request.method, upgrade: request.headers.get("upgrade"), version: request.headers.get("sec-websocket-version") });
        const path = new URL(request.url).pathname;
        if (path === "/via-fetch") return info.upgrade(request, echo, { data: { user: "ann" }, headers: { "x-served-by": "fetch" } });
        if (path === "/deny") return new Response("go away", { status: 403, headers: { "x-why": "test" } });
        return new Response("a page");
      },
    });
    try {
      const { session } = await h2Session(`https://127.0.0.1:${server.port}`);
      const ws = await h2Connect(session, "/via-fetch");
      expect(ws.status).toBe(200);
      expect(ws.headers["x-served-by"]).toBe("fetch");
      ws.stream.write(clientFrame(0x1, Buffer.from("hi")));
      expect((await ws.next()).payload.toString()).toBe("ann: hi");
      expect([...server.connections][0]!.request.httpVersion).toBe("2");
      const denied = await h2Connect(session, "/deny");
      expect(denied.status).toBe(403);
      expect(denied.headers["x-why"]).toBe("test");
      expect(await denied.body()).toBe("go away");
      // a 2xx that did not upgrade: the server's 404, as over HTTP/1.1
      const page = await h2Connect(session, "/page");
      expect(page.status).toBe(404);
      // the handler saw each as a WebSocket request: a GET with Upgrade: websocket
      expect(seen[0]).toEqual({ method: "GET", upgrade: "websocket", version: "13" });
      session.close();
    } finally {
      await server.close({ timeout: 500 });
    }
  });
});
