/** The report's charts: drawn from the run's own records, one bar per compared server, a missing reference said. */
import { describe, expect, it } from "vitest";
import { allCharts, chartsSection, costGrowthCharts, ratioChart, ratioRows, spliceChartsSection, wrap } from "../src/charts.ts";
import { renderReport, type RunRecord } from "../src/report.ts";
import type { ScenarioName } from "../src/scenarios.ts";
import type { ScaleStep } from "../src/generator.ts";
import type { Runtime } from "../src/servers.ts";

function record(server: string, runtime: Runtime, kind: RunRecord["kind"], scenario: ScenarioName, value: number | null, extra: Partial<RunRecord> = {}): RunRecord {
  return {
    time: "2026-12-02T00:00:00Z", server, label: server, runtime, kind, scenario, unit: "msg/s",
    ok: value !== null, value, min: value, max: value, spreadPct: 0, mbPerSecond: null, serverCpu: null,
    generatorCpu: null, checked: 0, checkErrors: [], repeats: 1, load: [0, 0, 0], ...extra,
  };
}

function step(connections: number, bytesPerConnection: number, p50Ms: number, p99Ms: number): ScaleStep {
  return { connections, handshakesPerSecond: 1, rss: 1, bytesPerConnection, broadcasts: 1, deliveriesPerSecond: 1, p50Ms, p99Ms, serverCpu: null, generatorCpu: 1 };
}

/** A small fixed run, as JSON lines: Node with its reference, Bun with its, Deno without Deno's built-in. */
const lines = [
  record("ours-node", "node", "ours", "small", 300_000, { label: "@ws/node", min: 270_000, max: 310_000 }),
  record("ws-bufferutil", "node", "peer", "small", 100_000, { label: "ws + bufferutil", min: 90_000, max: 110_000 }),
  record("crossws-node", "node", "peer", "small", 80_000, { label: "crossws (node)" }),
  record("raw-node", "node", "raw", "small", 600_000, { label: "raw TCP echo (node)" }),
  record("bun-builtin", "bun", "builtin", "small", 800_000, { label: "Bun.serve (built-in)" }),
  record("ours-bun-core", "bun", "ours", "small", 400_000, { label: "@ws/bun core" }),
  record("ours-deno-core", "deno", "ours", "small", 290_000, { label: "@ws/deno core" }),
  record("ws", "node", "peer", "small", null, { label: "ws (pure JS)", skipped: "not in this run" }),
  record("ours-node", "node", "ours", "scale", 6000, { label: "@ws/node", unit: "B/conn", scale: [step(1000, 10_000, 12, 38), step(10_000, 6000, 160, 180)] }),
  record("ws-bufferutil", "node", "peer", "scale", 6500, { label: "ws + bufferutil", unit: "B/conn", scale: [step(1000, 13_000, 12, 38), step(10_000, 6500, 150, 170)] }),
].map((r) => JSON.stringify(r));
const records = lines.map((l) => JSON.parse(l) as RunRecord);

const count = (svg: string, re: RegExp) => (svg.match(re) ?? []).length;

describe("ratioChart", () => {
  it("draws one bar per compared server with its ratio to its runtime's reference, and no bar for the references or the raw echo", () => {
    const chart = ratioChart(records, "small")!;
    expect(chart.file).toBe("small.svg");
    expect(chart.svg).toMatch(/^<svg [^>]*role="img"/);
    expect(chart.svg).toContain("<title id=\"t\">small: each server ÷ its runtime's reference (higher is better)</title>");
    // @ws/node, crossws, @ws/bun core: three bars; @ws/deno core has no reference, ws was skipped
    expect(count(chart.svg, /class="bar"/g)).toBe(3);
    const ratios = [...chart.svg.matchAll(/<text class="ratio"[^>]*>([^<]+)<\/text>/g)].map((m) => m[1]);
    expect(ratios).toEqual(["3.00×", "0.80×", "0.50×"]);
    // each server's own figure under its name, the one without a reference too
    const figures = [...chart.svg.matchAll(/<text class="figure"[^>]*>([^<]+)<\/text>/g)].map((m) => m[1]);
    expect(figures).toEqual(["300,000 msg/s", "80,000 msg/s", "400,000 msg/s", "290,000 msg/s"]);
    expect(chart.svg).not.toContain("raw TCP echo");
    expect(chart.svg).not.toContain('data-server="ws-bufferutil"');
    expect(chart.svg).not.toContain('data-server="bun-builtin"');
    // the 1.0× reference line's label, and the better (dark) and worse (light) bars
    expect(chart.svg).toContain("1.0× = the reference");
    expect(count(chart.svg, /class="bar"[^>]*fill="#1f4e79"/g)).toBe(1);
  });

  it("says when a server's reference did not run, instead of drawing a bar", () => {
    const deno = ratioRows(records, "small").find((r) => r.server === "ours-deno-core")!;
    expect(deno.ratio).toBeNull();
    expect(deno.missing).toBe("no Deno.upgradeWebSocket (built-in) figure in this run");
    const svg = ratioChart(records, "small")!.svg;
    expect(svg).toMatch(/data-server="ours-deno-core">\n<text[^>]*>@ws\/deno core<\/text>\n<text class="figure"[^>]*>290,000 msg\/s<\/text>\n<text class="missing"[^>]*>— no Deno.upgradeWebSocket \(built-in\) figure in this run<\/text>/);
  });

  it("draws the spread as a whisker from our worst window over the reference's best to our best over its worst", () => {
    const node = ratioRows(records, "small").find((r) => r.server === "ours-node")!;
    expect(node.low).toBeCloseTo(270_000 / 110_000);
    expect(node.high).toBeCloseTo(310_000 / 90_000);
    // @ws/node and crossws (against ws + bufferutil, whose windows varied); not @ws/bun core (no spread on either side)
    expect(count(ratioChart(records, "small")!.svg, /class="whisker"/g)).toBe(2);
    expect(ratioRows(records, "small").find((r) => r.server === "ours-bun-core")!.low).toBeNull();
  });

  it("draws nothing for a scenario without records, and escapes labels", () => {
    expect(ratioChart(records, "medium")).toBeNull();
    const svg = ratioChart([record("ours-node", "node", "ours", "large", 2, { label: "a<b & c" }), record("ws-bufferutil", "node", "peer", "large", 1)], "large")!.svg;
    expect(svg).toContain("a&lt;b &amp; c");
    expect(svg).not.toContain("a<b");
  });
});

