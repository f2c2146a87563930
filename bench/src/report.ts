/** The Markdown report (bench/RESULTS.md) and the snippet for the project README. */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { SCENARIO_ORDER, SCENARIOS, type ScenarioName } from "./scenarios.ts";
import { chartsSection, type Chart } from "./charts.ts";
import type { ReconnectFigures, ScaleStep } from "./generator.ts";
import { BASELINE, BUILTIN, SERVERS, type Runtime } from "./servers.ts";

export interface RunRecord {
  time: string;
  server: string;
  label: string;
  runtime: Runtime;
  kind: "ours" | "peer" | "builtin" | "raw";
  scenario: ScenarioName;
  unit: string;
  ok: boolean;
  skipped?: string;
  error?: string;
  /** median over the measured windows */
  value: number | null;
  min: number | null;
  max: number | null;
  /** (max − min) / median, in % */
  spreadPct: number | null;
  /** payload MB/s one way (echo scenarios) */
  mbPerSecond: number | null;
  /** % of one core, median over the windows */
  serverCpu: number | null;
  /**
   * echo scenarios: the server's CPU time per echoed message in µs; handshake: per handshake (median over the
   * windows). On a busy machine, where other work takes the server's core and rates drop, or where the load
   * generator caps the rate, a steadier measure of what each one costs the server
   */
  serverCpuMicrosPerMessage?: number | null;
  generatorCpu: number | null;
  checked: number;
  checkErrors: string[];
  extensions?: string;
  memory?: { baselineRss: number; loadedRss: number; connections: number; bytesPerConnection: number };
  /** reconnect: the time until all are open again, the restarted server's peak RSS, … */
  reconnect?: ReconnectFigures;
  /** scale: one entry per step */
  scale?: ScaleStep[];
  /** scale: steps not run, and why */
  notRun?: string;
  repeats: number;
  load: [number, number, number];
}

export interface ReportContext {
  started: { time: string; load: [number, number, number] };
  finished: { time: string; load: [number, number, number] };
  options: { warmupMs: number; durationMs: number; repeats: number; rounds: number; sample: number };
  pinned: boolean;
  versions: Record<string, string>;
  /** the charts drawn for this report, and the folder they are in, relative to it */
  charts?: { list: Chart[]; dir: string };
}

/** An error message as one plain line (no terminal colours, no stack). */
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, "").split("\n")[0]!.trim().replace(/\|/g, "\\|");
}

const nf = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

function formatValue(r: RunRecord): string {
  if (r.value === null) return "—";
  if (r.scenario === "large") return `${r.value.toFixed(1)}`;
  return nf.format(r.value);
}

function ratio(r: RunRecord | undefined, base: RunRecord | undefined): string {
  if (!r?.ok || !base?.ok || r.value === null || !base.value) return "—";
  return `${(r.value / base.value).toFixed(2)}×`;
}

function cpuModel(): string {
  try {
    return /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ?? "unknown CPU";
  } catch {
    return "unknown CPU";
  }
}

function find(records: RunRecord[], server: string | null, scenario: ScenarioName): RunRecord | undefined {
  return server ? records.find((r) => r.server === server && r.scenario === scenario) : undefined;
}

function cell(records: RunRecord[], r: RunRecord | undefined): string {
  if (!r) return "";
  if (r.skipped) return "n/a";
  if (!r.ok) return "FAILED";
  const base = find(records, BASELINE, r.scenario);
  const x = r.server === BASELINE ? "" : ` (${ratio(r, base)})`;
  return `${formatValue(r)}${x}`;
}

function serversIn(records: RunRecord[]): typeof SERVERS {
  return SERVERS.filter((s) => records.some((r) => r.server === s.id));
}

/** The summary matrix: servers × scenarios, each cell the median and its ratio to ws + bufferutil. */
export function summaryTable(records: RunRecord[], scenarios: ScenarioName[] = SCENARIO_ORDER): string {
  const present = scenarios.filter((s) => records.some((r) => r.scenario === s));
  const head = `| server | ${present.map((s) => `${s} (${SCENARIOS[s].unit})`).join(" | ")} |`;
  const rule = `| --- | ${present.map(() => "---:").join(" | ")} |`;
  const rows = serversIn(records)
    .filter((def) => records.some((r) => r.server === def.id && !r.skipped))
    .map((def) => `| ${def.label} | ${present.map((s) => cell(records, find(records, def.id, s))).join(" | ")} |`);
  return [head, rule, ...rows].join("\n");
}

