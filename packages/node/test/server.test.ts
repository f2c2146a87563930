import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import * as http from "node:http";
import { attach, connect, CloseCode, defineService, serve, silentLogger, type ServeHandle } from "../src/index.ts";
import { clientFrame, rawUpgrade, selfSignedCert, upgradeHeaders, waitFor } from "./helpers.ts";

const echo = defineService({
  protocols: ["echo", "chat"],
  received(message, conn) {
    void conn.send(message);
  },
});

let servers: ServeHandle[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close({ timeout: 500 })));
  servers = [];
});

async function start(options: Parameters<typeof serve>[0]): Promise<ServeHandle> {
  const s = await serve({ host: "127.0.0.1", logger: silentLogger, ...options });
  servers.push(s);
  return s;
}

function openWs(url: string, protocols?: string | string[], options?: WebSocket.ClientOptions): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols, options);
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

describe("serve() with the ws client", () => {
  it("echoes text and binary and negotiates the subprotocol the client prefers", async () => {
    const s = await start({ services: { "/echo": echo } });
    const ws = await openWs(`${s.url}/echo`, ["chat", "echo"]);
    expect(ws.protocol).toBe("chat");
    const got: Array<[boolean, string]> = [];
    const done = new Promise<void>((resolve) =>
      ws.on("message", (data, isBinary) => {
        got.push([isBinary, isBinary ? (data as Buffer).toString("hex") : data.toString()]);
        if (got.length === 2) resolve();
      }),
    );
    ws.send("héllo 👋");
    ws.send(Buffer.from([0, 1, 2, 255]));
    await waitFor(done, 5000, "echoes");
    expect(got).toEqual([[false, "héllo 👋"], [true, "000102ff"]]);
    ws.close();
  });

  it("answers an unknown path with 404 and closes the socket", async () => {
    const s = await start({ services: { "/echo": echo } });
    const { head, socket } = await rawUpgrade(s.port, "/nowhere", upgradeHeaders);
    expect(head.split("\r\n")[0]).toBe("HTTP/1.1 404 Not Found");
    await waitFor(new Promise((r) => socket.once("close", r)), 5000, "socket close");
  });

  it("answers a wrong version with 426 and Sec-WebSocket-Version: 13, a bad key with 400", async () => {
    const s = await start({ services: { "/echo": echo } });
    const wrongVersion = await rawUpgrade(s.port, "/echo", { ...upgradeHeaders, "Sec-WebSocket-Version": "8" });
    expect(wrongVersion.head).toMatch(/^HTTP\/1\.1 426 /);
    expect(wrongVersion.head).toMatch(/\r\nSec-WebSocket-Version: 13(\r\n|$)/);
    const badKey = await rawUpgrade(s.port, "/echo", { ...upgradeHeaders, "Sec-WebSocket-Key": "c2hvcnQ=" });
    expect(badKey.head).toMatch(/^HTTP\/1\.1 400 /);
  });

  it("refuses an upgrade with the gate's status and attaches the gate's data", async () => {
    const gated = defineService<{ user: string }>({
      upgrade(req) {
        const token = new URL(req.url, "http://x").searchParams.get("token");
        if (token !== "secret") return { reject: 401, reason: "bad token" };
        return { data: { user: "ada" }, headers: { "X-Hello": "world" } };
      },
      connected(conn) {
        void conn.send(`hi ${conn.data.user}`);
      },
    });
    const s = await start({ services: { "/gated": gated } });
    const refused = await rawUpgrade(s.port, "/gated?token=nope", upgradeHeaders);
    expect(refused.head).toMatch(/^HTTP\/1\.1 401 /);
    const accepted = await rawUpgrade(s.port, "/gated?token=secret", upgradeHeaders);
    expect(accepted.head).toMatch(/^HTTP\/1\.1 101 /);
    expect(accepted.head).toContain("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    expect(accepted.head).toContain("X-Hello: world");
    // the greeting may arrive in the same TCP segment as the 101: listen before the open event
    const ws = new WebSocket(`${s.url}/gated?token=secret`);
    const first = await waitFor(new Promise<string>((r) => ws.once("message", (d) => r(d.toString()))), 5000, "greeting");
    expect(first).toBe("hi ada");
    ws.close();
  });

  it("drops a silent client with 1006 after the connection timeout (keepalive)", async () => {
    let disconnected: [number, string] | null = null;
    const closed = new Promise<void>((resolve) => {
      const svc = defineService({
        idleTimeout: 1000,
        disconnected(_conn, code, reason) {
          disconnected = [code, reason];
          resolve();
        },
      });
      void start({ services: { "/ka": svc } }).then(async (s) => {
        const { socket } = await rawUpgrade(s.port, "/ka", upgradeHeaders);
        socket.on("data", () => {}); // reads the pings, never answers
      });
    });
    await waitFor(closed, 5000, "keepalive drop");
    expect(disconnected![0]).toBe(CloseCode.AbnormalClosure);
  });

  it("keeps a client that answers pings (the ws client pongs automatically)", async () => {
    const svc = defineService({ idleTimeout: 1000 });
    const s = await start({ services: { "/ka": svc } });
    const ws = await openWs(`${s.url}/ka`);
    let pings = 0;
    ws.on("ping", () => pings++);
    await new Promise((r) => setTimeout(r, 1200));
    expect(ws.readyState).toBe(WebSocket.OPEN);
    expect(pings).toBeGreaterThanOrEqual(1);
    ws.close();
  });

  it("close() sends 1001 Going Away to every client and waits for their answers", async () => {
    const s = await serve({ host: "127.0.0.1", logger: silentLogger, services: { "/echo": echo } });
    const clients = await Promise.all([openWs(`${s.url}/echo`), openWs(`${s.url}/echo`)]);
    expect(s.connectionCount).toBe(2);
    const codes = clients.map((ws) => new Promise<number>((r) => ws.once("close", (code) => r(code))));
    await s.close({ timeout: 2000 });
    expect(await Promise.all(codes)).toEqual([1001, 1001]);
    expect(s.connectionCount).toBe(0);
  });

  it("closes a peer that sends a protocol error with 1002 and keeps serving others", async () => {
    const s = await start({ services: { "/echo": echo } });
    const { socket } = await rawUpgrade(s.port, "/echo", upgradeHeaders);
    const received: Buffer[] = [];
    socket.on("data", (c) => received.push(c));
    socket.write(clientFrame(0x3, Buffer.alloc(0))); // reserved opcode
    await waitFor(new Promise((r) => socket.once("close", r)), 5000, "close after protocol error");
    const bytes = Buffer.concat(received);
    expect(bytes[0]).toBe(0x88);
    expect(bytes.readUInt16BE(2)).toBe(1002);
    const ws = await openWs(`${s.url}/echo`);
    ws.close();
  });

  it("attach() shares an existing http server's port with its ordinary routes", async () => {
    const server = http.createServer((_req, res) => res.end("plain http"));
    const ws = attach(server, { services: { "/echo": echo }, logger: silentLogger });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    const body = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    expect(body).toBe("plain http");
    const client = await openWs(`ws://127.0.0.1:${port}/echo`);
    const echoed = new Promise<string>((r) => client.once("message", (d) => r(d.toString())));
    client.send("through attach");
    expect(await waitFor(echoed, 5000, "echo")).toBe("through attach");
    client.close();
    await ws.close({ timeout: 500 });
    await new Promise((r) => server.close(r));
  });

  it("enforces maxPayload with 1009", async () => {
    const s = await start({ services: { "/echo": echo }, maxPayload: 1000 });
    const ws = await openWs(`${s.url}/echo`);
    const code = new Promise<number>((r) => ws.once("close", (c) => r(c)));
    ws.send(Buffer.alloc(1001));
    expect(await waitFor(code, 5000, "close")).toBe(1009);
  });

  it("refuses upgrades beyond maxConnections with 503", async () => {
    const s = await start({ services: { "/echo": echo }, maxConnections: 1 });
    const first = await openWs(`${s.url}/echo`);
    const second = await rawUpgrade(s.port, "/echo", upgradeHeaders);
    expect(second.head).toMatch(/^HTTP\/1\.1 503 /);
    first.close();
  });
});

describe("connect(): the Node client", () => {
  it("talks to the server over ws:// with the same Connection API", async () => {
    const s = await start({ services: { "/echo": echo } });
    const conn = await connect(`${s.url}/echo`, { protocols: ["echo"], logger: silentLogger });
    expect(conn.protocol).toBe("echo");
    await conn.send("ping over ws");
    expect(await conn.read({ timeout: 5000 })).toBe("ping over ws");
    const big = new Uint8Array(200_000).map((_, i) => i & 0xff);
    await conn.send(big);
    const back = (await conn.read({ timeout: 5000 })) as Uint8Array;
    expect(Buffer.from(back).equals(Buffer.from(big))).toBe(true);
    const info = await conn.close(1000, "done");
    expect(info.code).toBe(1000);
  });

  it("serves and connects over wss:// with a self-signed certificate", async () => {
    const tls = selfSignedCert();
    const s = await start({ services: { "/echo": echo }, tls });
    expect(s.url.startsWith("wss://")).toBe(true);
    const conn = await connect(`wss://127.0.0.1:${s.port}/echo`, { tls: { ca: tls.cert }, logger: silentLogger });
    await conn.send("secure hello");
    expect(await conn.read({ timeout: 5000 })).toBe("secure hello");
    await conn.close();
    // and a third-party client over TLS
    const ws = await openWs(`wss://127.0.0.1:${s.port}/echo`, undefined, { ca: tls.cert });
    const echoed = new Promise<string>((r) => ws.once("message", (d) => r(d.toString())));
    ws.send("ws over tls");
    expect(await waitFor(echoed, 5000, "wss echo")).toBe("ws over tls");
    ws.close();
  });

  it("rejects a connection to a path without a service, with the status", async () => {
    const s = await start({ services: { "/echo": echo } });
    await expect(connect(`${s.url}/missing`, { logger: silentLogger })).rejects.toMatchObject({ status: 404 });
  });

  it("sees the server's 1001 on shutdown through onClose and closed", async () => {
    const s = await serve({ host: "127.0.0.1", logger: silentLogger, services: { "/echo": echo } });
    const conn = await connect(`${s.url}/echo`, { logger: silentLogger });
    let viaHandler = 0;
    conn.onClose((code) => (viaHandler = code));
    await s.close({ timeout: 2000 });
    const info = await waitFor(conn.closed, 5000, "client closed");
    expect(info.code).toBe(1001);
    expect(viaHandler).toBe(1001);
  });
});

describe("received messages over a Node socket", () => {
  it("a message assembled from several reads is a plain Uint8Array over memory of its own, intact", async () => {
    const { socketByteStream } = await import("@ws/node-http");
    const stream = socketByteStream(new (await import("node:net")).Socket());
    const fresh = stream.allocateMessage!(100_000);
    expect(Object.getPrototypeOf(fresh)).toBe(Uint8Array.prototype); // not a Buffer: slice() copies
    expect(fresh.byteOffset).toBe(0);
    expect(fresh.buffer.byteLength).toBe(100_000); // not a slice of Buffer's shared pool
    let got: Uint8Array | null = null;
    const s = await start({
      services: {
        "/keep": defineService({
          received(message, conn) {
            if (typeof message !== "string") got = message;
            void conn.send("ok");
          },
        }),
      },
    });
    const ws = await openWs(`${s.url}/keep`);
    const payload = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 7 + (i >> 9)) & 0xff);
    const reply = new Promise((resolve) => ws.once("message", resolve));
    ws.send(payload);
    await reply;
    ws.close();
    const m = got as Uint8Array | null;
    expect(m).not.toBeNull();
    expect(Object.getPrototypeOf(m)).toBe(Uint8Array.prototype);
    expect(m!.buffer.byteLength).toBe(payload.length);
    expect(Buffer.compare(Buffer.from(m!), Buffer.from(payload))).toBe(0);
  });
});
