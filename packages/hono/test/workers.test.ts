/**
 * Issue 23 point 2 on workerd (Miniflare): the Hono app of test/fixtures/app.ts as a Worker (`handler({ fetch:
 * app.fetch })`) and inside a Durable Object room (test/fixtures/worker.ts). The cookie middleware gates the
 * upgrade: its 401 (status, headers, JSON body) reaches the client, and the user it sets reaches `conn.data`;
 * plain routes answer beside it; topics work in the room; the room's graceful close sends 1001.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { startWorker, type RunningWorker } from "@ws/cloudflare/dev";
import { connect as connectWs, HandshakeError, type Connection } from "@ws/node";
import { connect, type Client } from "../../cloudflare/test/support/client.ts";

let worker: RunningWorker;
let ws: string;
let http: string;

beforeAll(async () => {
  worker = await startWorker({
    entry: fileURLToPath(new URL("./fixtures/worker.ts", import.meta.url)),
    name: "hono",
    durableObjects: { ROOMS: "ChatRoom" },
  });
  ws = `ws://127.0.0.1:${worker.port}`;
  http = `http://127.0.0.1:${worker.port}`;
}, 60_000);

afterAll(async () => {
  await worker?.dispose();
});

/** Collects a connection's messages from the start; `nth(n)` waits for the n-th (1-based), within 5 s. */
function recorder(conn: Connection): { nth(n: number): Promise<unknown> } {
  const messages: unknown[] = [];
  const waiters: Array<() => void> = [];
  conn.onMessage((m) => {
    messages.push(m);
    for (const w of waiters.splice(0)) w();
  });
  return {
    nth: (n) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`message ${n} did not arrive; got ${JSON.stringify(messages)}`)), 5000);
        const check = () => {
          if (messages.length >= n) {
            clearTimeout(timer);
            resolve(messages[n - 1]);
          } else waiters.push(check);
        };
        check();
      }),
  };
}

const closeAll = async (clients: Client[]) => {
  for (const c of clients) {
    c.ws.close(1000);
    await c.closed;
  }
};

describe("@ws/hono on Workers", () => {
  it("an upgrade the cookie middleware lets through: 101 with the call's header, c.get('user') in conn.data", async () => {
    const c = await connect(`${ws}/chat`, undefined, { Cookie: "theme=dark; user=ann" });
    expect(c.headers["x-welcome"]).toBe("ann");
    expect(await c.nth(1)).toBe("hello ann");
    c.ws.send("hi");
    expect(await c.nth(2)).toBe("ann: hi");
    await closeAll([c]);
  });

  it("an upgrade without the cookie gets the middleware's 401: status, headers and JSON body", async () => {
    // @ws's own client: a HandshakeError with the response's status, headers and body
    const e = await connectWs(`${ws}/chat`).then(
      () => null,
      (error: unknown) => error,
    );
    expect(e).toBeInstanceOf(HandshakeError);
    const refusal = e as HandshakeError;
    expect(refusal.status).toBe(401);
    expect(refusal.headers?.get("x-refused-by")).toBe("hono-middleware");
    expect(refusal.headers?.get("www-authenticate")).toBe('Bearer realm="chat"');
    expect(refusal.headers?.get("content-type")).toMatch(/^application\/json/);
    expect(JSON.parse(refusal.body ?? "null")).toEqual({ error: "unauthorized", hint: "log in" });
    await expect(connect(`${ws}/vip`)).rejects.toMatchObject({ status: 403, body: "members only" });
  });

  it("upgradeWebSocket(service) with no callback; plain routes keep working beside it", async () => {
    const e = await connect(`${ws}/echo`);
    e.ws.send("ping?");
    expect(await e.nth(1)).toBe("ping?");
    await closeAll([e]);
    expect(await (await fetch(`${http}/`)).text()).toBe("hello from hono");
    expect(await (await fetch(`${http}/api/me`, { headers: { Cookie: "user=ann" } })).json()).toEqual({ name: "ann" });
    const page = await fetch(`${http}/chat`, { headers: { Cookie: "user=ann" } });
    expect(page.status).toBe(426);
    expect(await page.text()).toBe("this route speaks WebSocket");
  });

  it("in a Durable Object room: the middleware gates, topics carry one user's message to the other, close sends 1001", async () => {
    await expect(connect(`${ws}/rooms/blue`)).rejects.toMatchObject({ status: 401, body: '{"error":"unauthorized","hint":"log in"}' });
    // @ws's own client: its `closed` resolves with the close frame's code once the close handshake is done
    const ann = await connectWs(`${ws}/rooms/blue`, { headers: { Cookie: "user=ann" } });
    const annGot = recorder(ann);
    expect(await annGot.nth(1)).toBe("hello ann");
    const bob = await connectWs(`${ws}/rooms/blue`, { headers: { Authorization: "Bearer bob" } });
    expect(await recorder(bob).nth(1)).toBe("hello bob");
    await bob.send("hi all");
    expect(await annGot.nth(2)).toBe("bob: hi all");
    const shutdown = await fetch(`${http}/rooms/blue`, { method: "POST" });
    expect(await shutdown.text()).toBe("closing");
    expect((await ann.closed).code).toBe(1001);
    expect((await bob.closed).code).toBe(1001);
  });
});
