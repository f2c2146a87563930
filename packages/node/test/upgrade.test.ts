/**
 * The upgrade path on a shared node:http server (issue 15): attach() beside another library's WebSocket
 * endpoint (ws), noServer-style routing by hand, shouldHandle; what the upgrade request carries (query,
 * cookies, the IncomingMessage); path parameters and resolve, end to end.
 */
import { afterEach, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import * as http from "node:http";
import type { Duplex } from "node:stream";
import { attach, defineService, silentLogger, type Connection, type NodeUpgradeRequest } from "../src/index.ts";
import { rawUpgrade, upgradeHeaders, waitFor } from "./helpers.ts";

/** Answers every message with `${name}:${message}`, so a reply says which server it came from. */
const ours = defineService({
  received(message, conn) {
    void conn.send(`ours:${String(message)}`);
  },
});

/** A ws server with no server of its own (noServer) that answers `legacy:${message}`. */
function legacyServer(): WebSocketServer {
  const wss = new WebSocketServer({ noServer: true });
  wss.on("connection", (socket) => socket.on("message", (data) => socket.send(`legacy:${data.toString()}`)));
  return wss;
}

/** ws's own 'upgrade' listener for `/legacy` only, the way ws documents sharing a server. */
function legacyListener(wss: WebSocketServer) {
  return (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    if (new URL(req.url ?? "/", "http://x").pathname !== "/legacy") return;
    wss.handleUpgrade(req, socket, head, (client) => wss.emit("connection", client, req));
  };
}

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

async function listen(server: http.Server): Promise<number> {
  // every socket, upgraded ones included: one no listener took (left alone) would keep close() waiting
  const sockets = new Set<import("node:net").Socket>();
  server.on("connection", (socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as { port: number }).port;
}

function openWs(url: string, options?: WebSocket.ClientOptions): Promise<WebSocket> {
  const ws = new WebSocket(url, options);
  cleanups.push(() => ws.terminate());
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

async function roundTrip(url: string, text: string): Promise<string> {
  const ws = await openWs(url);
  const reply = new Promise<string>((resolve) => ws.once("message", (data) => resolve(data.toString())));
  ws.send(text);
  const got = await waitFor(reply, 5000, `reply from ${url}`);
  ws.close();
  return got;
}

/** Resolves with what the server wrote within `ms` (empty: nothing), then drops the socket. */
async function answerWithin(port: number, path: string, ms: number): Promise<string> {
  const socket = (await import("node:net")).connect(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  const lines = [`GET ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, ...Object.entries(upgradeHeaders).map(([k, v]) => `${k}: ${v}`)];
  socket.write(lines.join("\r\n") + "\r\n\r\n");
  let got = "";
  socket.on("data", (chunk: Buffer) => (got += chunk.toString("latin1")));
  await new Promise((resolve) => setTimeout(resolve, ms));
  const closed = socket.destroyed || socket.readableEnded;
  socket.destroy();
  return got || (closed ? "(closed)" : "");
}

describe("attach() beside ws on one http.Server", () => {
  for (const order of ["attach first", "ws first"] as const) {
    it(`each library answers its own path (${order}); an upgrade neither claims is left alone`, async () => {
      const server = http.createServer();
      const wss = legacyServer();
      cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
      if (order === "ws first") server.on("upgrade", legacyListener(wss));
      const handle = attach(server, { services: { "/chat": ours }, logger: silentLogger });
      cleanups.push(() => handle.close({ timeout: 500 }));
      if (order === "attach first") server.on("upgrade", legacyListener(wss));
      const port = await listen(server);

      expect(await roundTrip(`ws://127.0.0.1:${port}/chat`, "a")).toBe("ours:a");
      expect(await roundTrip(`ws://127.0.0.1:${port}/legacy`, "b")).toBe("legacy:b");
      expect(await roundTrip(`ws://127.0.0.1:${port}/chat?x=1`, "c")).toBe("ours:c");
      // nobody claims /nowhere: attach() does not answer it (ws's listener ignores it too), so no 404 is written
      expect(await answerWithin(port, "/nowhere", 200)).toBe("");
    });
  }

  it("answers 404 for an unclaimed path when it is the server's only 'upgrade' listener, and again after the other detaches", async () => {
    const server = http.createServer();
    const handle = attach(server, { services: { "/chat": ours }, logger: silentLogger });
    cleanups.push(() => handle.close({ timeout: 500 }));
    const port = await listen(server);
    const alone = await rawUpgrade(port, "/legacy", upgradeHeaders);
    alone.socket.destroy();
    expect(alone.head.split("\r\n")[0]).toBe("HTTP/1.1 404 Not Found");

    const other = legacyListener(legacyServer());
    server.on("upgrade", other);
    expect(await answerWithin(port, "/elsewhere", 150)).toBe("");
    server.off("upgrade", other);
    const again = await rawUpgrade(port, "/elsewhere", upgradeHeaders);
    again.socket.destroy();
    expect(again.head.split("\r\n")[0]).toBe("HTTP/1.1 404 Not Found");
  });

  it("shouldHandle refuses a path a pattern would claim: ws gets it; alone, the refused path is 404", async () => {
    const server = http.createServer();
    const wss = legacyServer();
    cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    const seen: string[] = [];
    const handle = attach(server, {
      services: { "/:name": ours }, // would claim /legacy too
      shouldHandle(req) {
        seen.push(req.url);
        return req.raw.headers["x-client"] !== "legacy" && !req.url.startsWith("/legacy");
      },
      logger: silentLogger,
    });
    cleanups.push(() => handle.close({ timeout: 500 }));
    server.on("upgrade", legacyListener(wss));
    const port = await listen(server);
    expect(await roundTrip(`ws://127.0.0.1:${port}/anything`, "a")).toBe("ours:a");
    expect(await roundTrip(`ws://127.0.0.1:${port}/legacy`, "b")).toBe("legacy:b");
    expect(seen).toEqual(["/anything", "/legacy"]);

    server.removeAllListeners("upgrade");
    const alone = attach(server, { services: { "/:name": ours }, shouldHandle: (req) => req.url !== "/refused", logger: silentLogger });
    cleanups.push(() => alone.close({ timeout: 500 }));
    const refused = await rawUpgrade(port, "/refused", upgradeHeaders);
    refused.socket.destroy();
    expect(refused.head.split("\r\n")[0]).toBe("HTTP/1.1 404 Not Found");
  });
});

describe("noServer: handleUpgrade from your own 'upgrade' listener", () => {
  it("routes by hand between attach({ noServer }) and ws; handleUpgrade resolves to the connection, or undefined with 404", async () => {
    const server = http.createServer();
    const wss = legacyServer();
    cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    const handle = attach({ noServer: true, services: { "/chat": ours }, logger: silentLogger });
    const onServer = attach(server, { noServer: true, services: { "/other": ours }, logger: silentLogger });
    cleanups.push(() => handle.close({ timeout: 500 }));
    cleanups.push(() => onServer.close({ timeout: 500 }));
    expect(server.listenerCount("upgrade")).toBe(0); // noServer registers nothing, with or without a server
    const handled: Array<Promise<Connection | undefined>> = [];
    server.on("upgrade", (req, socket, head) => {
      if (req.url === "/legacy") wss.handleUpgrade(req, socket, head, (client) => wss.emit("connection", client, req));
      else handled.push(handle.handleUpgrade(req, socket, head));
    });
    const port = await listen(server);

    expect(await roundTrip(`ws://127.0.0.1:${port}/chat`, "a")).toBe("ours:a");
    expect(await roundTrip(`ws://127.0.0.1:${port}/legacy`, "b")).toBe("legacy:b");
    const conn = await handled[0];
    expect(conn?.request.url).toBe("/chat");

    const missing = await rawUpgrade(port, "/other", upgradeHeaders); // registered on onServer, not on handle
    missing.socket.destroy();
    expect(missing.head.split("\r\n")[0]).toBe("HTTP/1.1 404 Not Found");
    expect(await handled[1]).toBeUndefined();
  });
});

describe("the upgrade request on Node", () => {
  it("has query, cookies (RFC 6265) and the IncomingMessage, in the gate and on conn.request during connected", async () => {
    const server = http.createServer();
    let gate: { room: string | null; tags: string[]; session?: string; theme?: string; raw: boolean; method?: string } | undefined;
    let hostInConnected: string | undefined;
    let onConnected!: (conn: Connection) => void;
    const connected = new Promise<Connection>((resolve) => (onConnected = resolve));
    const service = defineService({
      // NodeUpgradeRequest narrows `raw` to the IncomingMessage
      upgrade(req: NodeUpgradeRequest) {
        gate = {
          room: req.query.get("room"),
          tags: req.query.getAll("tag"),
          session: req.cookies.get("session"),
          theme: req.cookies.get("theme"),
          raw: req.raw instanceof http.IncomingMessage,
          method: req.raw.method,
        };
        if (req.cookies.get("session") === undefined) return { reject: 401 };
      },
      connected: (conn) => {
        hostInConnected = (conn.request.raw as http.IncomingMessage).headers.host;
        onConnected(conn);
      },
    });
    const handle = attach(server, { services: { "/chat": service }, logger: silentLogger });
    cleanups.push(() => handle.close({ timeout: 500 }));
    const port = await listen(server);

    await openWs(`ws://127.0.0.1:${port}/chat?room=lobby&tag=a&tag=b%20c`, {
      headers: { Cookie: 'session=abc=123; theme="dark"; session=second' },
    });
    expect(gate).toEqual({ room: "lobby", tags: ["a", "b c"], session: "abc=123", theme: "dark", raw: true, method: "GET" });
    const conn = await waitFor(connected, 5000, "connected");
    expect(conn.request.query.get("room")).toBe("lobby");
    expect([...conn.request.cookies]).toEqual([
      ["session", "abc=123"],
      ["theme", "dark"],
    ]);
    expect(hostInConnected).toBe(`127.0.0.1:${port}`);
    // released once connected has returned: an open connection does not keep the IncomingMessage alive
    expect(conn.request.raw).toBeUndefined();
    expect(conn.request.headers.get("host")).toBe(`127.0.0.1:${port}`);

    const refused = await rawUpgrade(port, "/chat", upgradeHeaders); // no cookie: the gate says 401
    refused.socket.destroy();
    expect(refused.head.split("\r\n")[0]).toBe("HTTP/1.1 401 Unauthorized");
  });
});

describe("the peer's address", () => {
  it("is read from the socket on first use, in the gate and on conn.request, and stays readable once the connection is closed", async () => {
    const server = http.createServer();
    let inGate: string | undefined;
    let onConnected!: (conn: Connection) => void;
    const connected = new Promise<Connection>((resolve) => (onConnected = resolve));
    const service = defineService({
      upgrade: (req) => void (inGate = `${req.remoteAddress}:${req.remotePort}`),
      connected: (conn) => onConnected(conn),
    });
    const plain = defineService({ connected: (conn) => onConnected(conn) });
    const handle = attach(server, { services: { "/gate": service, "/plain": plain }, logger: silentLogger });
    cleanups.push(() => handle.close({ timeout: 500 }));
    const port = await listen(server);
    const ws = await openWs(`ws://127.0.0.1:${port}/gate`);
    const local = (ws as unknown as { _socket: import("node:net").Socket })._socket.localPort;
    const conn = await waitFor(connected, 5000, "connected");
    expect(inGate).toBe(`127.0.0.1:${local}`);
    expect([conn.request.remoteAddress, conn.request.remotePort]).toEqual(["127.0.0.1", local]);
    // a connection whose address nobody asked for while it was open: still there after the close
    let second!: Connection;
    const secondConnected = new Promise<Connection>((resolve) => (onConnected = resolve));
    const ws2 = await openWs(`ws://127.0.0.1:${port}/plain`);
    const local2 = (ws2 as unknown as { _socket: import("node:net").Socket })._socket.localPort;
    second = await waitFor(secondConnected, 5000, "connected");
    ws2.terminate();
    await second.closed;
    expect([second.request.remoteAddress, second.request.remotePort]).toEqual(["127.0.0.1", local2]);
  });
});

describe("keepRawRequest", () => {
  for (const where of ["server", "service"] as const) {
    it(`keeps the IncomingMessage on conn.request for the connection's life (set on the ${where})`, async () => {
      const server = http.createServer();
      let onConnected!: (conn: Connection) => void;
      const connected = new Promise<Connection>((resolve) => (onConnected = resolve));
      const service = defineService({ connected: (conn) => onConnected(conn), ...(where === "service" ? { keepRawRequest: true } : {}) });
      const handle = attach(server, { services: { "/chat": service }, logger: silentLogger, ...(where === "server" ? { keepRawRequest: true } : {}) });
      cleanups.push(() => handle.close({ timeout: 500 }));
      const port = await listen(server);
      await openWs(`ws://127.0.0.1:${port}/chat`);
      const conn = await waitFor(connected, 5000, "connected");
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(conn.request.raw).toBeInstanceOf(http.IncomingMessage);
      expect((conn.request.raw as http.IncomingMessage).headers.host).toBe(`127.0.0.1:${port}`);
    });
  }

  it("a service's keepRawRequest: false wins over the server's true", async () => {
    const server = http.createServer();
    let onConnected!: (conn: Connection) => void;
    const connected = new Promise<Connection>((resolve) => (onConnected = resolve));
    const service = defineService({ connected: (conn) => onConnected(conn), keepRawRequest: false });
    const handle = attach(server, { services: { "/chat": service }, logger: silentLogger, keepRawRequest: true });
    cleanups.push(() => handle.close({ timeout: 500 }));
    const port = await listen(server);
    await openWs(`ws://127.0.0.1:${port}/chat`);
    const conn = await waitFor(connected, 5000, "connected");
    expect(conn.request.raw).toBeUndefined();
  });
});

describe("path parameters and resolve, end to end", () => {
  it("/chat/:room gives req.params to the gate and conn.request.params; exact paths first; resolve as the fallback", async () => {
    const server = http.createServer();
    const gateParams: Array<Record<string, string>> = [];
    const room = defineService({
      upgrade(req) {
        gateParams.push({ ...req.params });
        if (req.params.room === "closed") return { reject: 403 };
      },
      received(message, conn) {
        void conn.send(`room ${conn.request.params.room}: ${String(message)}`);
      },
    });
    const lobby = defineService({ received: (message, conn) => void conn.send(`the lobby: ${String(message)}`) });
    const fallback = defineService({ received: (message, conn) => void conn.send(`resolved ${conn.request.url}: ${String(message)}`) });
    const handle = attach(server, {
      services: { "/chat/:room": room, "/chat/lobby": lobby },
      resolve: (req) => (req.url.startsWith("/dyn/") ? fallback : undefined),
      logger: silentLogger,
    });
    cleanups.push(() => handle.close({ timeout: 500 }));
    const port = await listen(server);
    const base = `ws://127.0.0.1:${port}`;

    expect(await roundTrip(`${base}/chat/caf%C3%A9?x=1`, "hi")).toBe("room café: hi");
    expect(await roundTrip(`${base}/chat/lobby`, "hi")).toBe("the lobby: hi");
    expect(await roundTrip(`${base}/dyn/anything`, "hi")).toBe("resolved /dyn/anything: hi");
    expect(gateParams).toEqual([{ room: "café" }]);
    const closed = await rawUpgrade(port, "/chat/closed", upgradeHeaders);
    closed.socket.destroy();
    expect(closed.head.split("\r\n")[0]).toBe("HTTP/1.1 403 Forbidden");
    const deeper = await rawUpgrade(port, "/chat/a/b", upgradeHeaders);
    deeper.socket.destroy();
    expect(deeper.head.split("\r\n")[0]).toBe("HTTP/1.1 404 Not Found");
  });
});

describe("serve() checks its options before listening", () => {
  it("port \"abc\" is refused instead of becoming a Unix socket; serve() without options names what is missing", async () => {
    const { serve: serveNode, InvalidOptionError: Invalid } = await import("../src/index.ts");
    await expect(serveNode({ port: "abc" as never, services: {} })).rejects.toBeInstanceOf(Invalid);
    await expect(serveNode({ port: "abc" as never, services: {} })).rejects.toThrow(/port: "abc" is not allowed/);
    await expect(serveNode(undefined as never)).rejects.toThrow(/serve\(\) options: undefined is not allowed/);
  });
});