/**
 * One target of the performance issue (issue 26, with the earlier ones it keeps): a server's figure in one
 * scenario, either as a ratio to a reference server from the same run or as an absolute bound on idle bytes per
 * connection.
 */
export interface Target {
  server: string;
  scenario: ScenarioName;
  /** the reference server, for a ratio target */
  against?: string;
  /** idle: the bound is on the difference to this scenario's figure of the same server (deflate's extra bytes) */
  over?: ScenarioName;
  /**
   * ratio ≥ this (with `against`), or ≤ this where the scenario counts bytes (idle: lower is better), or bytes
   * per connection ≤ this (idle, without `against`)
   */
  bound: number;
  /** and the spread over the windows, (max − min) / median in %, at most this (a steady figure, not a lucky one) */
  maxSpreadPct?: number;
}

/** Scenarios whose figure is bytes per connection: lower is better, so a ratio target is an upper bound. */
const LOWER_IS_BETTER = new Set<ScenarioName>(["idle", "idle-deflate", "scale"]);

export const TARGETS: Target[] = [
  // issue 26: connection storms
  { server: "ours-node", scenario: "handshake", against: BASELINE, bound: 1.2 },
  { server: "ours-bun-core", scenario: "handshake", against: "bun-builtin", bound: 0.9 },
  { server: "ours-deno-core", scenario: "handshake", against: "deno-builtin", bound: 0.9 },
  // issue 26: idle fleets
  { server: "ours-node", scenario: "idle", against: BASELINE, bound: 0.9 },
  { server: "ours-deno-core", scenario: "idle", bound: 10_000 },
  { server: "ours-bun-core", scenario: "idle", bound: 4_000 },
  // issue 26: the Bun default engine
  { server: "ours-bun-core", scenario: "small", against: "bun-builtin", bound: 0.75 },
  { server: "ours-bun-core", scenario: "broadcast", against: "bun-builtin", bound: 1.0 },
  // issue 26: steady medium echo on Node (±15 % around the median: a spread of at most 30 %)
  { server: "ours-node", scenario: "medium", against: BASELINE, bound: 1.2, maxSpreadPct: 30 },
  // kept from the earlier rounds
  ...(["ours-node", "ours-deno-core", "ours-bun-core"]).map((server) => ({ server, scenario: "idle-deflate" as const, over: "idle" as const, bound: 2000 })),
  { server: "ours-node", scenario: "large", against: BASELINE, bound: 1.0 },
  { server: "ours-node", scenario: "compressed", against: BASELINE, bound: 1.5 },
  { server: "ours-bun-core", scenario: "compressed", against: "bun-builtin", bound: 0.5 },
];

/** Whether each target was met in this run; a target whose servers did not run is left out. */
export function targetsTable(records: RunRecord[], targets: Target[] = TARGETS): string {
  const lines = ["| server | scenario | target | this run | met |", "| --- | --- | --- | ---: | --- |"];
  const label = (id: string) => SERVERS.find((s) => s.id === id)?.label ?? id;
  for (const t of targets) {
    const r = find(records, t.server, t.scenario);
    const base = t.against ? find(records, t.against, t.scenario) : t.over ? find(records, t.server, t.over) : undefined;
    if (!r || r.skipped || ((t.against || t.over) && (!base || base.skipped))) continue;
    let value: number | null = null;
    if (r.ok && r.value !== null) {
      if (t.against) value = base?.ok && base.value ? r.value / base.value : null;
      else if (t.over) value = base?.ok && base.value !== null ? r.value - base.value : null;
      else value = r.value;
    }
    const atMost = !t.against || LOWER_IS_BETTER.has(t.scenario);
    const spread = t.maxSpreadPct !== undefined ? `, spread ≤ ${t.maxSpreadPct} %` : "";
    const goal = (t.against ? `${atMost ? "≤" : "≥"} ${t.bound.toFixed(2)}× ${label(t.against)}` : `≤ ${nf.format(t.bound)} B/conn${t.over ? ` more than ${t.over}` : ""}`) + spread;
    const shownValue = value === null ? "FAILED" : t.against ? `${value.toFixed(2)}×` : `${nf.format(value)} B`;
    const shown = value !== null && t.maxSpreadPct !== undefined ? `${shownValue} (spread ${r.spreadPct === null ? "?" : `${Math.round(r.spreadPct)} %`})` : shownValue;
    // handshakes: the rate can be capped by the load generator; what each one cost the server says more
    const cost = t.against && t.scenario === "handshake" && value !== null && r.serverCpuMicrosPerMessage != null && base?.serverCpuMicrosPerMessage != null
      ? ` (server CPU per handshake ${r.serverCpuMicrosPerMessage} µs, ${label(t.against)} ${base.serverCpuMicrosPerMessage} µs)`
      : "";
    const steady = t.maxSpreadPct === undefined || (r.spreadPct !== null && r.spreadPct <= t.maxSpreadPct);
    const met = value === null ? "no" : (atMost ? value <= t.bound : value >= t.bound) && steady ? "yes" : "**no**";
    lines.push(`| ${label(t.server)} | ${t.scenario} | ${goal} | ${shown}${cost} | ${met} |`);
  }
  const scale = records.filter((r) => r.scenario === "scale" && r.notRun);
  if (scale.length) lines.push(`| every server | scale | 50,000 connections | ${oneLine(scale[0]!.notRun!)} | **no** |`);
  return lines.join("\n");
}

