/**
 * Issue 23 point 2 inside Bun (test/fixtures/bun.ts runs test/hono-checks.ts): the Hono app served by @ws/bun's
 * serve({ fetch: app.fetch }) on both engines and both socket layers, and by a Bun.serve of one's own.
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const here = resolve(import.meta.dirname);
const BUN = join(dirname(createRequire(import.meta.url).resolve("bun/package.json")), "bin/bun.exe");

type Results = Array<{ name: string; ok: boolean; error?: string }>;

describe("@ws/hono on Bun", () => {
  it("the app's middleware gates the upgrade, data reaches conn.data, topics and graceful shutdown work", () => {
    const r = spawnSync(BUN, ["--conditions=@ws/source", join(here, "fixtures/bun.ts")], { cwd: resolve(here, ".."), encoding: "utf8", timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const results = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Results;
    expect(results.length).toBe(28);
    expect(results.filter((x) => !x.ok).map((x) => `${x.name}: ${x.error}`)).toEqual([]);
  }, 130_000);
});
