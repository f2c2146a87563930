/**
 * @ws/cloudflare on the real runtime: the fixture Worker (test/fixtures/worker.ts) bundled and run on workerd
 * through Miniflare, driven by a `ws` client over real TCP. No mocks.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { startWorker, type RunningWorker } from "../dev.mjs";
import { connect, sleep, type Client } from "./support/client.ts";

let worker: RunningWorker;
let ws: string;
let http: string;

beforeAll(async () => {
  worker = await startWorker({
    entry: fileURLToPath(new URL("./fixtures/worker.ts", import.meta.url)),
    name: "fixture",
    durableObjects: { ROOMS: "TestRoom" },
  });
  ws = `ws://127.0.0.1:${worker.port}`;
  http = `http://127.0.0.1:${worker.port}`;
});

afterAll(async () => {
  await worker?.dispose();
});

describe("a Worker's services (WebSocketPair, accept())", () => {
  it("echoes text as text and binary as binary", async () => {
    const c = await connect(`${ws}/echo`);
    c.ws.send("hello");
    c.ws.send(Buffer.from([1, 2, 3]));
    expect(await c.nth(1)).toBe("hello");
    expect(await c.nth(2)).toEqual(Buffer.from([1, 2, 3]));
    c.ws.close(1000);
    expect((await c.closed).code).toBe(1000);
  });

  it("sends plain requests to the user's fetch, and refuses an upgrade to no service (404)", async () => {
    expect(await (await fetch(`${http}/hello`)).text()).toBe("plain /hello");
    await expect(connect(`${ws}/nowhere`)).rejects.toMatchObject({ status: 404 });
  });

  it("the upgrade request has the route's params, the query, the cookies and the Worker's Request as raw", async () => {
    const c = await connect(`${ws}/request/caf%C3%A9?user=ann`, undefined, { Cookie: 'sid="s1"; theme=dark' });
    expect(await c.nth(1)).toBe('{"room":"café"} ann s1 true');
    c.ws.close(1000);
  });

  it("the upgrade gate rejects with its status and reason", async () => {
    await expect(connect(`${ws}/gated`, "chat")).rejects.toMatchObject({ status: 401, body: "token required\n" });
  });

  it("negotiates the subprotocol, passes the gate's headers and data, and closes with the service's code", async () => {
    const c = await connect(`${ws}/gated?token=secret&user=ann`, ["other", "chat"]);
    expect(c.headers["x-gate"]).toBe("passed");
    expect(c.ws.protocol).toBe("chat");
    c.ws.send("hi");
    expect(await c.nth(1)).toBe("chat|ann|hi");
    c.ws.send("close");
    expect(await c.closed).toEqual({ code: 4001, reason: "as you wish" });
  });

  it("has no ping: conn.ping() throws UnsupportedError", async () => {
    const c = await connect(`${ws}/gated?token=secret`, "chat");
    c.ws.send("ping");
    expect(await c.nth(1)).toMatch(/^UnsupportedError: Workers WebSocketPair: sending a ping needs the core engine/);
    c.ws.close();
  });

  it("pull reading: read() and for await, then close()", async () => {
    const c = await connect(`${ws}/pull`);
    expect(await c.nth(1)).toBe("ready");
    c.ws.send("a");
    expect(await c.nth(2)).toBe("first a");
    c.ws.send("b");
    expect(await c.nth(3)).toBe("next b");
    c.ws.send("end");
    expect(await c.closed).toEqual({ code: 1000, reason: "done" });
  });

  it("topics need a Durable Object: subscribe throws UnsupportedError in a plain Worker", async () => {
    const c = await connect(`${ws}/topic`);
    expect(await c.nth(1)).toMatch(/^UnsupportedError: .*topics need a Durable Object/);
    c.ws.close();
  });
});

interface RoomView {
  instance: string;
  connections: number;
  subscribers: number;
  members: Array<{ id: string; data: { name: string; messages: number }; topics: string[] }>;
}

const view = async (room: string): Promise<RoomView> => (await (await fetch(`${http}/rooms/${room}`)).json()) as RoomView;

async function join(room: string, name: string): Promise<Client> {
  const c = await connect(`${ws}/rooms/${room}?name=${name}`, "chat", { Origin: "https://example.test" });
  expect(await c.nth(1)).toMatch(new RegExp(`^welcome ${name} `));
  return c;
}

describe("Durable Object rooms (WebSocket Hibernation API)", () => {
  it("routes /rooms/:room to the room's object; the gate and subprotocol apply there", async () => {
    await expect(connect(`${ws}/rooms/gate`, "chat")).rejects.toMatchObject({ status: 400, body: "name required\n" });
    const c = await join("gate", "ann");
    expect(c.ws.protocol).toBe("chat");
    const other = await join("elsewhere", "bob");
    expect((await view("gate")).connections).toBe(1);
    expect((await view("elsewhere")).connections).toBe(1);
    c.ws.close();
    other.ws.close();
  });

  it("a message published reaches every other member exactly once; server.publish reaches all", async () => {
    const [ann, bob, cid] = [await join("once", "ann"), await join("once", "bob"), await join("once", "cid")];
    ann.ws.send("hello");
    expect(await bob.nth(2)).toBe("ann: hello");
    expect(await cid.nth(2)).toBe("ann: hello");
    const published = await (await fetch(`${http}/rooms/once`, { method: "POST", body: "from the server" })).text();
    expect(published).toBe("3");
    for (const c of [ann, bob, cid]) await c.nth(c === ann ? 2 : 3);
    await sleep(200); // anything sent twice would have arrived by now
    expect(ann.messages.slice(1)).toEqual(["from the server"]);
    expect(bob.messages.slice(1)).toEqual(["ann: hello", "from the server"]);
    expect(cid.messages.slice(1)).toEqual(["ann: hello", "from the server"]);
    for (const c of [ann, bob, cid]) c.ws.close();
  });

  it("hibernates with its connections open, and wakes with them rebuilt from getWebSockets() and their attachments", async () => {
    const ann = await join("sleepy", "ann");
    const bob = await join("sleepy", "bob");
    ann.ws.send("before");
    expect(await bob.nth(2)).toBe("ann: before");
    const before = await view("sleepy");
    expect(before.connections).toBe(2);

    // workerd's own eviction (Miniflare's unsafeEvictDurableObject → workerd:unsafe evict) with the
    // WebSockets hibernated, as the runtime does to an idle object: the instance and its memory are gone
    await worker.mf.unsafeEvictDurableObject("fixture", "TestRoom", { name: "sleepy", webSockets: "hibernate" });
    await sleep(100);
    expect(ann.ws.readyState).toBe(ann.ws.OPEN);
    expect(bob.ws.readyState).toBe(bob.ws.OPEN);

    // the runtime answers the heartbeat without the object (setWebSocketAutoResponse)
    bob.ws.send("ping");
    expect(await bob.nth(3)).toBe("pong");

    // a message wakes the object: a new instance, the same connections (ids, data, topics) from the attachments
    bob.ws.send("after");
    expect(await ann.nth(2)).toBe("bob: after");
    const after = await view("sleepy");
    expect(after.instance).not.toBe(before.instance);
    expect(after.connections).toBe(2);
    expect(after.subscribers).toBe(2);
    const byId = (v: RoomView) => [...v.members].sort((a, b) => a.id.localeCompare(b.id));
    expect(byId(after).map((m) => m.id)).toEqual(byId(before).map((m) => m.id));
    expect(byId(after).find((m) => m.data.name === "ann")?.data.messages).toBe(1); // conn.data as saved before
    expect(byId(after).find((m) => m.data.name === "bob")?.data.messages).toBe(1); // and changed after wake-up

    ann.ws.send("whoami");
    const who = JSON.parse(String(await ann.nth(3))) as { id: string; protocol: string; url: string; origin: string; topics: string[] };
    expect(who).toMatchObject({ protocol: "chat", url: "/rooms/sleepy?name=ann", origin: "https://example.test", topics: ["room"] });

    // `connected` did not run again (no second welcome), nothing arrived twice
    await sleep(200);
    expect(ann.messages.filter((m) => String(m).startsWith("welcome"))).toHaveLength(1);
    expect(bob.messages.filter((m) => String(m).startsWith("welcome"))).toHaveLength(1);
    expect(ann.messages.filter((m) => m === "bob: after")).toHaveLength(1);

    // close after wake-up: the service's disconnected with the client's code; send() then resolves false
    bob.ws.close(4002, "bye");
    expect(await bob.closed).toEqual({ code: 4002, reason: "bye" });
    expect(await ann.nth(4)).toBe("bob left 4002 (send after close: false)");
    expect((await view("sleepy")).connections).toBe(1);
    ann.ws.close();
  });

  it("the service closes a member that sends binary (1003)", async () => {
    const c = await join("binary", "ann");
    c.ws.send(Buffer.from([0]));
    expect(await c.closed).toEqual({ code: 1003, reason: "text only" });
  });
});
