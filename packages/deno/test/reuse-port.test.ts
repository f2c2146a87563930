/**
 * Issue 26, "every core", inside Deno: serve({ reusePort: true }) lets two processes listen on one port — the core
 * engine (Deno's node:http honours reusePort) and the runtime engine (Deno.serve, under --unstable-net) — and the
 * kernel spreads the connections over them; topics cross them through @ws/node/cluster (runPrimary +
 * ClusterBroker on Deno's node:cluster IPC). Without reusePort a second server on the port is a ListenError
 * EADDRINUSE; the runtime engine without --unstable-net is refused at start, naming the flag (Deno itself would
 * end the process). Runs test/fixtures/reuse-port.ts.
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const here = resolve(import.meta.dirname);
const DENO = join(dirname(createRequire(import.meta.url).resolve("deno/package.json")), "deno");

type Result = { name: string; ok: boolean; error?: string };

function runInDeno(flags: string[], what: string): Result[] {
  const r = spawnSync(DENO, ["run", "-A", ...flags, join(here, "fixtures/reuse-port.ts"), what], {
    cwd: resolve(here, ".."),
    encoding: "utf8",
    timeout: 180_000,
    env: { ...process.env, NO_COLOR: "1" },
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Result[];
}

const failures = (results: Result[]) => results.filter((x) => !x.ok).map((x) => `${x.name}: ${x.error}`);

describe("@ws/deno: several processes on one port (reusePort)", () => {
  it("core engine: two processes share the port, 40 clients spread over both, every publish reaches every other subscriber once; the default stays exclusive; the runtime engine without --unstable-net is refused naming the flag", () => {
    const results = runInDeno([], "core,refusal");
    expect(results.length).toBe(3);
    expect(failures(results)).toEqual([]);
  }, 200_000);

  it("runtime engine (Deno.serve, --unstable-net): the same", () => {
    const results = runInDeno(["--unstable-net"], "runtime");
    expect(results.length).toBe(2);
    expect(failures(results)).toEqual([]);
  }, 200_000);
});
