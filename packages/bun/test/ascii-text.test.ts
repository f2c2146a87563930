/**
 * Small ASCII text messages on the core engine over Bun's sockets are decoded from offsets into the read
 * (BunSocketStream.asciiText), with no view per message; every other message as before. The checks run inside
 * Bun (test/fixtures/ascii-text.ts).
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const here = resolve(import.meta.dirname);
const BUN = join(dirname(createRequire(import.meta.url).resolve("bun/package.json")), "bin/bun.exe");

describe("small text messages whole in one read (Bun, core engine)", () => {
  it("are decoded natively from offsets when ASCII, validated as before otherwise", () => {
    const r = spawnSync(BUN, ["--conditions=@ws/source", join(here, "fixtures/ascii-text.ts")], { cwd: resolve(here, ".."), encoding: "utf8", timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const results = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Array<{ name: string; ok: boolean; error?: string }>;
    expect(results.filter((x) => !x.ok).map((x) => `${x.name}: ${x.error}`)).toEqual([]);
    expect(results.length).toBe(3);
  });
});
