/**
 * Issue 23 point 1 inside Bun (test/fixtures/fetch-upgrade.ts runs packages/node/test/fetch-upgrade-checks.ts):
 * `info.upgrade(request, service, { data })` from serve()'s fetch handler on the core engine (Bun's sockets and
 * Bun's node:http) and on the runtime engine (Bun.serve's server.upgrade underneath).
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const here = resolve(import.meta.dirname);
const BUN = join(dirname(createRequire(import.meta.url).resolve("bun/package.json")), "bin/bun.exe");

type Results = Array<{ name: string; ok: boolean; error?: string }>;

describe("upgrading from a fetch handler on Bun", () => {
  it("gives the 101 (data in conn.data) or the handler's own refusal on both engines and both socket layers", () => {
    const r = spawnSync(BUN, ["--conditions=@ws/source", join(here, "fixtures/fetch-upgrade.ts"), "@ws/bun"], { cwd: resolve(here, ".."), encoding: "utf8", timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const results = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Results;
    expect(results.length).toBe(35);
    expect(results.filter((x) => !x.ok).map((x) => `${x.name}: ${x.error}`)).toEqual([]);
  }, 130_000);
});
