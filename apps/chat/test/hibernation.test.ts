/**
 * The chat's Workers entry through a Durable Object's hibernation: src/server.workers.ts on workerd (Miniflare,
 * in this process, so the test can evict the room's object as the runtime does to an idle one). After the
 * eviction the object is a new instance with nothing in memory: the online list must come from the room's
 * connections (their attachments) and the history from the object's storage.
 */
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorker, type RunningWorker } from "@ws/cloudflare/dev";
import { ChatClient } from "./chat-checks.ts";

let worker: RunningWorker;
beforeAll(async () => {
  worker = await startWorker({
    entry: fileURLToPath(new URL("../src/server.workers.ts", import.meta.url)),
    name: "ws-chat",
    durableObjects: { CHAT_ROOMS: "ChatRoom" },
    host: "127.0.0.1",
  });
});
afterAll(async () => {
  await worker?.dispose();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("chat on Workers through hibernation", () => {
  it("after the room's object is evicted (sockets hibernated): the same online list, history, unique names, notices", async () => {
    const { client: ana } = await ChatClient.join(worker.port, "/chat/sleepy", "ana");
    const { client: bob } = await ChatClient.join(worker.port, "/chat/sleepy", "bob");
    await ana.next("joined");
    ana.say("before 1");
    ana.say("before 2");
    await bob.next("message", (m) => m.text === "before 2");
    await sleep(100); // the history's storage writes

    await worker.mf.unsafeEvictDurableObject("ws-chat", "ChatRoom", { name: "sleepy", webSockets: "hibernate" });
    await sleep(100);
    expect(ana.ws.readyState).toBe(ana.ws.OPEN);

    // a joiner wakes the object: the members from the attachments, the history from storage
    const { client: cy, welcome } = await ChatClient.join(worker.port, "/chat/sleepy", "ana");
    expect(welcome.you).toBe("ana-2"); // "ana" is still taken, by a connection from before the eviction
    expect(welcome.online).toEqual(expect.arrayContaining(["ana", "bob", "ana-2"]));
    expect((welcome.online as string[]).length).toBe(3);
    expect((welcome.history as Array<{ text: string }>).map((l) => l.text)).toEqual(["before 1", "before 2"]);
    expect(await ana.next("joined")).toEqual({ type: "joined", name: "ana-2" });

    // the connections from before still talk (rate and name from conn.data), and leave with their names
    bob.say("after");
    expect(await ana.next("message", (m) => m.from === "bob")).toMatchObject({ from: "bob", text: "after" });
    expect(await cy.next("message")).toMatchObject({ from: "bob", text: "after" });
    bob.close();
    expect(await ana.next("left")).toEqual({ type: "left", name: "bob" });
    ana.close();
    cy.close();
  });
});
