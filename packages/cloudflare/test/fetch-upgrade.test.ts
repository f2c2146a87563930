/**
 * Issue 23 point 1 on workerd (Miniflare): a Worker's fetch handler (handler({ fetch })) upgrades with
 * `info.upgrade(request, service, { data })` or `upgrade(request, …)`; what else it returns for an upgrade request is
 * the refusal the client sees. Fixture: test/fixtures/fetch-upgrade-worker.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { startWorker, type RunningWorker } from "../dev.mjs";
import { connect, type Client } from "./support/client.ts";

let worker: RunningWorker;
let ws: string;

beforeAll(async () => {
  worker = await startWorker({
    entry: fileURLToPath(new URL("./fixtures/fetch-upgrade-worker.ts", import.meta.url)),
    name: "fetch-upgrade",
    durableObjects: { ROOMS: "AuthRoom" },
  });
  ws = `ws://127.0.0.1:${worker.port}`;
});

afterAll(async () => {
  await worker?.dispose();
});

const closeAll = async (clients: Client[]) => {
  for (const c of clients) {
    c.ws.close(1000);
    await c.closed;
  }
};

describe("upgrading from a Worker's fetch handler", () => {
  it("an authorized upgrade: the 101 with the call's headers, its data in conn.data", async () => {
    const c = await connect(`${ws}/chat`, undefined, { Authorization: "Bearer ann" });
    expect(c.headers["x-welcome"]).toBe("ann");
    expect(await c.nth(1)).toBe("hello ann");
    c.ws.send("hi");
    expect(await c.nth(2)).toBe("ann: hi");
    await closeAll([c]);
  });

  it("upgrade(request, …) exported by @ws/cloudflare works on the handler's request", async () => {
    const c = await connect(`${ws}/exported`);
    expect(await c.nth(1)).toBe("hello exported");
    await closeAll([c]);
  });

  it("an unauthorized upgrade gets the handler's 401 with its header and JSON body; a redirect its 302", async () => {
    await expect(connect(`${ws}/chat`)).rejects.toMatchObject({ status: 401, body: '{"error":"unauthorized"}' });
    await expect(connect(`${ws}/old`)).rejects.toMatchObject({ status: 302 });
  });

  it("the service's own gate still runs; registered services come first; a 2xx from the handler is 404", async () => {
    await expect(connect(`${ws}/gated`)).rejects.toMatchObject({ status: 403, body: "the gate is shut\n" });
    const g = await connect(`${ws}/gated`, undefined, { "x-gate": "open" });
    expect(await g.nth(1)).toBe("gated gatekeeper");
    const r = await connect(`${ws}/registered`);
    expect(await r.nth(1)).toBe("registered");
    await closeAll([g, r]);
    await expect(connect(`${ws}/hello`)).rejects.toMatchObject({ status: 404 });
    expect(await (await fetch(`http://127.0.0.1:${worker.port}/hello`)).text()).toBe("hi from fetch");
  });

  it("maxConnections bounds fetch upgrades", async () => {
    const a = await connect(`${ws}/chat`, undefined, { Authorization: "Bearer a" });
    const b = await connect(`${ws}/chat`, undefined, { Authorization: "Bearer b" });
    await a.nth(1);
    await b.nth(1);
    await expect(connect(`${ws}/chat`, undefined, { Authorization: "Bearer c" })).rejects.toMatchObject({ status: 503 });
    await closeAll([a, b]);
  });

  it("a Durable Object room decides its upgrades fetch-style (onUpgrade): its 401, or the token's name in conn.data", async () => {
    await expect(connect(`${ws}/rooms/blue`)).rejects.toMatchObject({ status: 401, body: '{"error":"room needs a token"}' });
    const c = await connect(`${ws}/rooms/blue`, undefined, { Authorization: "Bearer ann" });
    expect(await c.nth(1)).toBe("room hello ann");
    await closeAll([c]);
  });
});
