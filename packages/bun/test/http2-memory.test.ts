/**
 * Issue 25 on Bun: serve({ http2: true }) (the core engine over Bun's node:http2) — a large message queued on one
 * stream does not make the session refuse its next WebSocket (packages/node/test/http2-memory-checks.ts, run inside Bun).
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const here = resolve(import.meta.dirname);
const BUN = join(dirname(createRequire(import.meta.url).resolve("bun/package.json")), "bin/bun.exe");

describe("HTTP/2 session memory on Bun", () => {
  it("a large message to a slow reader does not lock the session's other streams out", () => {
    const r = spawnSync(BUN, ["--conditions=@ws/source", join(here, "fixtures/http2-memory.ts"), "@ws/bun"], { cwd: resolve(here, ".."), encoding: "utf8", timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const results = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Array<{ name: string; ok: boolean; error?: string }>;
    expect(results.filter((x) => !x.ok).map((x) => `${x.name}: ${x.error}`)).toEqual([]);
  }, 90_000);
});