/** Each runtime's raw TCP echo: the ceiling of what any WebSocket server on it can do. */
const RAW: Record<Runtime, string | null> = { node: "raw-node", bun: "raw-bun", deno: "raw-deno", workers: null };

/** The scale scenario, step by step: how memory, handshakes and broadcast latency grow with the connections. */
export function scaleTable(records: RunRecord[]): string {
  const lines = [
    "| server | connections | handshakes/s | server RSS | RSS / conn | broadcasts | deliveries/s | p50 to last receiver | p99 to last receiver | server CPU | generator CPU |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const def of serversIn(records)) {
    const r = find(records, def.id, "scale");
    if (!r || r.skipped) continue;
    for (const st of r.scale ?? []) {
      lines.push(
        `| ${def.label} | ${nf.format(st.connections)} | ${nf.format(st.handshakesPerSecond)} | ${(st.rss / 2 ** 20).toFixed(0)} MiB | ${nf.format(st.bytesPerConnection)} B | ${st.broadcasts} | ${nf.format(st.deliveriesPerSecond)} | ${st.p50Ms.toFixed(1)} ms | ${st.p99Ms.toFixed(1)} ms | ${st.serverCpu !== null ? `${Math.round(st.serverCpu)}%` : "—"} | ${Math.round(st.generatorCpu)}% |`,
      );
    }
    if (!r.ok) lines.push(`| ${def.label} | FAILED: ${oneLine(r.error ?? "")} | | | | | | | | | |`);
    if (r.notRun) lines.push(`| ${def.label} | ${oneLine(r.notRun)} | | | | | | | | | |`);
  }
  return lines.join("\n");
}

function scenarioTable(records: RunRecord[], scenario: ScenarioName): string {
  const s = SCENARIOS[scenario];
  // what one message or handshake costs the server: steadier than the rate when the generator or the load caps it
  const perOp = s.kind === "echo" ? "message" : s.kind === "handshake" ? "handshake" : null;
  const lines = [
    `### ${scenario}: ${s.title}`,
    "",
    `| server | ${s.unit} | spread | × ws + bufferutil | × runtime's built-in | ${s.rawCeiling ? "× raw TCP echo | " : ""}${s.kind === "echo" ? "MB/s | " : ""}server CPU | ${perOp ? `server CPU per ${perOp} | ` : ""}generator CPU | checked |`,
    `| --- | ---: | ---: | ---: | ---: | ${s.rawCeiling ? "---: | " : ""}${s.kind === "echo" ? "---: | " : ""}---: | ${perOp ? "---: | " : ""}---: | ---: |`,
  ];
  for (const def of serversIn(records)) {
    const r = find(records, def.id, scenario);
    if (!r || r.skipped) continue;
    const builtin = BUILTIN[def.runtime];
    const cols = [
      def.label,
      r.ok ? formatValue(r) : `FAILED: ${oneLine(r.error ?? "")}`,
      r.spreadPct !== null ? `${r.spreadPct}%` : "—",
      ratio(r, find(records, BASELINE, scenario)),
      builtin && builtin !== def.id ? ratio(r, find(records, builtin, scenario)) : "—",
      // how close to the ceiling: the raw TCP echo of the same runtime (for idle memory, lower is better)
      ...(s.rawCeiling ? [def.kind !== "raw" && RAW[def.runtime] ? ratio(r, find(records, RAW[def.runtime]!, scenario)) : "—"] : []),
      ...(s.kind === "echo" ? [r.mbPerSecond !== null ? String(r.mbPerSecond) : "—"] : []),
      r.serverCpu !== null ? `${r.serverCpu}%` : "—",
      ...(perOp ? [r.serverCpuMicrosPerMessage != null ? `${r.serverCpuMicrosPerMessage} µs` : "—"] : []),
      r.generatorCpu !== null ? `${r.generatorCpu}%` : "—",
      String(r.checked),
    ];
    lines.push(`| ${cols.join(" | ")} |`);
  }
  return lines.join("\n");
}

