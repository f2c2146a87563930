/**
 * Issue 22 point 4, the client side: a refused client learns why. `HandshakeError` carries the response's
 * `status`, `statusText`, `headers` (a WHATWG `Headers`) and the start of its `body` as text — bounded in size and
 * in time, so a server that sends a huge body or one that never ends cannot hold the client — and its message
 * names the status and an excerpt of the body; the WHATWG `WebSocket`'s `error` event says the status too.
 * Runtime-agnostic (node:net and standard globals, which Node, Bun and Deno all have): run by this package's
 * test/handshake-error.test.ts and, inside Bun and Deno, by their test/fixtures/handshake-error.ts.
 */
import * as net from "node:net";
import type { ClientOptions, Connection, EngineServeOptions, Logger, defineService as DefineService } from "@ws/core";
import type { CheckResult } from "./hostile-checks.ts";
import type { WebSocketClass } from "./websocket-checks.ts";

/** What the checks use of an adapter module: serve(), its client and its WHATWG WebSocket. */
export interface HandshakeErrorTarget {
  serve(options: EngineServeOptions): Promise<{ port: number; close(options?: { timeout?: number }): Promise<void> }>;
  defineService: typeof DefineService;
  silentLogger: Logger;
  connect(url: string, options?: ClientOptions): Promise<Connection>;
  WebSocket: WebSocketClass;
}

/** The most of the body a HandshakeError may keep (4 KiB of UTF-8, the client's bound). */
const BODY_BOUND = 4096;

/** What the checks read off a HandshakeError (fields that do not exist on today's read as undefined). */
type Refusal = Error & { status?: number; statusText?: string; headers?: Headers; body?: string };

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

const utf8Bytes = (s: string) => new TextEncoder().encode(s).length;

