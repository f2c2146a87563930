/**
 * @ws/node's WHATWG WebSocket (core's WebSocketBase over connect()): the conformance-style checks of
 * test/websocket-checks.ts against our server and against `ws`'s, and what is Node's own
 * ("nodebuffer").
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CloseEvent, defineService, MessageEvent, serve, silentLogger, WebSocket, type ServeHandle } from "../src/index.ts";
import { runWebSocketChecks, webSocketCheckServices } from "./websocket-checks.ts";
import { wsCheckServer } from "./support/ws-check-server.ts";

const failures = (results: Array<{ name: string; ok: boolean; error?: string }>) => results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.error}`);

describe("WebSocket (WHATWG) on Node", () => {
  let ours: ServeHandle;
  let theirs: Awaited<ReturnType<typeof wsCheckServer>>;
  beforeAll(async () => {
    ours = await serve({ port: 0, hostname: "127.0.0.1", services: webSocketCheckServices(defineService), perMessageDeflate: true, logger: silentLogger });
    theirs = await wsCheckServer();
  });
  afterAll(async () => {
    await ours.close();
    await theirs.close();
  });

  it("passes every check against our server", async () => {
    const results = await runWebSocketChecks(WebSocket, `ws://127.0.0.1:${ours.port}`, { deflate: true });
    expect(results.length).toBe(13);
    expect(failures(results)).toEqual([]);
  });

  it("passes every check against ws's server", async () => {
    const results = await runWebSocketChecks(WebSocket, theirs.url, { deflate: true });
    expect(results.length).toBe(13);
    expect(failures(results)).toEqual([]);
  });

  it("binaryType \"nodebuffer\" gives a Buffer; the events are Event subclasses (CloseEvent defined where Node has none)", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${ours.port}/echo`);
    ws.binaryType = "nodebuffer";
    await new Promise((resolve) => (ws.onopen = resolve));
    ws.send(new Uint8Array([9, 8]));
    const message = await new Promise<MessageEvent>((resolve) => (ws.onmessage = resolve));
    expect(Buffer.isBuffer(message.data)).toBe(true);
    expect([...(message.data as Buffer)]).toEqual([9, 8]);
    expect(message).toBeInstanceOf(Event);
    expect(message).toBeInstanceOf(globalThis.MessageEvent);
    ws.close(1000, "done");
    const close = await new Promise<CloseEvent>((resolve) => (ws.onclose = resolve));
    expect(close).toBeInstanceOf(CloseEvent);
    expect(close).toBeInstanceOf(Event);
    expect([close.type, close.code, close.reason, close.wasClean, close.cancelable, close.bubbles]).toEqual(["close", 1000, "done", true, false, false]);
  });

  it("passes connect()'s options through (headers) and reports the handshake error on the error event", async () => {
    const seen: string[] = [];
    const server = await serve({
      port: 0,
      hostname: "127.0.0.1",
      logger: silentLogger,
      services: { "/h": defineService({ upgrade: (req) => void seen.push(req.headers.get("x-token") ?? "none") }) },
    });
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/h`, [], { headers: { "x-token": "t1" } });
      await new Promise((resolve) => (ws.onopen = resolve));
      expect(seen).toEqual(["t1"]);
      ws.close();
      const refused = new WebSocket(`ws://127.0.0.1:${server.port}/nope`);
      const error = await new Promise<Event & { error?: unknown }>((resolve) => (refused.onerror = resolve));
      expect(error.type).toBe("error");
      expect(String(error.error)).toMatch(/404/);
    } finally {
      await server.close();
    }
  });
});