export function renderReport(records: RunRecord[], ctx: ReportContext): string {
  const v = ctx.versions;
  const busy = Math.max(ctx.started.load[0], ctx.finished.load[0]) > 0.7;
  const out: string[] = [];
  out.push("# Benchmark results");
  out.push("");
  out.push(
    `Written by \`pnpm --filter @ws/bench bench\` (bench/src/run.ts), ${ctx.started.time.slice(0, 16).replace("T", " ")} – ${ctx.finished.time.slice(11, 16)} UTC. ` +
      `How the numbers are made, and what they do not say: [bench/README.md](README.md).`,
  );
  out.push("");
  out.push(
    `- machine: ${availableParallelism()} cores (${cpuModel()}), loopback only; ` +
      (ctx.pinned ? "server pinned to CPU 0, load generator to CPU 1 (one core each)" : "not pinned"),
  );
  out.push(`- versions: ${Object.entries(v).map(([k, x]) => `${k} ${x}`).join(", ")}`);
  out.push(
    `- each run: a fresh server, ${ctx.options.warmupMs} ms warm-up, then ${ctx.options.repeats} windows of ${ctx.options.durationMs} ms on the same connections` +
      (ctx.options.rounds > 1 ? `; ${ctx.options.rounds} rounds through all servers of a scenario, interleaved, windows pooled` : "") +
      `; the median window is shown, spread = (max − min) / median; idle memory: one reading per round (median round shown)`,
  );
  out.push(
    `- load average (1, 5, 15 min) before: ${ctx.started.load.join(", ")}; after: ${ctx.finished.load.join(", ")}` +
      (busy
        ? ". **The load average was above 0.7** at the start or the end (other work, or the tail of what ran before): absolute numbers may be low and noisy; compare ratios taken in the same run."
        : ""),
  );
  out.push("- CPU columns: % of one core used during the windows; a server well below 100 % was not the bottleneck (it waited on I/O, or on the generator, or other processes took its core on a busy machine); a generator near 100 % may have capped the rate");
  out.push("- ratios: a server's median over ws + bufferutil's (or over its runtime's built-in server's) from the same run; higher is better, except idle memory (B/conn), where lower is better");
  out.push("");
  out.push("## Summary");
  out.push("");
  out.push(summaryTable(records));
  out.push("");
  if (ctx.charts?.list.length) {
    out.push(chartsSection(ctx.charts.list, ctx.charts.dir));
    out.push("");
  }
  out.push("## Targets");
  out.push("");
  out.push("The targets of the performance issue, checked against this run. Where one is missed, bench/README.md (\"Where the missed targets go\") gives the profile that explains the gap.");
  out.push("");
  out.push(targetsTable(records));
  out.push("");
  out.push("## Per scenario");
  for (const scenario of SCENARIO_ORDER) {
    if (!records.some((r) => r.scenario === scenario && !r.skipped)) continue;
    out.push("");
    out.push(scenarioTable(records, scenario));
  }
  const idle = records.filter((r) => r.scenario === "idle" && r.memory);
  if (idle.length) {
    out.push("");
    out.push("Idle memory detail (RSS with 100 warm connections → with 5,000 more):");
    out.push("");
    for (const r of idle) {
      const m = r.memory!;
      out.push(`- ${r.label}: ${(m.baselineRss / 2 ** 20).toFixed(1)} MiB → ${(m.loadedRss / 2 ** 20).toFixed(1)} MiB`);
    }
  }
  const reconnect = records.filter((r) => r.scenario === "reconnect" && r.reconnect);
  if (reconnect.length) {
    out.push("");
    out.push(`Reconnect detail (${SCENARIOS.reconnect.title}; the restarted server):`);
    out.push("");
    out.push("| server | all open again | peak RSS | RSS / conn | server CPU / handshake | retries |");
    out.push("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (const r of reconnect) {
      const x = r.reconnect!;
      const mib = x.peakRssBytes === null ? "—" : `${(x.peakRssBytes / 2 ** 20).toFixed(1)} MiB`;
      out.push(`| ${r.label} | ${nf.format(x.reconnectMs)} ms | ${mib} | ${x.rssPerConnection === null ? "—" : `${nf.format(x.rssPerConnection)} B`} | ${x.serverCpuMicrosPerHandshake ?? "—"} µs | ${x.retries} |`);
    }
  }
  if (records.some((r) => r.scenario === "scale" && r.scale?.length)) {
    out.push("");
    out.push(`Scale, step by step (${SCENARIOS.scale.title}):`);
    out.push("");
    out.push(scaleTable(records));
  }
  const skipped = records.filter((r) => r.skipped);
  const failed = records.filter((r) => !r.ok && !r.skipped);
  if (skipped.length || failed.length) {
    out.push("");
    out.push("## Skipped and failed");
    out.push("");
    const groups = new Map<string, string[]>();
    for (const r of skipped) {
      const key = `${r.label}: ${r.skipped}`;
      groups.set(key, [...(groups.get(key) ?? []), r.scenario]);
    }
    for (const [key, scenarios] of groups) out.push(`- skipped, ${key} (${scenarios.join(", ")})`);
    for (const r of failed) {
      const details = r.checkErrors.filter((e) => e !== r.error).slice(0, 2);
      out.push(`- FAILED, ${r.label} on ${r.scenario}: ${oneLine(r.error ?? "")}${details.length ? `; ${details.map(oneLine).join("; ")}` : ""}`);
    }
  }
  out.push("");
  out.push("## Snippet for the project README");
  out.push("");
  out.push("```md");
  out.push(readmeSnippet(records, ctx));
  out.push("```");
  out.push("");
  return out.join("\n");
}

