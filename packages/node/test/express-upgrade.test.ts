/**
 * Issue 23 part 3, Express: Express middleware (cookie-parser, express-session, an auth middleware) runs before the
 * upgrade decision (`expressUpgrade(app, ws)`); the session's user reaches conn.data through the service's gate; an
 * unauthenticated upgrade gets the middleware's status, headers and body at the client (HandshakeError); plain
 * routes keep working; topics and graceful shutdown work.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { AddressInfo } from "node:net";
import type * as http from "node:http";
import express from "express";
import cookieParser from "cookie-parser";
import session from "express-session";
import { attach, connect, defineService, expressUpgrade, HandshakeError, type AttachedServer, type Connection, type Logger, type UpgradeRequest } from "../src/index.ts";

declare module "express-session" {
  interface SessionData {
    user: string;
  }
}

const silentLogger: Logger = { info() {}, warn() {}, error() {} };

interface User {
  name: string;
  team: string;
}

function nextMessage(conn: Connection): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no message within 5 s")), 5000);
    conn.onMessage((m) => {
      clearTimeout(timer);
      resolve(m);
    });
  });
}

async function refusal(connecting: Promise<Connection>): Promise<HandshakeError> {
  try {
    const conn = await connecting;
    conn.drop();
  } catch (e) {
    expect(e).toBeInstanceOf(HandshakeError);
    return e as HandshakeError;
  }
  throw new Error("the handshake succeeded");
}

const chat = defineService<User>({
  // what the middleware left on the request: the same object as req.raw
  upgrade(req: UpgradeRequest<express.Request>) {
    const raw = req.raw!;
    return { data: { name: raw.session.user ?? "?", team: String(raw.signedCookies.team ?? "none") } };
  },
  connected(conn) {
    conn.subscribe("room");
    void conn.send(`hello ${conn.data.name} of ${conn.data.team}`);
  },
  received(message, conn) {
    conn.publish("room", `${conn.data.name}: ${String(message)}`);
  },
});

let server: http.Server | undefined;
let ws: AttachedServer | undefined;
afterEach(async () => {
  await ws?.close({ timeout: 1000 });
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = ws = undefined;
});

async function start(): Promise<{ base: string; http: string; ws: AttachedServer; login(name: string): Promise<string> }> {
  const app = express();
  app.use(cookieParser("cookie secret"));
  app.use(session({ secret: "session secret", resave: false, saveUninitialized: false }));
  app.get("/login", (req, res) => {
    req.session.user = String(req.query.name);
    res.cookie("team", "blue", { signed: true });
    res.send("logged in");
  });
  app.get("/", (_req, res) => void res.send("plain root"));
  app.use("/chat", (req, res, next) => {
    if (req.session.user) return next();
    res.status(401).set("WWW-Authenticate", "Session").json({ error: "log in first" });
  });
  server = app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server!.once("listening", () => resolve()));
  ws = attach({ noServer: true, services: { "/chat": chat }, logger: silentLogger, closeTimeout: 2000 });
  server.on("upgrade", expressUpgrade(app, ws));
  const port = (server.address() as AddressInfo).port;
  const httpBase = `http://127.0.0.1:${port}`;
  return {
    base: `ws://127.0.0.1:${port}`,
    http: httpBase,
    ws,
    async login(name) {
      const res = await fetch(`${httpBase}/login?name=${name}`);
      expect(await res.text()).toBe("logged in");
      return res.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
    },
  };
}

describe("Express middleware before the upgrade decision (expressUpgrade)", () => {
  it("an upgrade with a session succeeds, and the session's user and a signed cookie reach conn.data", async () => {
    const { base, login } = await start();
    const cookie = await login("ana");
    const conn = await connect(`${base}/chat`, { headers: { cookie } });
    expect(await nextMessage(conn)).toBe("hello ana of blue");
    await conn.close();
  });

  it("without a session: the middleware's status, headers and body at the client", async () => {
    const { base, ws: server } = await start();
    const error = await refusal(connect(`${base}/chat`));
    expect(error.status).toBe(401);
    expect(error.headers.get("www-authenticate")).toBe("Session");
    expect(JSON.parse(error.body)).toEqual({ error: "log in first" });
    expect(server.connectionCount).toBe(0);
  });

  it("plain routes keep working beside it, and an upgrade to no service gets 404", async () => {
    const { base, http: httpBase, login } = await start();
    expect(await (await fetch(`${httpBase}/`)).text()).toBe("plain root");
    expect((await fetch(`${httpBase}/chat`)).status).toBe(401);
    const cookie = await login("bo");
    expect((await refusal(connect(`${base}/nowhere`, { headers: { cookie } }))).status).toBe(404);
  });

  it("topics: conn.publish and the server's publish reach the subscribers", async () => {
    const { base, login, ws: server } = await start();
    const ana = await connect(`${base}/chat`, { headers: { cookie: await login("ana") } });
    expect(await nextMessage(ana)).toBe("hello ana of blue");
    const bo = await connect(`${base}/chat`, { headers: { cookie: await login("bo") } });
    expect(await nextMessage(bo)).toBe("hello bo of blue");
    const toAna = nextMessage(ana);
    await bo.send("hi");
    expect(await toAna).toBe("bo: hi");
    const both = [nextMessage(ana), nextMessage(bo)];
    server.publish("room", "from the server");
    expect(await Promise.all(both)).toEqual(["from the server", "from the server"]);
    await ana.close();
    await bo.close();
  });

  it("graceful shutdown: ws.close() closes the connections with 1001, then the server stops", async () => {
    const { base, login, ws: server } = await start();
    const conn = await connect(`${base}/chat`, { headers: { cookie: await login("ana") } });
    expect(await nextMessage(conn)).toBe("hello ana of blue");
    await server.close();
    expect((await conn.closed).code).toBe(1001);
    expect(server.connectionCount).toBe(0);
  });

  it("a middleware that fails gives 500, and one that never answers is cut at handshakeTimeout", async () => {
    const app = express();
    app.use("/boom", () => {
      throw new Error("boom");
    });
    app.use("/stall", () => {});
    server = app.listen(0, "127.0.0.1");
    await new Promise<void>((resolve) => server!.once("listening", () => resolve()));
    ws = attach({ noServer: true, services: { "/boom": chat, "/stall": chat }, logger: silentLogger, handshakeTimeout: 300 });
    server.on("upgrade", expressUpgrade(app, ws));
    const base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
    expect((await refusal(connect(`${base}/boom`))).status).toBe(500);
    const stalled = await refusal(connect(`${base}/stall`, { handshakeTimeout: 60_000 }));
    expect(stalled.status).toBeUndefined(); // no response: the socket was destroyed
  });
});
