/**
 * Client libraries that take a WebSocket implementation, driven with ours against our server and `ws`'s,
 * including a reconnect after the server restarts on the same port: reconnecting-websocket (option
 * `WebSocket`) and graphql-ws (`webSocketImpl`), the latter against a minimal graphql-transport-ws service
 * written with defineService and against graphql-ws's own server (useServer on ws).
 */
import { describe, expect, it } from "vitest";
import reconnecting from "reconnecting-websocket";
import { createClient } from "graphql-ws";
import { useServer } from "graphql-ws/use/ws";
import { createRequire } from "node:module";
import { WebSocketServer } from "ws";
import { defineService, serve, silentLogger, WebSocket, type Service } from "../src/index.ts";

// graphql as Node resolves it for graphql-ws (its CommonJS main), not the "module" build vitest would pick:
// a schema from a second copy of graphql is refused ("from another module or realm")
const { buildSchema } = createRequire(import.meta.url)("graphql") as typeof import("graphql");

// a CommonJS module with `exports.default`: Node's ESM gives the exports object, vitest's interop the class
type ReconnectingClass = typeof reconnecting.default;
const ReconnectingWebSocket: ReconnectingClass = (reconnecting as unknown as { default?: ReconnectingClass }).default ?? (reconnecting as unknown as ReconnectingClass);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function until(what: string, cond: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A server that can be stopped and started again on the same port; `generation` counts the starts. */
interface Restartable {
  url: string;
  generation: number;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Our server: `service(generation)` on `path`. */
async function ourServer(path: string, service: (generation: number) => Service<unknown>): Promise<Restartable> {
  let generation = 1;
  let handle = await serve({ port: 0, hostname: "127.0.0.1", logger: silentLogger, services: { [path]: service(generation) } });
  const port = handle.port;
  const server: Restartable = {
    url: `ws://127.0.0.1:${port}${path}`,
    generation,
    async restart() {
      await handle.close({ code: 1001, reason: "restarting", timeout: 200 });
      server.generation = ++generation;
      handle = await serve({ port, hostname: "127.0.0.1", logger: silentLogger, services: { [path]: service(generation) } });
    },
    stop: () => handle.close({ timeout: 200 }),
  };
  return server;
}

/** ws's server: `start(wss, generation)` sets it up. */
async function wsServer(path: string, start: (wss: WebSocketServer, generation: number) => void): Promise<Restartable> {
  let generation = 1;
  const listen = async (port: number) => {
    const wss = new WebSocketServer({ port, host: "127.0.0.1", path });
    start(wss, generation);
    await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
    return wss;
  };
  let wss = await listen(0);
  const { port } = wss.address() as { port: number };
  const stop = () => {
    for (const c of wss.clients) c.terminate();
    return new Promise<void>((resolve) => wss.close(() => resolve()));
  };
  const server: Restartable = {
    url: `ws://127.0.0.1:${port}${path}`,
    generation,
    async restart() {
      await stop();
      server.generation = ++generation;
      wss = await listen(port);
    },
    stop,
  };
  return server;
}

// ------------------------------------------------------------------------------------- reconnecting-websocket

const echoService = (generation: number) =>
  defineService({ received: (m, conn) => void conn.send(typeof m === "string" ? `${generation}:${m}` : m) }) as Service<unknown>;

const wsEcho = (wss: WebSocketServer, generation: number) =>
  wss.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(isBinary ? data : `${generation}:${data.toString()}`)));

async function reconnectingEcho(server: Restartable): Promise<void> {
  const rws = new ReconnectingWebSocket(server.url, [], {
    WebSocket,
    minReconnectionDelay: 20,
    maxReconnectionDelay: 100,
    reconnectionDelayGrowFactor: 1.3,
    connectionTimeout: 2000,
    maxRetries: 50,
  });
  const got: string[] = [];
  let opens = 0;
  rws.addEventListener("open", () => void opens++);
  rws.addEventListener("message", (e: { data: unknown }) => void got.push(String(e.data)));
  try {
    await until("the first open", () => opens === 1);
    rws.send("one");
    await until("the first echo", () => got.length === 1);
    await server.restart();
    await until("the reopen", () => opens === 2 && rws.readyState === WebSocket.OPEN);
    rws.send("two");
    await until("the second echo", () => got.length === 2);
    expect(got).toEqual(["1:one", "2:two"]);
  } finally {
    rws.close();
    await server.stop();
  }
}