/**
 * A short table for the project README: each of our servers against its reference: @ws/node against ws +
 * bufferutil, @ws/bun, @ws/deno and @ws/cloudflare against their runtime's built-in server.
 */
export function readmeSnippet(records: RunRecord[], ctx: ReportContext): string {
  const scenarios = SCENARIO_ORDER.filter((s) => records.some((r) => r.scenario === s && r.ok));
  const lines = [
    `Ratio of medians from one run of bench/ (higher is better; idle memory per connection: lower is better). ${availableParallelism()}-core`,
    `machine, server and load generator on one core each, loopback, load average ${ctx.started.load[0]} at the start; method and full table: bench/RESULTS.md.`,
    "",
    `| server | against | ${scenarios.join(" | ")} |`,
    `| --- | --- | ${scenarios.map(() => "---:").join(" | ")} |`,
  ];
  const rows: Array<[string, string]> = [
    ["ours-node", BASELINE],
    ["crossws-node", BASELINE],
    ["ours-bun-core", "bun-builtin"],
    ["ours-bun-runtime", "bun-builtin"],
    ["ours-deno-core", "deno-builtin"],
    ["ours-deno-runtime", "deno-builtin"],
    ["ours-workers", "workers-bare"],
    ["bun-builtin", BASELINE],
    ["deno-builtin", BASELINE],
  ];
  for (const [id, against] of rows) {
    if (!records.some((r) => r.server === id && r.ok) || !records.some((r) => r.server === against && r.ok)) continue;
    const label = SERVERS.find((s) => s.id === id)!.label;
    const ref = SERVERS.find((s) => s.id === against)!.label;
    lines.push(`| ${label} | ${ref} | ${scenarios.map((s) => ratio(find(records, id, s), find(records, against, s))).join(" | ")} |`);
  }
  return lines.join("\n");
}
