/**
 * Issue 21 #7 inside Bun: test/fixtures/http-bounds.ts (plain HTTP on the core engine over Bun's sockets: one
 * descriptor per connection, maxHttpConnections and httpIdleTimeout, an upgrade never starved by idle HTTP
 * connections, no internal unix socket, the peer's address in the fetch handler on every engine, the HTTP/1.1
 * framing the engine speaks itself).
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const here = resolve(import.meta.dirname);
const BUN = join(dirname(createRequire(import.meta.url).resolve("bun/package.json")), "bin/bun.exe");

type Results = Array<{ name: string; ok: boolean; error?: string }>;

describe("@ws/bun plain HTTP on Bun's sockets", () => {
  it("bounds HTTP connections (count, idle time, one descriptor each), never starves upgrades, gives fetch the peer, has no internal socket", () => {
    const r = spawnSync(BUN, ["--conditions=@ws/source", join(here, "fixtures/http-bounds.ts")], { cwd: resolve(here, ".."), encoding: "utf8", timeout: 240_000 });
    if (r.status !== 0) throw new Error(`bun exited ${r.status}: ${r.stderr}`);
    const results = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Results;
    expect(results.length).toBe(11);
    expect(results.filter((x) => !x.ok).map((x) => `${x.name}: ${x.error}`)).toEqual([]);
  }, 250_000);
});
