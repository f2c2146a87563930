/**
 * Issue 26 inside Bun: a parsed request head keeps what its connection keeps — the url and header values as
 * strings of their own — and not the whole head's text behind them (JavaScriptCore's substrings keep their base
 * string). test/fixtures/head-strings.ts parses 2,000 heads and prints the heap kept per head.
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const here = resolve(import.meta.dirname);
const BUN = join(dirname(createRequire(import.meta.url).resolve("bun/package.json")), "bin/bun.exe");

describe("parseHttpHead on Bun", () => {
  it("gives strings of their own: a url and a header value kept do not keep the whole head", () => {
    const r = spawnSync(BUN, ["--conditions=@ws/source", join(here, "fixtures/head-strings.ts")], { cwd: resolve(here, ".."), encoding: "utf8", timeout: 60_000 });
    if (r.status !== 0) throw new Error(`bun exited ${r.status}: ${r.stderr}`);
    const { heapBytesPerHead, cookieBytes } = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { heapBytesPerHead: number; cookieBytes: number };
    // a url of ~30 characters and a 24-character key, with their objects: a few hundred bytes; the head kept
    // behind them (its 2 KB cookie included) would be more than the cookie
    expect(heapBytesPerHead).toBeLessThan(cookieBytes / 4);
  });
});
