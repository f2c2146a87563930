/**
 * Issue 23 point 2 inside Deno (test/fixtures/deno.ts runs test/hono-checks.ts): the Hono app served by @ws/deno's
 * serve({ fetch: app.fetch }) on both engines, and by a Deno.serve of one's own. Deno loads the built packages
 * (dist/): `pnpm turbo run build` first.
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const here = resolve(import.meta.dirname);
const DENO = join(dirname(createRequire(import.meta.url).resolve("deno/package.json")), "deno");

type Results = Array<{ name: string; ok: boolean; error?: string }>;

describe("@ws/hono on Deno", () => {
  it("the app's middleware gates the upgrade, data reaches conn.data, topics and graceful shutdown work", () => {
    const r = spawnSync(DENO, ["run", "-A", join(here, "fixtures/deno.ts")], {
      cwd: resolve(here, ".."),
      encoding: "utf8",
      timeout: 120_000,
      env: { ...process.env, NO_COLOR: "1" },
    });
    expect(r.status, r.stderr).toBe(0);
    const results = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Results;
    expect(results.length).toBe(21);
    expect(results.filter((x) => !x.ok).map((x) => `${x.name}: ${x.error}`)).toEqual([]);
  }, 130_000);
});
