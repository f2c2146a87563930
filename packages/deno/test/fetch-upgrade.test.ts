/**
 * Issue 23 point 1 inside Deno (test/fixtures/fetch-upgrade.ts runs packages/node/test/fetch-upgrade-checks.ts):
 * `info.upgrade(request, service, { data })` from serve()'s fetch handler on the core engine (Deno's node:http) and
 * on the runtime engine (Deno.upgradeWebSocket underneath).
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const here = resolve(import.meta.dirname);
const DENO = join(dirname(createRequire(import.meta.url).resolve("deno/package.json")), "deno");

type Results = Array<{ name: string; ok: boolean; error?: string }>;

describe("upgrading from a fetch handler on Deno", () => {
  it("gives the 101 (data in conn.data) or the handler's own refusal on both engines", () => {
    const r = spawnSync(DENO, ["run", "-A", join(here, "fixtures/fetch-upgrade.ts"), "@ws/deno"], {
      cwd: resolve(here, ".."),
      encoding: "utf8",
      timeout: 120_000,
      env: { ...process.env, NO_COLOR: "1" },
    });
    expect(r.status, r.stderr).toBe(0);
    const results = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Results;
    expect(results.length).toBe(23);
    expect(results.filter((x) => !x.ok).map((x) => `${x.name}: ${x.error}`)).toEqual([]);
  }, 130_000);
});
