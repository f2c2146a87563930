/**
 * Conformance-style checks of an adapter's WHATWG `WebSocket` (WebSockets Standard, "The WebSocket
 * interface"), runtime-agnostic (standard globals only): run by @ws/node's vitest (against our server and
 * `ws`'s) and inside Bun and Deno by their test/fixtures/websocket.ts. The server under `base` must answer:
 *   /echo   echoes every message; "close:CODE:REASON" closes with that code and reason; "drop" drops the socket
 *   /greet  sends "hello" and the bytes 1, 2, 3 as soon as the connection is open
 *   /chat   offers the subprotocol "chat" (and echoes)
 *   other   refuses the upgrade (404)
 * Each check reports { name, ok, error? }.
 */
import type { defineService as DefineService, Service } from "@ws/core";
import type { WebSocketBase } from "@ws/core/adapter";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyWebSocket = WebSocketBase<any, any>;
export type WebSocketClass = (new (url: string | URL, protocols?: string | string[]) => AnyWebSocket) & {
  readonly CONNECTING: number;
  readonly OPEN: number;
  readonly CLOSING: number;
  readonly CLOSED: number;
};
export type CheckResult = { name: string; ok: boolean; error?: string };

/** The server side of the checks, as services for our serve(). */
export function webSocketCheckServices(defineService: typeof DefineService): Record<string, Service<unknown>> {
  const echo = defineService({
    received(message, conn) {
      if (typeof message === "string" && message.startsWith("close:")) {
        const [, code, reason] = message.split(":");
        return void conn.close(Number(code), reason);
      }
      if (message === "drop") return conn.drop();
      void conn.send(message);
    },
  });
  const greet = defineService({
    connected(conn) {
      void conn.send("hello");
      void conn.send(new Uint8Array([1, 2, 3]));
    },
  });
  const chat = defineService({ protocols: ["chat"], received: (message, conn) => void conn.send(message) });
  return { "/echo": echo as Service<unknown>, "/greet": greet as Service<unknown>, "/chat": chat as Service<unknown> };
}

/** What a check records: the event's type and the readyState when it was dispatched. */
type Seen = { type: string; state: number; event: Event };

function record(ws: AnyWebSocket): { seen: Seen[]; next(type: string): Promise<Event> } {
  const seen: Seen[] = [];
  const taken = new Map<string, number>(); // events of each type handed out by next()
  const waiting: Array<() => void> = [];
  for (const type of ["open", "message", "error", "close"]) {
    ws.addEventListener(type, (event) => {
      seen.push({ type, state: ws.readyState, event });
      for (const wake of waiting.splice(0)) wake();
    });
  }
  /** the next event of `type` not yet handed out (in dispatch order) */
  const next = (type: string): Promise<Event> => {
    const n = taken.get(type) ?? 0;
    const found = seen.filter((s) => s.type === type)[n];
    if (found) {
      taken.set(type, n + 1);
      return Promise.resolve(found.event);
    }
    return new Promise<void>((resolve) => waiting.push(resolve)).then(() => next(type));
  };
  return { seen, next };
}

const order = (seen: Seen[]) => seen.map((s) => `${s.type}@${s.state}`).join(" ");

