/**
 * Issue 21, defect 4's leftover: on Deno, a server whose process ran out of file descriptors (EMFILE) once must
 * answer again once they are free (Deno's node:net stopped accepting for good; Deno.serve's rejected `finished`
 * ended the process). test/fixtures/descriptors.ts runs both engines inside Deno under `ulimit -n 256`.
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const here = resolve(import.meta.dirname);
const DENO = join(dirname(createRequire(import.meta.url).resolve("deno/package.json")), "deno");

type Result = { name: string; ok: boolean; error?: string };

/** Runs the fixture in Deno under `ulimit -n 256`; `holdMs`: how long the descriptors stay out. */
function runUnderLimit(holdMs: number): Result[] {
  // the limit on the Deno process only: `ulimit -n` in a shell that then becomes Deno
  const r = spawnSync("bash", ["-c", 'ulimit -n 256 && exec "$0" "$@"', DENO, "run", "-A", join(here, "fixtures/descriptors.ts"), "@ws/deno", "core,runtime"], {
    cwd: resolve(here, ".."),
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, NO_COLOR: "1", HOLD_MS: String(holdMs) },
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Result[];
}

describe.skipIf(process.platform === "win32")("@ws/deno after running out of file descriptors", () => {
  it("answers a GET and an upgrade again once descriptors are free, keeps the open WebSocket, one log line (both engines)", () => {
    const results = runUnderLimit(0);
    expect(results.length).toBe(2);
    expect(results.filter((x) => !x.ok).map((x) => `${x.name}: ${x.error}`)).toEqual([]);
  }, 70_000);

  it("does so too when the descriptors stay out for 3 s before they are freed", () => {
    const results = runUnderLimit(3000);
    expect(results.length).toBe(2);
    expect(results.filter((x) => !x.ok).map((x) => `${x.name}: ${x.error}`)).toEqual([]);
  }, 70_000);
});
