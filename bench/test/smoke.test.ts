/**
 * Smoke run of the benchmark: every server starts, a few hundred messages flow and a sample of replies is
 * checked byte for byte. It asserts correctness only, never a speed. Runs the built generator and Node servers
 * (dist/), as the benchmark does: turbo builds them before the tests.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RunRecord } from "../src/report.ts";
import { defaultOptions, runBenchmark, type BenchOptions } from "../src/run.ts";
import { SCENARIO_ORDER } from "../src/scenarios.ts";
import { BENCH_DIR, SERVERS } from "../src/servers.ts";

function smoke(overrides: Partial<BenchOptions>): BenchOptions {
  return {
    ...defaultOptions(),
    warmupMs: 100,
    durationMs: 250,
    settleMs: 200,
    repeats: 1,
    sample: 32,
    connections: 4,
    inFlight: 4,
    pin: false,
    out: null,
    md: null,
    log: () => {},
    ...overrides,
  };
}

/** A server may be skipped only for a reason outside this package (a runtime or adapter not there). */
function acceptable(r: RunRecord): boolean {
  if (r.skipped) return r.kind !== "peer" && !r.server.endsWith("-node");
  return r.ok;
}

function explain(records: RunRecord[]): string {
  return records
    .filter((r) => !acceptable(r))
    .map((r) => `${r.server}/${r.scenario}: ${r.error ?? r.skipped} ${r.checkErrors.join("; ")}`)
    .join("\n");
}

describe("benchmark smoke run", () => {
  it("is built", () => {
    expect(existsSync(join(BENCH_DIR, "dist/generator.js"))).toBe(true);
    expect(existsSync(join(BENCH_DIR, "dist/servers/ours-node.js"))).toBe(true);
  });

  it("every server starts, echoes and broadcasts correctly", async () => {
    const records = await runBenchmark(smoke({ scenarios: ["small", "broadcast"], servers: SERVERS.map((s) => s.id) }));
    expect(explain(records)).toBe("");
    for (const r of records.filter((r) => r.ok)) {
      expect(r.checked, `${r.server}/${r.scenario}`).toBeGreaterThan(0);
      expect(r.value, `${r.server}/${r.scenario}`).toBeGreaterThan(0);
    }
    // the Node servers are always there
    for (const id of ["ours-node", "ws-bufferutil", "ws", "crossws-node", "raw-node"]) {
      expect(records.find((r) => r.server === id && r.scenario === "small")?.ok, id).toBe(true);
    }
  });

  it("every scenario runs against @ws/node and ws", async () => {
    const records = await runBenchmark(smoke({ scenarios: [...SCENARIO_ORDER], servers: ["ours-node", "ws-bufferutil"], connections: 8, steps: [4, 8] }));
    expect(explain(records)).toBe("");
    expect(records).toHaveLength(SCENARIO_ORDER.length * 2);
    for (const r of records) {
      expect(r.ok, `${r.server}/${r.scenario}`).toBe(true);
      expect(r.checked, `${r.server}/${r.scenario}`).toBeGreaterThan(0);
    }
    const compressed = records.find((r) => r.server === "ours-node" && r.scenario === "compressed")!;
    expect(compressed.extensions).toContain("permessage-deflate");
    const idle = records.find((r) => r.server === "ours-node" && r.scenario === "idle")!;
    expect(idle.memory?.connections).toBe(8);
    // idle with deflate agreed: every connection negotiated it, and the probe's compressed echo was checked
    const idleDeflate = records.find((r) => r.server === "ours-node" && r.scenario === "idle-deflate")!;
    expect(idleDeflate.memory?.connections).toBe(8);
    expect(idleDeflate.checked).toBeGreaterThan(0);
    // handshakes: every one of a window's connections was upgraded (and counted) before any was dropped
    const handshake = records.find((r) => r.server === "ours-node" && r.scenario === "handshake")!;
    expect(handshake.checked).toBe(8 * handshake.repeats);
    // reconnect: the server killed and started again on its port, every client open again (counted), its peak RSS read
    for (const server of ["ours-node", "ws-bufferutil"]) {
      const reconnect = records.find((r) => r.server === server && r.scenario === "reconnect")!;
      expect(reconnect.checked, server).toBe(8 * reconnect.repeats);
      expect(reconnect.reconnect?.peakRssBytes, server).toBeGreaterThan(0);
    }
    // scale: each step measured on the same server, every connection a receiver of every broadcast
    for (const server of ["ours-node", "ws-bufferutil"]) {
      const scale = records.find((r) => r.server === server && r.scenario === "scale")!;
      expect(scale.scale?.map((s) => s.connections), server).toEqual([4, 8]);
      for (const step of scale.scale!) {
        expect(step.broadcasts, server).toBeGreaterThanOrEqual(5);
        expect(step.deliveriesPerSecond, server).toBeGreaterThan(0);
        expect(step.p99Ms, server).toBeGreaterThanOrEqual(step.p50Ms);
      }
    }
  });
});
