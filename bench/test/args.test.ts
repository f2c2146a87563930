/** The command line: a quick or partial run must not overwrite the committed full run and its report. */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseArgs } from "../src/run.ts";

describe("parseArgs", () => {
  it("writes the full run's JSON lines and report when nothing narrows the run", () => {
    const o = parseArgs([]);
    expect(o.out?.endsWith(join("results", "latest.jsonl"))).toBe(true);
    expect(o.md?.endsWith("RESULTS.md")).toBe(true);
  });

  it("keeps a quick run, or one narrowed to some scenarios or servers, away from the committed results", () => {
    for (const argv of [["--quick"], ["--scenarios", "small"], ["--servers", "ours-node,ws-bufferutil"]]) {
      const o = parseArgs(argv);
      expect(o.out?.endsWith(join("results", "partial.jsonl"))).toBe(true);
      expect(o.md).toBeNull();
    }
  });

  it("lets --merge redo some runs of the full run in place", () => {
    const o = parseArgs(["--servers", "ours-bun-core", "--merge"]);
    expect(o.out?.endsWith(join("results", "latest.jsonl"))).toBe(true);
    expect(o.md?.endsWith("RESULTS.md")).toBe(true);
  });

  it("writes where it is told, even for a partial run", () => {
    const o = parseArgs(["--quick", "--out", "/tmp/x.jsonl", "--md", "/tmp/X.md"]);
    expect(o.out).toBe("/tmp/x.jsonl");
    expect(o.md).toBe("/tmp/X.md");
  });
});
