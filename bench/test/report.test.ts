/** The report's targets table: each target's verdict comes from the run's own figures. */
import { describe, expect, it } from "vitest";
import { targetsTable, type RunRecord, type Target } from "../src/report.ts";
import type { ScenarioName } from "../src/scenarios.ts";

function record(server: string, scenario: ScenarioName, value: number | null, extra: Partial<RunRecord> = {}): RunRecord {
  return {
    time: "2026-12-02T00:00:00Z", server, label: server, runtime: "node", kind: "ours", scenario, unit: "msg/s",
    ok: value !== null, value, min: value, max: value, spreadPct: 0, mbPerSecond: null, serverCpu: null,
    generatorCpu: null, checked: 0, checkErrors: [], repeats: 1, load: [0, 0, 0], ...extra,
  };
}

const targets: Target[] = [
  { server: "ours-node", scenario: "large", against: "ws-bufferutil", bound: 1.0 },
  { server: "ours-node", scenario: "idle", bound: 6000 },
  { server: "ours-bun-core", scenario: "small", against: "bun-builtin", bound: 0.9 },
];

function rows(table: string): string[] {
  return table.split("\n").slice(2);
}

describe("targetsTable", () => {
  it("marks a ratio target met only when the ratio reaches the bound, and an idle target only when at or below it", () => {
    const met = rows(targetsTable([record("ours-node", "large", 1200), record("ws-bufferutil", "large", 1200), record("ours-node", "idle", 6000)], targets));
    expect(met).toEqual([
      "| @ws/node | large | ≥ 1.00× ws + bufferutil | 1.00× | yes |",
      "| @ws/node | idle | ≤ 6,000 B/conn | 6,000 B | yes |",
    ]);
    const missed = rows(targetsTable([record("ours-node", "large", 1100), record("ws-bufferutil", "large", 1200), record("ours-node", "idle", 6001)], targets));
    expect(missed).toEqual([
      "| @ws/node | large | ≥ 1.00× ws + bufferutil | 0.92× | **no** |",
      "| @ws/node | idle | ≤ 6,000 B/conn | 6,001 B | **no** |",
    ]);
  });

  it("leaves out a target whose server or reference did not run, and reports a failed run as not met", () => {
    const table = rows(targetsTable([record("ours-bun-core", "small", 5), record("ours-node", "large", null), record("ws-bufferutil", "large", 10)], targets));
    expect(table).toEqual(["| @ws/node | large | ≥ 1.00× ws + bufferutil | FAILED | no |"]);
  });

  it("checks deflate's extra idle bytes as the difference to the same server's plain idle figure", () => {
    const over: Target[] = [{ server: "ours-node", scenario: "idle-deflate", over: "idle", bound: 2000 }];
    const ok = rows(targetsTable([record("ours-node", "idle", 5000), record("ours-node", "idle-deflate", 7000)], over));
    expect(ok).toEqual(["| @ws/node | idle-deflate | ≤ 2,000 B/conn more than idle | 2,000 B | yes |"]);
    const missed = rows(targetsTable([record("ours-node", "idle", 5000), record("ours-node", "idle-deflate", 7500)], over));
    expect(missed).toEqual(["| @ws/node | idle-deflate | ≤ 2,000 B/conn more than idle | 2,500 B | **no** |"]);
    expect(rows(targetsTable([record("ours-node", "idle-deflate", 7500)], over))).toEqual([]);
  });

  it("checks an idle ratio target as an upper bound (fewer bytes than the reference is better)", () => {
    const idle: Target[] = [{ server: "ours-node", scenario: "idle", against: "ws-bufferutil", bound: 0.9 }];
    expect(rows(targetsTable([record("ours-node", "idle", 7200), record("ws-bufferutil", "idle", 8000)], idle))).toEqual([
      "| @ws/node | idle | ≤ 0.90× ws + bufferutil | 0.90× | yes |",
    ]);
    expect(rows(targetsTable([record("ours-node", "idle", 8800), record("ws-bufferutil", "idle", 8000)], idle))).toEqual([
      "| @ws/node | idle | ≤ 0.90× ws + bufferutil | 1.10× | **no** |",
    ]);
  });

  it("misses a steady-figure target when the spread is too wide, even with the ratio reached", () => {
    const steady: Target[] = [{ server: "ours-node", scenario: "medium", against: "ws-bufferutil", bound: 1.2, maxSpreadPct: 30 }];
    const base = record("ws-bufferutil", "medium", 60_000);
    expect(rows(targetsTable([record("ours-node", "medium", 75_000, { spreadPct: 12 }), base], steady))).toEqual([
      "| @ws/node | medium | ≥ 1.20× ws + bufferutil, spread ≤ 30 % | 1.25× (spread 12 %) | yes |",
    ]);
    expect(rows(targetsTable([record("ours-node", "medium", 75_000, { spreadPct: 80 }), base], steady))).toEqual([
      "| @ws/node | medium | ≥ 1.20× ws + bufferutil, spread ≤ 30 % | 1.25× (spread 80 %) | **no** |",
    ]);
  });

  it("shows what each handshake cost the server beside a handshake ratio (the generator may cap the rate)", () => {
    const hs: Target[] = [{ server: "ours-node", scenario: "handshake", against: "ws-bufferutil", bound: 1.2 }];
    const table = rows(targetsTable([record("ours-node", "handshake", 10_000, { serverCpuMicrosPerMessage: 60 }), record("ws-bufferutil", "handshake", 10_000, { serverCpuMicrosPerMessage: 75 })], hs));
    expect(table).toEqual(["| @ws/node | handshake | ≥ 1.20× ws + bufferutil | 1.00× (server CPU per handshake 60 µs, ws + bufferutil 75 µs) | **no** |"]);
  });

  it("reports the scale steps that could not run", () => {
    const table = rows(targetsTable([record("ours-node", "scale", 1, { notRun: "50,000 connections not run: open-files limit 20,000" })], []));
    expect(table).toEqual(["| every server | scale | 50,000 connections | 50,000 connections not run: open-files limit 20,000 | **no** |"]);
  });
});