export async function runWebSocketChecks(WebSocket: WebSocketClass, base: string, options: { deflate?: boolean } = {}): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  async function check(name: string, fn: () => Promise<void> | void): Promise<void> {
    try {
      await Promise.race([fn(), new Promise((_, j) => setTimeout(() => j(new Error("timed out")), 5000))]);
      results.push({ name, ok: true });
    } catch (e) {
      results.push({ name, ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  }
  function assert(cond: unknown, message: string): asserts cond {
    if (!cond) throw new Error(message);
  }
  function equal(actual: unknown, expected: unknown, what: string): void {
    const a = JSON.stringify(actual);
    const e = JSON.stringify(expected);
    if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
  }
  function throwsDOMException(fn: () => unknown, name: string, what: string): void {
    try {
      fn();
    } catch (e) {
      if (e instanceof DOMException && e.name === name) return;
      throw new Error(`${what}: expected a ${name} DOMException, got ${String(e)}`);
    }
    throw new Error(`${what}: expected a ${name} DOMException, nothing thrown`);
  }
  const closed = (ws: AnyWebSocket) => new Promise<CloseEvent>((resolve) => ws.addEventListener("close", (e) => resolve(e as unknown as CloseEvent), { once: true }));
  type CloseEvent = Event & { code: number; reason: string; wasClean: boolean };
  type MessageEvent = Event & { data: unknown; origin: string };

  await check("constants, initial attributes and send() while CONNECTING (InvalidStateError)", async () => {
    equal([WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED], [0, 1, 2, 3], "static constants");
    const ws = new WebSocket(`${base}/echo`);
    equal([ws.CONNECTING, ws.OPEN, ws.CLOSING, ws.CLOSED], [0, 1, 2, 3], "instance constants");
    assert(ws instanceof EventTarget, "a WebSocket is an EventTarget");
    equal([ws.readyState, ws.binaryType, ws.bufferedAmount, ws.protocol, ws.extensions], [0, "blob", 0, "", ""], "initial attributes");
    equal(ws.url, `${base}/echo`, "url");
    throwsDOMException(() => ws.send("too early"), "InvalidStateError", "send while CONNECTING");
    const { next } = record(ws);
    await next("open");
    ws.close();
    await next("close");
  });

  await check("constructor: SyntaxError for another scheme, a fragment, a bad or repeated subprotocol; http: becomes ws:", () => {
    throwsDOMException(() => new WebSocket("ftp://127.0.0.1/"), "SyntaxError", "ftp:");
    throwsDOMException(() => new WebSocket(`${base}/echo#frag`), "SyntaxError", "fragment");
    throwsDOMException(() => new WebSocket(`${base}/echo#`), "SyntaxError", "empty fragment");
    throwsDOMException(() => new WebSocket("not a url"), "SyntaxError", "unparsable");
    throwsDOMException(() => new WebSocket(`${base}/echo`, ["a", "a"]), "SyntaxError", "repeated subprotocol");
    throwsDOMException(() => new WebSocket(`${base}/echo`, "has space"), "SyntaxError", "invalid subprotocol");
    const ws = new WebSocket(base.replace(/^ws:/, "http:") + "/echo");
    equal(ws.url, `${base}/echo`, "http: → ws:");
    ws.close(); // fails the connection while connecting (checked below)
  });

  await check("event order and readyState: open@1, messages@1 (text, ArrayBuffer, view, Blob, in order), close@3 after close()", async () => {
    const ws = new WebSocket(`${base}/echo`);
    ws.binaryType = "arraybuffer";
    const { seen, next } = record(ws);
    const viaHandler: string[] = [];
    ws.onopen = function (this: AnyWebSocket) {
      viaHandler.push(`onopen this=${this === ws}`);
    };
    await next("open");
    equal(ws.readyState, 1, "readyState once open");
    ws.send("text");
    ws.send(new Uint8Array([1, 2]).buffer);
    ws.send(new Uint16Array([0x0403, 0x0605]).subarray(1)); // a view: only its bytes
    ws.send(new Blob([new Uint8Array([7, 8, 9])]));
    ws.send("after the blob");
    assert(ws.bufferedAmount > 0, `bufferedAmount right after send: ${ws.bufferedAmount}`);
    const got: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      const e = (await next("message")) as MessageEvent;
      got.push(typeof e.data === "string" ? e.data : Array.from(new Uint8Array(e.data as ArrayBuffer)));
      if (i === 0) equal(e.origin, new URL(base).origin, "MessageEvent.origin");
    }
    equal(got, ["text", [1, 2], [5, 6], [7, 8, 9], "after the blob"], "echoes, in order");
    ws.close(1000, "bye");
    equal(ws.readyState, 2, "readyState right after close()");
    ws.close(4000, "again"); // nothing while CLOSING
    const e = (await next("close")) as CloseEvent;
    equal([e.code, e.reason, e.wasClean, ws.readyState], [1000, "bye", true, 3], "close event");
    equal(order(seen), "open@1 message@1 message@1 message@1 message@1 message@1 close@3", "event order");
    equal(viaHandler, ["onopen this=true"], "onopen called with the WebSocket as this");
    equal(ws.bufferedAmount, 0, "bufferedAmount once all is sent");
  });

  await check("close(): InvalidAccessError for codes other than 1000 and 3000–4999, SyntaxError for a reason over 123 bytes", async () => {
    const ws = new WebSocket(`${base}/echo`);
    const { next } = record(ws);
    await next("open");
    for (const code of [0, 999, 1001, 1005, 1006, 2999, 5000]) throwsDOMException(() => ws.close(code), "InvalidAccessError", `close(${code})`);
    throwsDOMException(() => ws.close(1000, "x".repeat(124)), "SyntaxError", "124-byte reason");
    throwsDOMException(() => ws.close(1000, "é".repeat(62)), "SyntaxError", "124 bytes of é");
    equal(ws.readyState, 1, "still open after the refused calls");
    ws.close(3000.5 as number, "é".repeat(61)); // [Clamp]: 3000.5 → 3000 (half to even); 122 bytes
    const e = (await next("close")) as CloseEvent;
    equal([e.code, e.reason.length, e.wasClean], [3000, 61, true], "close event");
  });

  await check("binaryType: blob (default) gives a Blob, arraybuffer an ArrayBuffer; an unknown value is ignored", async () => {
    const ws = new WebSocket(`${base}/echo`);
    const { next } = record(ws);
    await next("open");
    ws.send(new Uint8Array([1, 2, 3]));
    const blob = ((await next("message")) as MessageEvent).data;
    assert(blob instanceof Blob, `blob: got ${Object.prototype.toString.call(blob)}`);
    equal(Array.from(new Uint8Array(await blob.arrayBuffer())), [1, 2, 3], "Blob bytes");
    ws.binaryType = "arraybuffer";
    ws.binaryType = "bogus" as "blob";
    equal(ws.binaryType, "arraybuffer", "an unknown binaryType is ignored");
    ws.send(new Uint8Array([4, 5]));
    const buffer = ((await next("message")) as MessageEvent).data;
    assert(buffer instanceof ArrayBuffer, "arraybuffer");
    equal(Array.from(new Uint8Array(buffer)), [4, 5], "ArrayBuffer bytes");
    ws.close();
    await next("close");
  });

  await check("messages the server sends right at open reach onmessage set after the constructor", async () => {
    const ws = new WebSocket(`${base}/greet`);
    ws.binaryType = "arraybuffer";
    const got: unknown[] = [];
    ws.onmessage = (e) => void got.push(typeof e.data === "string" ? e.data : Array.from(new Uint8Array(e.data as ArrayBuffer)));
    const { seen, next } = record(ws);
    await next("open");
    await next("message");
    await next("message");
    equal(got, ["hello", [1, 2, 3]], "greeting");
    equal(order(seen), "open@1 message@1 message@1", "order");
    ws.close();
    await next("close");
  });

  await check("a server-initiated close: close event with its code and reason, wasClean, no error", async () => {
    const ws = new WebSocket(`${base}/echo`);
    const { seen, next } = record(ws);
    await next("open");
    ws.send("close:4001:kicked");
    const e = (await next("close")) as CloseEvent;
    equal([e.code, e.reason, e.wasClean], [4001, "kicked", true], "close event");
    equal(order(seen), "open@1 close@3", "no error event");
  });

  await check("a dropped connection: close 1006, reason \"\", wasClean false", async () => {
    const ws = new WebSocket(`${base}/echo`);
    const { next } = record(ws);
    await next("open");
    ws.send("drop");
    const e = (await next("close")) as CloseEvent;
    equal([e.code, e.reason, e.wasClean], [1006, "", false], "close event");
  });

  await check("a refused handshake: error, then close 1006 (wasClean false), readyState CLOSED at both", async () => {
    const ws = new WebSocket(`${base}/missing`);
    const { seen, next } = record(ws);
    const e = (await next("close")) as CloseEvent;
    equal(order(seen), "error@3 close@3", "events");
    equal([e.code, e.reason, e.wasClean], [1006, "", false], "close event");
  });

  await check("close() while CONNECTING: readyState CLOSING at once, then error and close 1006", async () => {
    const ws = new WebSocket(`${base}/echo`);
    const { seen, next } = record(ws);
    ws.close();
    equal(ws.readyState, 2, "readyState right after close()");
    const e = (await next("close")) as CloseEvent;
    equal(order(seen), "error@3 close@3", "events (no open)");
    equal([e.code, e.wasClean], [1006, false], "close event");
  });

  await check("subprotocol negotiation: protocol is the server's choice among those offered", async () => {
    const ws = new WebSocket(`${base}/chat`, ["other", "chat"]);
    const { next } = record(ws);
    await next("open");
    equal(ws.protocol, "chat", "protocol");
    if (options.deflate) assert(ws.extensions.includes("permessage-deflate"), `extensions: ${ws.extensions}`);
    ws.close();
    await next("close");
  });

  await check("send() after close: nothing sent, no exception, bufferedAmount grows by the UTF-8 / byte size", async () => {
    const ws = new WebSocket(`${base}/echo`);
    const { next } = record(ws);
    await next("open");
    ws.close();
    ws.send("héllo"); // 6 bytes, while CLOSING
    const done = closed(ws);
    await done;
    ws.send(new Uint8Array(10)); // while CLOSED
    equal(ws.bufferedAmount, 16, "bufferedAmount");
  });

  await check("event handler attributes: one listener each, replaced in place, removed by null", async () => {
    const ws = new WebSocket(`${base}/greet`);
    const calls: string[] = [];
    ws.onmessage = () => void calls.push("first");
    ws.addEventListener("message", () => void calls.push("listener"));
    ws.onmessage = () => {
      // keeps the first one's place, before "listener"; null removes it (both messages may come in one task)
      calls.push("second");
      ws.onmessage = null;
    };
    const { next } = record(ws);
    await next("message");
    equal(ws.onmessage, null, "onmessage after null");
    await next("message");
    equal(calls, ["second", "listener", "listener"], "calls");
    ws.close();
    await next("close");
  });

  return results;
}
