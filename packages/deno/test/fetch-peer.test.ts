/**
 * The fetch handler's second argument inside Deno, both engines (test/fixtures/fetch-peer.ts): the peer's address.
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const here = resolve(import.meta.dirname);
const DENO = join(dirname(createRequire(import.meta.url).resolve("deno/package.json")), "deno");

describe("@ws/deno fetch handler", () => {
  it("gets the connection's peer (remoteAddress 127.0.0.1, remotePort the client's) on both engines", () => {
    const r = spawnSync(DENO, ["run", "-A", join(here, "fixtures/fetch-peer.ts")], {
      cwd: resolve(here, ".."),
      encoding: "utf8",
      timeout: 60_000,
      env: { ...process.env, NO_COLOR: "1" },
    });
    expect(r.status, r.stderr).toBe(0);
    const results = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Array<{ name: string; ok: boolean; error?: string }>;
    expect(results.length).toBe(2);
    expect(results.filter((x) => !x.ok).map((x) => `${x.name}: ${x.error}`)).toEqual([]);
  });
});