describe("reconnecting-websocket over our WebSocket", () => {
  it("echoes, reconnects after our server restarts, echoes again", async () => {
    await reconnectingEcho(await ourServer("/echo", echoService));
  });
  it("the same against ws's server", async () => {
    await reconnectingEcho(await wsServer("/echo", wsEcho));
  });
});

// ------------------------------------------------------------------------------------------------ graphql-ws

/**
 * A minimal graphql-transport-ws server (the subset graphql-ws's client needs): connection_init → connection_ack,
 * ping → pong, subscribe → next … (a "ticks" subscription: one every 20 ms until the client completes it),
 * complete. Queries are not parsed: any subscribe is the ticks subscription.
 */
const graphqlService = (generation: number) => {
  const timers = new Map<unknown, Map<string, ReturnType<typeof setInterval>>>();
  return defineService({
    protocols: ["graphql-transport-ws"],
    connected: (conn) => void timers.set(conn, new Map()),
    disconnected: (conn) => {
      for (const t of timers.get(conn)?.values() ?? []) clearInterval(t);
      timers.delete(conn);
    },
    received(message, conn) {
      const msg = JSON.parse(String(message)) as { type: string; id?: string };
      const mine = timers.get(conn)!;
      if (msg.type === "connection_init") return void conn.send(JSON.stringify({ type: "connection_ack" }));
      if (msg.type === "ping") return void conn.send(JSON.stringify({ type: "pong" }));
      if (msg.type === "subscribe") {
        let n = 0;
        const id = msg.id!;
        mine.set(id, setInterval(() => void conn.send(JSON.stringify({ type: "next", id, payload: { data: { ticks: `${generation}:${++n}` } } })), 20));
      }
      if (msg.type === "complete") {
        clearInterval(mine.get(msg.id!));
        mine.delete(msg.id!);
      }
    },
  }) as Service<unknown>;
};

/** graphql-ws's own server on ws, with a ticks subscription from the schema's root. */
const graphqlWsServer = (wss: WebSocketServer, generation: number) => {
  const schema = buildSchema("type Query { hello: String } type Subscription { ticks: String }");
  useServer(
    {
      schema,
      roots: {
        subscription: {
          ticks: async function* () {
            for (let n = 1; ; n++) {
              await sleep(20);
              yield { ticks: `${generation}:${n}` };
            }
          },
        },
      },
    },
    wss,
  );
};

async function graphqlReconnect(server: Restartable): Promise<void> {
  const client = createClient({
    url: server.url,
    webSocketImpl: WebSocket,
    retryAttempts: 20,
    retryWait: () => sleep(30),
    shouldRetry: () => true,
  });
  const ticks: string[] = [];
  const errors: unknown[] = [];
  const unsubscribe = client.subscribe<{ ticks: string }>(
    { query: "subscription { ticks }" },
    { next: (r) => void ticks.push(r.data!.ticks), error: (e) => void errors.push(e), complete: () => {} },
  );
  try {
    await until("ticks from the first server", () => ticks.filter((t) => t.startsWith("1:")).length >= 2);
    await server.restart();
    await until("ticks after the restart", () => ticks.filter((t) => t.startsWith("2:")).length >= 2);
    expect(errors).toEqual([]);
    expect(ticks[0]).toBe("1:1");
    expect(ticks.find((t) => t.startsWith("2:"))).toBe("2:1"); // subscribed again from the start
  } finally {
    unsubscribe();
    await client.dispose();
    await server.stop();
  }
}

describe("graphql-ws's client over our WebSocket", () => {
  it("subscribes over graphql-transport-ws to a defineService server, and subscribes again after it restarts", async () => {
    await graphqlReconnect(await ourServer("/graphql", graphqlService));
  });
  it("the same against graphql-ws's own server on ws", async () => {
    await graphqlReconnect(await wsServer("/graphql", graphqlWsServer));
  });
});
