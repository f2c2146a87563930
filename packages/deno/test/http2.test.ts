/**
 * Issue 25 on Deno: serve({ http2: true }) — the core engine over Deno's node:http2 — passes the shared HTTP/2 checks
 * (packages/node/test/http2-checks.ts) inside Deno: extended CONNECT, 50 streams on one session, the gate's refusal,
 * the HTTP/1.1 Upgrade on the same port, h2c; the runtime engine (Deno.serve) refuses `http2` with a clear error.
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const here = resolve(import.meta.dirname);
const DENO = join(dirname(createRequire(import.meta.url).resolve("deno/package.json")), "deno");

type Results = Array<{ name: string; ok: boolean; error?: string }>;

describe("WebSockets over HTTP/2 on Deno", () => {
  it("passes the shared HTTP/2 checks on the core engine; the runtime engine refuses http2; the client connects over HTTP/2", () => {
    // cwd: this package, so Deno uses its deno.json import map (@ws/core, @ws/node-http → their TypeScript sources)
    const r = spawnSync(DENO, ["run", "-A", join(here, "fixtures/http2.ts"), "@ws/deno"], {
      cwd: resolve(here, ".."),
      encoding: "utf8",
      timeout: 60_000,
      env: { ...process.env, NO_COLOR: "1" },
    });
    expect(r.status, r.stderr).toBe(0);
    const results = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Results;
    expect(results.length).toBe(7);
    expect(results.filter((x) => !x.ok).map((x) => `${x.name}: ${x.error}`)).toEqual([]);
  }, 90_000);
});
