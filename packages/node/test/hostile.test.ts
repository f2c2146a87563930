/**
 * Issue 11's attacks over real sockets against @ws/node's serve() with its defaults (the shared checks in
 * ./hostile-checks.ts, also run inside Bun and Deno), and the plain-HTTP side of serve():
 * request bodies streamed to `fetch`, not buffered; responses streamed out.
 */
import { describe, expect, it } from "vitest";
import * as net from "node:net";
import { defineService, serve, silentLogger, type ServeHandle } from "../src/index.ts";
import { runHostileChecks } from "./hostile-checks.ts";
import { REQUEST_BODY_HIGH_WATER_MARK } from "@ws/node-http";

describe("hostile clients against serve() on Node", () => {
  it("every attack gets its bound", async () => {
    const results = await runHostileChecks({ serve: (o) => serve(o), defineService, silentLogger }, ["core"]);
    expect(results.length).toBe(12);
    expect(results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.error}`)).toEqual([]);
  }, 120_000);
});

async function withServer(fetch: (request: Request) => Response | Promise<Response>, run: (s: ServeHandle) => Promise<void>) {
  const s = await serve({ host: "127.0.0.1", logger: silentLogger, fetch });
  try {
    await run(s);
  } finally {
    await s.close({ timeout: 100 });
  }
}

/** A raw HTTP/1.1 request whose body the test writes itself; resolves the response text when the socket ends. */
function rawRequest(port: number, head: string) {
  const socket = net.connect(port, "127.0.0.1");
  let text = "";
  socket.setEncoding("latin1");
  socket.on("data", (d: string) => (text += d));
  socket.on("error", () => {});
  socket.write(head);
  return { socket, text: () => text, ended: new Promise<void>((r) => socket.once("close", () => r())) };
}

describe("serve({ fetch }): bodies are streams", () => {
  it("the handler reads a request body while it is still being sent", async () => {
    let firstChunkBeforeEnd: (n: number) => void = () => {};
    const firstChunk = new Promise<number>((r) => (firstChunkBeforeEnd = r));
    await withServer(
      async (request) => {
        const reader = request.body!.getReader();
        let total = 0;
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          if (total === 0) firstChunkBeforeEnd(value.length);
          total += value.length;
        }
        return new Response(`got ${total}`);
      },
      async (s) => {
        const r = rawRequest(s.port, `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`);
        r.socket.write("1000\r\n" + "a".repeat(0x1000) + "\r\n");
        // the rest of the body is sent only after the handler has seen the first part
        expect(await firstChunk).toBe(0x1000);
        r.socket.write("1000\r\n" + "b".repeat(0x1000) + "\r\n0\r\n\r\n");
        await r.ended;
        expect(r.text()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
        expect(r.text()).toContain("got 8192");
      },
    );
  });

  it("a handler that never reads a large upload answers without the server holding it", async () => {
    let request: Request | null = null;
    await withServer(
      (req) => {
        request = req;
        return new Response("page", { status: 200 });
      },
      async (s) => {
        const size = 256 * 1024 * 1024;
        const r = rawRequest(s.port, `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`);
        const chunk = Buffer.alloc(1024 * 1024, 0x61);
        // keep writing until the response has come (it does not wait for the body)
        for (let sent = 0; sent < size && !r.text().includes("\r\n\r\n"); sent += chunk.length) {
          if (!r.socket.write(chunk)) await new Promise((resolve) => r.socket.once("drain", resolve));
        }
        expect(r.text()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
        r.socket.destroy();
        expect(request).not.toBeNull();
      },
    );
  });

  it("a body the handler has not read yet stays with the client (the socket is paused), not in the server", async () => {
    let backlog = -1;
    const size = 64 * 1024 * 1024;
    let r: ReturnType<typeof rawRequest> | null = null;
    await withServer(
      async (request) => {
        // the handler waits before reading; meanwhile the client has tried to send everything
        await new Promise((resolve) => setTimeout(resolve, 500));
        backlog = r!.socket.writableLength;
        await request.body!.cancel();
        return new Response("ok");
      },
      async (s) => {
        r = rawRequest(s.port, `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`);
        const chunk = Buffer.alloc(1024 * 1024, 0x61);
        for (let i = 0; i < 64; i++) r.socket.write(chunk);
        await new Promise<void>((resolve) => {
          const t = setInterval(() => {
            if (backlog >= 0) {
              clearInterval(t);
              resolve();
            }
          }, 20);
        });
        r.socket.destroy();
        // the server took the high-water mark plus what the kernel's socket buffers hold, not 64 MiB
        expect(REQUEST_BODY_HIGH_WATER_MARK).toBe(64 * 1024);
        expect(backlog).toBeGreaterThan(size / 2);
      },
    );
  });

  it("a streaming response (Server-Sent Events) arrives as it is produced, with a reason phrase", async () => {
    let release: () => void = () => {};
    const released = new Promise<void>((r) => (release = r));
    await withServer(
      () => {
        const body = new ReadableStream<Uint8Array>({
          async start(controller) {
            controller.enqueue(new TextEncoder().encode("data: first\n\n"));
            await released;
            controller.enqueue(new TextEncoder().encode("data: second\n\n"));
            controller.close();
          },
        });
        return new Response(body, { headers: { "content-type": "text/event-stream" } });
      },
      async (s) => {
        const r = rawRequest(s.port, `GET /events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
        await new Promise<void>((resolve) => {
          const t = setInterval(() => {
            if (r.text().includes("data: first")) {
              clearInterval(t);
              resolve();
            }
          }, 10);
        });
        expect(r.text()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
        expect(r.text()).not.toContain("data: second");
        release();
        await r.ended;
        expect(r.text()).toContain("data: second");
      },
    );
  });

  it("keeps each Set-Cookie header and a status's standard reason phrase", async () => {
    await withServer(
      () => {
        const headers = new Headers();
        headers.append("set-cookie", "a=1; Path=/");
        headers.append("set-cookie", "b=2; Path=/");
        return new Response("missing", { status: 404, headers });
      },
      async (s) => {
        const r = rawRequest(s.port, `GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
        await r.ended;
        expect(r.text()).toMatch(/^HTTP\/1\.1 404 Not Found\r\n/);
        expect(r.text().match(/set-cookie: /gi)?.length).toBe(2);
      },
    );
  });
});
