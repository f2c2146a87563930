/**
 * Issue 23 part 3: @ws/fastify with the real Fastify. The upgrade goes through Fastify's router: the route's hooks
 * (onRequest, preValidation, preHandler; decorators like request.user) run before the upgrade decision, and their
 * reply is the refusal the client gets (status, headers, body: HandshakeError); the data they set reaches conn.data;
 * plain routes keep working; topics work; fastify.close() closes the connections with 1001.
 */
import { afterEach, describe, expect, it } from "vitest";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { connect, HandshakeError, type Connection, type Logger } from "@ws/node";
import { defineService, webSocket, type WebSocketChoice } from "../src/index.ts";

declare module "fastify" {
  interface FastifyRequest {
    user?: string;
  }
}

const silentLogger: Logger = { info() {}, warn() {}, error() {} };

interface User {
  name: string;
}

/** The next message a connection receives, within 5 s. */
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

/** Auth from a cookie, as an app would do it: sets request.user, or replies 401 with a header and a JSON body. */
async function auth(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const user = /(?:^|; )user=([^;]+)/.exec(request.headers.cookie ?? "")?.[1];
  if (!user) {
    await reply.code(401).header("www-authenticate", "Cookie").header("x-why", "no session").send({ error: "log in first" });
    return;
  }
  request.user = user;
}

const chat = defineService<User>({
  connected(conn) {
    conn.subscribe("room");
    void conn.send(`hello ${conn.data.name}`);
  },
  received(message, conn) {
    conn.publish("room", `${conn.data.name}: ${String(message)}`);
  },
});

const open = defineService({ connected: (conn) => void conn.send("open to all") });

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** A Fastify app: the plugin, an auth hook in an encapsulated context with the chat route, and plain routes. */
async function start(): Promise<{ app: FastifyInstance; base: string; http: string }> {
  const fastify = Fastify();
  await fastify.register(webSocket, { logger: silentLogger, closeTimeout: 2000 });
  fastify.get("/", () => "plain root");
  await fastify.register(async (secured) => {
    secured.addHook("preValidation", auth);
    secured.get(
      "/chat",
      { websocket: (request): WebSocketChoice<User> => ({ service: chat, data: { name: request.user! } }) },
      (request) => ({ plain: true, user: request.user }),
    );
  });
  fastify.get("/open", { websocket: open }, () => "open over HTTP"); // outside the auth hook's context
  fastify.get("/page", () => "just a page");
  await fastify.listen({ port: 0, host: "127.0.0.1" });
  const port = (fastify.server.address() as { port: number }).port;
  app = fastify;
  return { app: fastify, base: `ws://127.0.0.1:${port}`, http: `http://127.0.0.1:${port}` };
}

