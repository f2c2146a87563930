/** The /proc readings the scale scenario relies on to decide which steps fit. */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { openFilesLimit } from "../src/proc.ts";

describe("openFilesLimit", () => {
  it("reads the soft open-files limit a shell of ours sees", () => {
    const shell = spawnSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" }).stdout.trim();
    const expected = shell === "unlimited" ? Infinity : Number(shell);
    expect(openFilesLimit("self")).toBe(expected);
    expect(openFilesLimit(process.pid)).toBe(expected);
  });

  it("is null for a process that is not there", () => {
    expect(openFilesLimit(2 ** 22 + 12345)).toBeNull();
  });
});
