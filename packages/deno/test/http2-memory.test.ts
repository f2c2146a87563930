/**
 * Issue 25 on Deno: serve({ http2: true }) (the core engine over Deno's node:http2) — a large message queued on one
 * stream does not make the session refuse its next WebSocket (packages/node/test/http2-memory-checks.ts, run inside Deno).
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const here = resolve(import.meta.dirname);
const DENO = join(dirname(createRequire(import.meta.url).resolve("deno/package.json")), "deno");

describe("HTTP/2 session memory on Deno", () => {
  it("a large message to a slow reader does not lock the session's other streams out", () => {
    // cwd: this package, so Deno uses its deno.json import map (@ws/core, @ws/node-http → their TypeScript sources)
    const r = spawnSync(DENO, ["run", "-A", join(here, "fixtures/http2-memory.ts"), "@ws/deno"], {
      cwd: resolve(here, ".."),
      encoding: "utf8",
      timeout: 60_000,
      env: { ...process.env, NO_COLOR: "1" },
    });
    expect(r.status, r.stderr).toBe(0);
    const results = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Array<{ name: string; ok: boolean; error?: string }>;
    expect(results.filter((x) => !x.ok).map((x) => `${x.name}: ${x.error}`)).toEqual([]);
  }, 90_000);
});