/** Resolves what connect() rejects with; fails if it connects, or if nothing comes within `ms` (a stuck client). */
async function refusal(connecting: Promise<Connection>, ms = 15_000): Promise<Refusal> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no HandshakeError within ${ms} ms: the client is held by the response`)), ms);
  });
  try {
    const conn = await Promise.race([connecting, stuck]);
    conn.drop();
    throw new Error("the handshake succeeded");
  } catch (e) {
    if (e instanceof Error && (e.message.startsWith("no HandshakeError") || e.message === "the handshake succeeded")) throw e;
    assert(e instanceof Error && e.name === "HandshakeError", `expected a HandshakeError, got ${String(e)}`);
    return e as Refusal;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A raw HTTP server that answers every request with `head` (the status line and headers, CRLFs included, the
 * blank line added here) and then `body(socket)`'s bytes; `closed` counts the sockets the client let go of.
 */
async function rawServer(head: string, body: (socket: net.Socket) => void): Promise<{ port: number; closed(): number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let closed = 0;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => {
      sockets.delete(socket);
      closed++;
    });
    let seen = "";
    const onData = (d: Buffer) => {
      seen += d.toString("latin1");
      if (!seen.includes("\r\n\r\n")) return;
      socket.off("data", onData);
      socket.write(`${head}\r\n\r\n`);
      body(socket);
    };
    socket.on("data", onData);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    closed: () => closed,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Waits until `test()` holds, polling, for up to `ms`; false if it never did. */
async function eventually(test: () => boolean, ms: number): Promise<boolean> {
  for (let waited = 0; !test(); waited += 20) {
    if (waited >= ms) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

async function check(results: CheckResult[], name: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
    results.push({ name, ok: true });
  } catch (e) {
    results.push({ name, ok: false, error: e instanceof Error ? e.message : String(e) });
  }
}

/** Runs every check; each reports { name, ok, error? }. */
export async function runHandshakeErrorChecks(target: HandshakeErrorTarget): Promise<CheckResult[]> {
  const results: CheckResult[] = [];

  // our own server: a service gate that refuses with a status, a reason and a header
  const gated = target.defineService({
    upgrade: () => ({ reject: 401, reason: "missing or bad token", headers: { "www-authenticate": 'Bearer realm="chat"' } }),
    received: () => {},
  });
  const server = await target.serve({ port: 0, hostname: "127.0.0.1", services: { "/ws": gated }, logger: target.silentLogger });
  const gatedUrl = `ws://127.0.0.1:${server.port}/ws`;

  await check(results, "a gate's { reject: 401, reason, headers }: HandshakeError has status, statusText, headers, body, and says why", async () => {
    const e = await refusal(target.connect(gatedUrl));
    assert(e.status === 401, `status ${e.status}`);
    assert(e.statusText === "Unauthorized", `statusText ${JSON.stringify(e.statusText)}`);
    assert(e.headers instanceof Headers, `headers is ${String(e.headers)}, not a Headers`);
    assert(e.headers.get("www-authenticate") === 'Bearer realm="chat"', `WWW-Authenticate ${JSON.stringify(e.headers.get("www-authenticate"))}`);
    assert(typeof e.body === "string" && e.body.includes("missing or bad token"), `body ${JSON.stringify(e.body)}`);
    assert(e.message.includes("401 Unauthorized: missing or bad token"), `message ${JSON.stringify(e.message)}`);
  });

  await check(results, "the WHATWG WebSocket refused by a gate: the error event's message says the status, its error is the HandshakeError", async () => {
    const ws = new target.WebSocket(gatedUrl);
    const event = await new Promise<Event>((resolve) => ws.addEventListener("error", resolve));
    const message = (event as Event & { message?: unknown }).message;
    assert(typeof message === "string" && message.includes("401"), `error event message ${JSON.stringify(message)}`);
    const cause = (event as Event & { error?: Refusal }).error;
    assert(cause?.status === 401 && cause.body?.includes("missing or bad token"), `error event's error ${String(cause)}`);
  });
  await server.close({ timeout: 200 });

  await check(results, "a raw 401 whose body never ends: the error still arrives, the body kept is bounded, the socket is let go", async () => {
    let timer: ReturnType<typeof setInterval> | undefined;
    let written = 0;
    const raw = await rawServer("HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nX-Refused-By: raw", (socket) => {
      socket.write("missing or bad token\n");
      // 1 KiB every 10 ms, forever (no Content-Length, never closed): until the client lets go
      timer = setInterval(() => {
        if (socket.destroyed) return clearInterval(timer);
        written += 1024;
        socket.write("x".repeat(1024));
      }, 10);
    });
    try {
      const e = await refusal(target.connect(`ws://127.0.0.1:${raw.port}/`));
      assert(e.status === 401 && e.statusText === "Unauthorized", `status ${e.status} ${e.statusText}`);
      assert(e.headers?.get("x-refused-by") === "raw", `X-Refused-By ${e.headers?.get("x-refused-by")}`);
      assert(typeof e.body === "string" && e.body.startsWith("missing or bad token\nxxx"), `body starts ${JSON.stringify(e.body?.slice(0, 40))}`);
      assert(utf8Bytes(e.body) <= BODY_BOUND, `body of ${utf8Bytes(e.body)} bytes kept (bound ${BODY_BOUND})`);
      assert(e.message.includes("401 Unauthorized: missing or bad token"), `message ${JSON.stringify(e.message)}`);
      assert(e.message.length < 600, `message of ${e.message.length} chars`);
      assert(await eventually(() => raw.closed() === 1, 5000), `the client kept the socket (${written} bytes written)`);
    } finally {
      clearInterval(timer);
      await raw.close();
    }
  });

  await check(results, "a raw 403 with a huge body (Content-Length 64 MiB, 8 MiB sent at once): the body kept is bounded", async () => {
    const raw = await rawServer(`HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: ${64 * 1024 * 1024}`, (socket) => {
      socket.write("origin not allowed\n");
      for (let i = 0; i < 8; i++) socket.write(Buffer.alloc(1024 * 1024, 0x79));
    });
    try {
      const e = await refusal(target.connect(`ws://127.0.0.1:${raw.port}/`));
      assert(e.status === 403 && e.statusText === "Forbidden", `status ${e.status} ${e.statusText}`);
      assert(typeof e.body === "string" && e.body.startsWith("origin not allowed\nyyy"), `body starts ${JSON.stringify(e.body?.slice(0, 40))}`);
      assert(utf8Bytes(e.body) <= BODY_BOUND, `body of ${utf8Bytes(e.body)} bytes kept (bound ${BODY_BOUND})`);
      assert(e.message.includes("403 Forbidden: origin not allowed"), `message ${JSON.stringify(e.message)}`);
    } finally {
      await raw.close();
    }
  });

  await check(results, "a raw 429 with a chunked body, bad UTF-8 and a connection left open: the body decoded, U+FFFD for the bad byte", async () => {
    const raw = await rawServer("HTTP/1.1 429 Too Many Requests\r\nTransfer-Encoding: chunked\r\nRetry-After: 7", (socket) => {
      socket.write("6\r\nslow d\r\n");
      socket.write(Buffer.concat([Buffer.from("6\r\nown \xff \r\n", "latin1"), Buffer.from("9\r\nplease \u00e9\r\n0\r\n\r\n", "utf8")]));
    });
    try {
      const e = await refusal(target.connect(`ws://127.0.0.1:${raw.port}/`));
      assert(e.status === 429 && e.statusText === "Too Many Requests", `status ${e.status} ${e.statusText}`);
      assert(e.headers?.get("retry-after") === "7", `Retry-After ${e.headers?.get("retry-after")}`);
      assert(e.body === "slow down \uFFFD please \u00e9", `body ${JSON.stringify(e.body)}`);
    } finally {
      await raw.close();
    }
  });

  return results;
}