describe("wrap", () => {
  it("breaks a long heading at spaces, no line longer than asked unless one word is", () => {
    expect(wrap("scale: 1k → 10k → 50k connections on one server process", 20)).toEqual(["scale: 1k → 10k →", "50k connections on", "one server process"]);
    expect(wrap("short", 20)).toEqual(["short"]);
  });
});

describe("costGrowthCharts", () => {
  it("draws RSS per connection and broadcast p50 / p99 against the connections, one line per server", () => {
    const charts = costGrowthCharts(records);
    expect(charts.map((c) => c.file)).toEqual(["scale-rss.svg", "scale-broadcast-p50.svg", "scale-broadcast-p99.svg"]);
    for (const c of charts) {
      expect(c.svg).toContain(`<title id="t">${c.title}</title>`);
      expect(count(c.svg, /<g class="series"/g)).toBe(2);
      expect(c.svg).toContain("open connections (log scale)");
    }
    expect(charts[0]!.svg).toContain("@ws/node: 1,000: 10,000 B, 10,000: 6,000 B");
    expect(charts[2]!.svg).toContain("ws + bufferutil: 1,000: 38 ms, 10,000: 170 ms");
    expect(costGrowthCharts(records.filter((r) => r.scenario !== "scale"))).toEqual([]);
  });
});

describe("the report's Charts section", () => {
  it("links every chart relative to the report, and replaces an earlier section in place", () => {
    const charts = allCharts(records);
    expect(charts.map((c) => c.file)).toEqual(["small.svg", "scale.svg", "scale-rss.svg", "scale-broadcast-p50.svg", "scale-broadcast-p99.svg"]);
    const section = chartsSection(charts, "charts");
    expect(count(section, /!\[[^\]]+\]\(charts\/[a-z0-9-]+\.svg\)/g)).toBe(5);
    const report = "# R\n\n## Summary\n\nt\n\n## Targets\n\nx\n";
    const once = spliceChartsSection(report, section);
    expect(once.indexOf("## Charts")).toBeGreaterThan(once.indexOf("## Summary"));
    expect(once.indexOf("## Charts")).toBeLessThan(once.indexOf("## Targets"));
    expect(spliceChartsSection(once, section)).toBe(once);
    expect(spliceChartsSection(once, "## Charts\n\nnew")).toContain("## Charts\n\nnew\n\n## Targets\n\nx\n");
  });

  it("is in the report a run writes, after the summary, before the targets", () => {
    const ctx = {
      started: { time: "2026-12-02T16:56:00Z", load: [0, 0, 0] as [number, number, number] },
      finished: { time: "2026-12-02T17:16:00Z", load: [0, 0, 0] as [number, number, number] },
      options: { warmupMs: 1, durationMs: 1, repeats: 1, rounds: 1, sample: 1 },
      pinned: false,
      versions: {},
    };
    const md = renderReport(records, { ...ctx, charts: { list: allCharts(records), dir: "charts" } });
    expect(md).toMatch(/## Summary[\s\S]*## Charts[\s\S]*!\[small: [^\]]+\]\(charts\/small\.svg\)[\s\S]*## Targets/);
    expect(renderReport(records, ctx)).not.toContain("## Charts");
  });
});
