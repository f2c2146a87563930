/**
 * Issue 22 point 3 on the real runtime (test/fixtures/misconfig-worker.ts on workerd through Miniflare, a `ws`
 * client over TCP): "write once" code that needs topics is not left open and silent in a plain Worker, and
 * handler()'s misconfigurations are refused with the fix.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { startWorker, type RunningWorker } from "../dev.mjs";
import { connect } from "./support/client.ts";

let worker: RunningWorker;
let ws: string;
let http: string;

beforeAll(async () => {
  worker = await startWorker({ entry: fileURLToPath(new URL("./fixtures/misconfig-worker.ts", import.meta.url)), name: "misconfig" });
  ws = `ws://127.0.0.1:${worker.port}`;
  http = `http://127.0.0.1:${worker.port}`;
});

afterAll(async () => {
  await worker?.dispose();
});

describe("a service that needs what a plain Worker lacks", () => {
  it("topics in connected: the connection is closed with 1011 and the UnsupportedError reaches the service's error hook and onError", async () => {
    const c = await connect(`${ws}/news`);
    const closed = await c.closed;
    expect(closed.code).toBe(1011);
    expect(closed.reason).toMatch(/topics need a Durable Object/);
    expect(c.messages).toEqual([]);
    const reported = (await (await fetch(`${http}/reported`)).json()) as string[];
    expect(reported).toEqual([
      expect.stringMatching(/^service: UnsupportedError: Workers WebSocketPair: topics need a Durable Object \(WebSocketRoom\)/),
      expect.stringMatching(/^server: UnsupportedError: Workers WebSocketPair: topics need a Durable Object \(WebSocketRoom\)/),
    ]);
  });

  it("topics on a message: the same, once the message arrives", async () => {
    const c = await connect(`${ws}/later`);
    c.ws.send("hello");
    const closed = await c.closed;
    expect(closed.code).toBe(1011);
    expect(c.messages).toEqual([]);
  });
});

describe("handler()'s misconfigurations", () => {
  it("are refused when handler() is called, with the fix", async () => {
    const r = (await (await fetch(`${http}/refusals`)).json()) as Record<string, string>;
    expect(r.nothing).toMatch(/handler\(\) needs services \(\{ "\/chat": chat \}\), rooms or a fetch handler/);
    expect(r.port).toMatch(/port is not an option here; a Worker does not listen/);
    expect(r.path).toMatch(/use services: \{ "\/ws": yourService \} \(path is ws's option\)/);
    expect(r.typo).toMatch(/did you mean services\?/);
    expect(r.fine).toBe("");
  });
});
