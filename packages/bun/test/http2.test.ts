/**
 * Issue 25 on Bun: serve({ http2: true }) — the core engine over Bun's node:http2 — passes the shared HTTP/2 checks
 * (packages/node/test/http2-checks.ts) inside Bun: extended CONNECT, 50 streams on one session, the gate's refusal,
 * the HTTP/1.1 Upgrade on the same port, h2c; the runtime engine (Bun.serve) refuses `http2` with a clear error.
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const here = resolve(import.meta.dirname);
const BUN = join(dirname(createRequire(import.meta.url).resolve("bun/package.json")), "bin/bun.exe");

type Results = Array<{ name: string; ok: boolean; error?: string }>;

describe("WebSockets over HTTP/2 on Bun", () => {
  it("passes the shared HTTP/2 checks on the core engine; the runtime engine refuses http2; the client connects over HTTP/2", () => {
    const r = spawnSync(BUN, ["--conditions=@ws/source", join(here, "fixtures/http2.ts"), "@ws/bun"], { cwd: resolve(here, ".."), encoding: "utf8", timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const results = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Results;
    expect(results.length).toBe(7);
    expect(results.filter((x) => !x.ok).map((x) => `${x.name}: ${x.error}`)).toEqual([]);
  }, 90_000);
});
