/**
 * The early-message trap (issue 15, item 2): a client that attaches onText/onBinary/onMessage after a further
 * `await` used to miss what the server sent right at open — it waited in the read() queue for good. A push
 * handler attached later gets what is queued (the types it takes), in order, exactly once.
 */
import { describe, expect, it } from "vitest";
import { Connection, silentLogger, type Message, type Service } from "../src/index.ts";
import { connectOverStream, createUpgradeRequest, ServerCore } from "../src/adapter.ts";
import { parseHttpHead } from "../src/protocol.ts";
import { utf8 } from "./support/frames.ts";
import { concatBytes, memoryPair, settle, type MemoryStream } from "./support/memory-stream.ts";

/** Accepts one upgrade on `stream` with `core` (a minimal adapter). */
function accept(core: ServerCore, stream: MemoryStream): Promise<Connection> {
  return new Promise((resolve, reject) => {
    let buffered: Uint8Array = new Uint8Array(0);
    stream.start({
      data: (chunk) => {
        buffered = concatBytes([buffered, chunk]);
        const head = parseHttpHead(buffered);
        if (!head || head instanceof Error) return;
        const [method, url, version] = head.startLine;
        const req = createUpgradeRequest({ method, url, httpVersion: version.replace("HTTP/", ""), headers: head.headers, remoteAddress: "127.0.0.1" });
        void core.negotiate(req).then((outcome) => (outcome.ok ? resolve(outcome.accept(stream, buffered.subarray(head.length))) : reject(new Error("refused"))));
      },
      drain: () => {},
      end: () => {},
      close: () => {},
    });
  });
}

/** A client connected to a server whose `connected` sends `greeting` at once. */
async function clientGreetedWith(greeting: Message[], more: Partial<Service> = {}) {
  const core = new ServerCore({
    logger: silentLogger,
    services: { "/": { connected: (conn) => void greeting.forEach((m) => void conn.send(m)), ...more } },
  });
  const [a, b] = memoryPair();
  const served = accept(core, a);
  const client = await connectOverStream(b, "ws://localhost/", { logger: silentLogger });
  const server = await served;
  return { client, server };
}

/** The further await of the trap: long enough for everything sent at open to have arrived. */
const later = () => new Promise<void>((resolve) => setTimeout(() => resolve(), 20));

describe("Connection: push handlers attached late get what waited in the read queue", () => {
  it("onText attached after an await gets the texts sent at open, in order, once; binaries stay for read()", async () => {
    const { client } = await clientGreetedWith(["one", utf8("bin"), "two", "three"]);
    await later();
    const texts: string[] = [];
    client.onText((t) => void texts.push(t));
    await settle();
    expect(texts).toEqual(["one", "two", "three"]);
    expect(await client.read({ timeout: 100 })).toEqual(utf8("bin"));
    // a second handler does not get them again
    const again: string[] = [];
    client.onText((t) => void again.push(t));
    await settle();
    expect(again).toEqual([]);
    expect(texts).toEqual(["one", "two", "three"]);
  });

  it("onMessage gets every queued message in arrival order, then the live ones after them", async () => {
    const { client, server } = await clientGreetedWith(["a", utf8("b"), "c"]);
    await later();
    const got: Array<string | number[]> = [];
    client.onMessage((m) => void got.push(typeof m === "string" ? m : Array.from(m)));
    void server.send("live"); // arrives while the replay may still be pending
    await later();
    expect(got).toEqual(["a", [98], "c", "live"]);
  });

  it("onBinary takes only the queued binaries; a later onText takes the texts", async () => {
    const { client } = await clientGreetedWith(["t1", utf8("x"), "t2", utf8("y")]);
    await later();
    const binaries: string[] = [];
    client.onBinary((b) => void binaries.push(new TextDecoder().decode(b)));
    await settle();
    expect(binaries).toEqual(["x", "y"]);
    const texts: string[] = [];
    client.onText((t) => void texts.push(t));
    await settle();
    expect(texts).toEqual(["t1", "t2"]);
  });

  it("a handler gets the queued messages in a microtask, after on*() has returned its unsubscribe", async () => {
    const { client } = await clientGreetedWith(["first", "second"]);
    await later();
    const got: string[] = [];
    const off = client.onText((t) => {
      got.push(t);
      off(); // only the first: the second stays queued
    });
    expect(got).toEqual([]);
    await settle();
    expect(got).toEqual(["first"]);
    expect(await client.read({ timeout: 100 })).toBe("second");
  });

  it("messages received before the close are still replayed to a handler attached after it", async () => {
    const { client, server } = await clientGreetedWith(["bye soon"]);
    await later();
    await server.close(1000, "done");
    await client.closed;
    const got: string[] = [];
    client.onText((t) => void got.push(t));
    await settle();
    expect(got).toEqual(["bye soon"]);
  });
});
