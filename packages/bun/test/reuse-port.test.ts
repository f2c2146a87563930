/**
 * Issue 26, "every core", inside Bun: serve({ reusePort: true }) lets two processes listen on one port on every
 * engine (Bun.listen, Bun's node:http, Bun.serve) and the kernel spreads the connections over them; topics cross
 * them through @ws/node/cluster (runPrimary + ClusterBroker on Bun's node:cluster IPC). Without reusePort (the
 * default) a second server on the port is still a ListenError EADDRINUSE. Runs test/fixtures/reuse-port.ts.
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const here = resolve(import.meta.dirname);
const BUN = join(dirname(createRequire(import.meta.url).resolve("bun/package.json")), "bin/bun.exe");

type Results = Array<{ name: string; ok: boolean; error?: string }>;

describe("@ws/bun: several processes on one port (reusePort)", () => {
  it("two processes per engine share the port, 40 clients spread over both, every publish reaches every other subscriber once; the default stays exclusive", () => {
    const r = spawnSync(BUN, ["--conditions=@ws/source", join(here, "fixtures/reuse-port.ts")], { cwd: resolve(here, ".."), encoding: "utf8", timeout: 180_000 });
    expect(r.status, r.stderr).toBe(0);
    const results = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Results;
    expect(results.length).toBe(6);
    expect(results.filter((x) => !x.ok).map((x) => `${x.name}: ${x.error}`)).toEqual([]);
  }, 200_000);
});
