/**
 * Issue 23 point 1 on Node (the shared checks in ./fetch-upgrade-checks.ts, also run inside Bun and Deno): upgrading
 * from serve()'s fetch handler, and from attach(server, { fetch }) on a plain node:http server.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { attach, connect, defineService, serve, silentLogger, upgrade, type EngineServeOptions } from "../src/index.ts";
import { runFetchUpgradeChecks } from "./fetch-upgrade-checks.ts";

/** serve() as attach(server, { fetch }) on a node:http server of our own that answers plain HTTP itself. */
async function serveByAttach(options: EngineServeOptions) {
  const { fetch, port, hostname, engine, ...rest } = options;
  void engine;
  const server = http.createServer((req, res) => {
    // plain HTTP: the server's own listener (here, the same fetch handler's answer for /hello)
    if (req.url === "/hello") {
      res.writeHead(200, { "x-plain": "1" });
      res.end("hi from fetch");
      return;
    }
    res.writeHead(404);
    res.end("not found");
  });
  await new Promise<void>((resolve) => server.listen(port ?? 0, hostname, resolve));
  const ws = attach(server, { ...rest, fetch });
  return {
    port: (server.address() as AddressInfo).port,
    get connectionCount() {
      return ws.connectionCount;
    },
    async close(o?: { timeout?: number }) {
      await ws.close(o);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const failures = (results: Array<{ name: string; ok: boolean; error?: string }>) => results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.error}`);

describe("upgrading from a fetch handler on Node", () => {
  it("serve({ fetch }): info.upgrade and upgrade() give the 101 or the handler's own refusal (status, headers, body)", async () => {
    const results = await runFetchUpgradeChecks({ serve: (o) => serve(o), defineService, silentLogger, connect, upgrade }, [{ label: "serve", options: {} }]);
    expect(results.length).toBe(12);
    expect(failures(results)).toEqual([]);
  }, 60_000);

  it("attach(server, { fetch }) on a plain node:http server: the same", async () => {
    const results = await runFetchUpgradeChecks({ serve: serveByAttach, defineService, silentLogger, connect, upgrade }, [{ label: "attach", options: {} }]);
    expect(results.length).toBe(12);
    expect(failures(results)).toEqual([]);
  }, 60_000);
});