describe("@ws/fastify", () => {
  it("runs the route's hooks before the upgrade: request.user reaches conn.data", async () => {
    const { base } = await start();
    const conn = await connect(`${base}/chat`, { headers: { cookie: "user=ana" } });
    expect(await nextMessage(conn)).toBe("hello ana");
    await conn.close();
    // encapsulation: the auth hook of /chat's context does not run for /open
    const other = await connect(`${base}/open`);
    expect(await nextMessage(other)).toBe("open to all");
    await other.close();
  });

  it("a hook that never answers is cut at handshakeTimeout: the socket is destroyed, no connection", async () => {
    const fastify = Fastify();
    await fastify.register(webSocket, { logger: silentLogger, handshakeTimeout: 300 });
    fastify.addHook("onRequest", (_request, _reply, _done) => {}); // never calls done
    fastify.get("/stall", { websocket: open }, () => "stall");
    await fastify.listen({ port: 0, host: "127.0.0.1" });
    app = fastify;
    const error = await refusal(connect(`ws://127.0.0.1:${(fastify.server.address() as { port: number }).port}/stall`, { handshakeTimeout: 60_000 }));
    expect(error.status).toBeUndefined(); // no response: the socket was destroyed
    expect(fastify.websocketServer.connectionCount).toBe(0);
  });

  it("a hook's reply is the refusal: its status, headers and body at the client", async () => {
    const { base, app: fastify } = await start();
    const error = await refusal(connect(`${base}/chat`));
    expect(error.status).toBe(401);
    expect(error.headers.get("www-authenticate")).toBe("Cookie");
    expect(error.headers.get("x-why")).toBe("no session");
    expect(JSON.parse(error.body)).toEqual({ error: "log in first" });
    expect(fastify.websocketServer.connectionCount).toBe(0);
  });

  it("plain HTTP keeps working: the websocket route's handler, and plain routes beside it", async () => {
    const { http } = await start();
    expect(await (await fetch(`${http}/`)).text()).toBe("plain root");
    expect(await (await fetch(`${http}/page`)).text()).toBe("just a page");
    expect(await (await fetch(`${http}/chat`, { headers: { cookie: "user=bo" } })).json()).toEqual({ plain: true, user: "bo" });
    expect((await fetch(`${http}/chat`)).status).toBe(401);
    expect(await (await fetch(`${http}/open`)).text()).toBe("open over HTTP");
  });

  it("an upgrade to a route without websocket, or to no route, gets 404", async () => {
    const { base } = await start();
    expect((await refusal(connect(`${base}/page`))).status).toBe(404);
    expect((await refusal(connect(`${base}/nowhere`))).status).toBe(404);
  });

  it("topics: conn.publish and fastify.websocketServer.publish reach the subscribers", async () => {
    const { base, app: fastify } = await start();
    const ana = await connect(`${base}/chat`, { headers: { cookie: "user=ana" } });
    expect(await nextMessage(ana)).toBe("hello ana");
    const bo = await connect(`${base}/chat`, { headers: { cookie: "user=bo" } });
    expect(await nextMessage(bo)).toBe("hello bo");
    const toAna = nextMessage(ana);
    await bo.send("hi");
    expect(await toAna).toBe("bo: hi");
    const both = [nextMessage(ana), nextMessage(bo)];
    fastify.websocketServer.publish("room", "from the server");
    expect(await Promise.all(both)).toEqual(["from the server", "from the server"]);
    await ana.close();
    await bo.close();
  });

  it("the service's own gate still runs after the hooks, and a route's function may refuse with a reply", async () => {
    const fastify = Fastify();
    await fastify.register(webSocket, { logger: silentLogger });
    const gated = defineService<User>({
      upgrade: (req) => (req.query.get("ok") === "1" ? undefined : { reject: 403, reason: "the gate says no" }),
      connected: (conn) => void conn.send(`in as ${conn.data.name}`),
    });
    fastify.get(
      "/gated",
      {
        websocket: (request, reply) => {
          if (request.headers["x-banned"]) {
            void reply.code(451).header("x-banned", "yes").send("banned");
            return undefined;
          }
          return { service: gated, data: { name: "cy" } };
        },
      },
      () => "gated",
    );
    await fastify.listen({ port: 0, host: "127.0.0.1" });
    app = fastify;
    const base = `ws://127.0.0.1:${(fastify.server.address() as { port: number }).port}`;
    const conn = await connect(`${base}/gated?ok=1`);
    expect(await nextMessage(conn)).toBe("in as cy");
    await conn.close();
    expect((await refusal(connect(`${base}/gated`))).status).toBe(403);
    const banned = await refusal(connect(`${base}/gated?ok=1`, { headers: { "x-banned": "1" } }));
    expect(banned.status).toBe(451);
    expect(banned.headers.get("x-banned")).toBe("yes");
    expect(banned.body).toBe("banned");
  });

  it("fastify.close() closes the WebSockets with 1001 and resolves", async () => {
    const { base, app: fastify } = await start();
    const conn = await connect(`${base}/chat`, { headers: { cookie: "user=ana" } });
    expect(await nextMessage(conn)).toBe("hello ana");
    expect(fastify.websocketServer.connectionCount).toBe(1);
    await fastify.close();
    app = undefined;
    const { code } = await conn.closed;
    expect(code).toBe(1001);
    expect(fastify.websocketServer.connectionCount).toBe(0);
  });

  it("refuses a websocket option on a route that is not GET, and a websocket option that is not a service", async () => {
    const fastify = Fastify();
    await fastify.register(webSocket, { logger: silentLogger });
    expect(() => fastify.post("/x", { websocket: chat }, () => "x")).toThrow(/GET/);
    // @ts-expect-error not a service
    expect(() => fastify.get("/y", { websocket: 42 }, () => "y")).toThrow(TypeError);
    await fastify.close();
  });
});
