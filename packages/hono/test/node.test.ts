/**
 * Issue 23 point 2 on Node (test/hono-checks.ts against test/fixtures/app.ts, a real Hono app): served by @ws/node's
 * `serve({ fetch: app.fetch })`, and by `@hono/node-server`'s `serve()` with `createNodeWebSocket({ app })
 * .injectWebSocket(server)` (no cast).
 */
import { createSecureServer } from "node:http2";
import { serve as honoServe, type ServerType } from "@hono/node-server";
import { connect, serve, silentLogger } from "@ws/node";
import { describe, expect, it } from "vitest";
import { createNodeWebSocket } from "../src/node.ts";
import { makeApp } from "./fixtures/app.ts";
import { runHonoChecks, type CheckResult } from "./hono-checks.ts";
import { selfSignedCert } from "../../node/test/helpers.ts";

const failures = (results: CheckResult[]) => results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.error}`);

describe("@ws/hono on Node", () => {
  it("serve({ fetch: app.fetch }) from @ws/node: the app's middleware gates the upgrade, data reaches conn.data", async () => {
    const app = makeApp();
    const server = await serve({ port: 0, hostname: "127.0.0.1", logger: silentLogger, fetch: app.fetch });
    const results = await runHonoChecks({ connect }, "@ws/node serve", {
      port: server.port,
      connectionCount: () => server.connectionCount,
      close: () => server.close({ timeout: 2000 }),
    });
    expect(results.length).toBe(7);
    expect(failures(results)).toEqual([]);
  });

  it("@hono/node-server's serve() with injectWebSocket(server): the same, with no cast", async () => {
    const app = makeApp();
    const { upgradeWebSocket, injectWebSocket } = createNodeWebSocket({ app, logger: silentLogger });
    expect(typeof upgradeWebSocket).toBe("function");
    const port = await new Promise<{ server: ServerType; port: number }>((resolve) => {
      const server = honoServe({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => resolve({ server, port: info.port }));
    });
    const ws = injectWebSocket(port.server);
    const results = await runHonoChecks({ connect }, "@hono/node-server + injectWebSocket", {
      port: port.port,
      connectionCount: () => ws.connectionCount,
      close: async () => {
        await ws.close({ timeout: 2000 });
        await new Promise<void>((resolve) => port.server.close(() => resolve()));
      },
    });
    expect(results.length).toBe(7);
    expect(failures(results)).toEqual([]);
  });

  it("an app no ws-toolkit server hands its requests to (app.request, a bare Bun.serve): the error names the entries", async () => {
    const app = makeApp();
    let error: unknown;
    app.onError((e, c) => {
      error = e;
      return c.text("no", 500);
    });
    const res = await app.request("/echo", { headers: { Upgrade: "websocket", Connection: "Upgrade", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13" } });
    expect(res.status).toBe(500);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/serve\(\{ fetch: app\.fetch \}\) from @ws\/node, @ws\/bun or @ws\/deno/);
    expect((error as Error).message).toMatch(/injectWebSocket\(server\)/);
  });

  it("@hono/node-server on node:http2 (createSecureServer, allowHTTP1): injectWebSocket takes it, wss upgrades over its HTTP/1.1 side", async () => {
    const { key, cert } = selfSignedCert();
    const app = makeApp();
    const { injectWebSocket } = createNodeWebSocket({ app, logger: silentLogger });
    const started = await new Promise<{ server: ServerType; port: number }>((resolve) => {
      const server = honoServe({ fetch: app.fetch, port: 0, hostname: "127.0.0.1", createServer: createSecureServer, serverOptions: { key, cert, allowHTTP1: true } }, (info) =>
        resolve({ server, port: info.port }),
      );
    });
    const ws = injectWebSocket(started.server);
    try {
      const conn = await connect(`wss://127.0.0.1:${started.port}/chat`, { headers: { Cookie: "user=ann" }, tls: { ca: cert } });
      expect(await conn.read({ timeout: 5000 })).toBe("hello ann");
      const refused = await connect(`wss://127.0.0.1:${started.port}/chat`, { tls: { ca: cert } }).catch((e: unknown) => e);
      expect(refused).toMatchObject({ name: "HandshakeError", status: 401 });
      const closed = conn.closed;
      await ws.close({ timeout: 2000 });
      expect((await closed).code).toBe(1001);
    } finally {
      await new Promise<void>((resolve) => started.server.close(() => resolve()));
    }
  });
});
