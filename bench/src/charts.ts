/**
 * The report's charts, drawn as SVG text from a run's own records (no dependency): one chart per scenario, each of
 * our servers and the peers beside the reference of their runtime as a ratio, and the cost-growth curves of the
 * scale scenario (RSS per connection and broadcast latency against the connection count).
 *
 * Accessible by construction: every chart has a `<title>` and a `<desc>` naming its figures, text of 13 px or
 * more, and series told apart by more than hue (bars left or right of 1.0×, markers and dash patterns on lines).
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ScaleStep } from "./generator.ts";
import type { RunRecord } from "./report.ts";
import { SCENARIO_ORDER, SCENARIOS, type ScenarioName } from "./scenarios.ts";
import { BASELINE, BUILTIN, SERVERS, type Runtime } from "./servers.ts";

/** One chart: where it goes (a file name in the charts folder), what it shows, and its SVG text. */
export interface Chart {
  file: string;
  title: string;
  svg: string;
}

/** The reference each runtime's servers are compared with: ws + bufferutil on Node, the built-in server elsewhere. */
export function referenceOf(runtime: Runtime): string | null {
  return runtime === "node" ? BASELINE : BUILTIN[runtime];
}

const FONT = `font-family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"`;
/** better than the reference: dark; worse: light (tells them apart in grey-scale too) */
const BETTER = "#1f4e79";
const WORSE = "#e69f00";
const INK = "#1a1a1a";
const GRID = "#b0b0b0";
/** line series: Okabe–Ito colours (colour-blind safe), each with its own marker and dash pattern */
const SERIES_COLOURS = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#000000", "#e69f00", "#56b4e9", "#7f7f7f"];
const DASHES = ["", "6 4", "2 3", "10 3 2 3", "", "6 4", "2 3", "10 3 2 3"];
const MARKERS = ["circle", "square", "triangle", "diamond", "cross", "circle-open", "square-open", "triangle-open"] as const;

function esc(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const nf = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/** Splits a text into lines of at most `max` characters, at spaces. */
export function wrap(text: string, max: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > max) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/**
 * A chart's title (17 px, bold) and subtitle (14 px), wrapped to the chart's width (about 9.5 and 7.6 px a
 * character); returns the SVG and the y below them.
 */
function heading(title: string, subtitle: string, width: number): { svg: string[]; bottom: number } {
  const svg: string[] = [];
  let y = 8;
  for (const line of wrap(title, Math.floor((width - 32) / 9.5))) svg.push(`<text x="16" y="${(y += 22)}" font-size="17" font-weight="600" fill="${INK}">${esc(line)}</text>`);
  y += 4;
  for (const line of wrap(subtitle, Math.floor((width - 32) / 7.6))) svg.push(`<text x="16" y="${(y += 19)}" font-size="14" fill="${INK}">${esc(line)}</text>`);
  return { svg, bottom: y };
}

function figure(value: number, unit: string): string {
  return `${value < 100 ? value.toFixed(1) : nf.format(value)} ${unit}`;
}

function ratioText(x: number): string {
  return `${x < 10 ? x.toFixed(2) : x.toFixed(1)}×`;
}

/** One row of a ratio chart: a server against its runtime's reference, or why there is no ratio. */
export interface RatioRow {
  server: string;
  label: string;
  reference: string;
  /** null: no ratio (`missing` says why) */
  ratio: number | null;
  /** the ratio's range over the windows: our worst window against the reference's best, and our best against its worst */
  low: number | null;
  high: number | null;
  value: number | null;
  missing?: string;
}

const okValue = (r: RunRecord | undefined): r is RunRecord & { value: number } => !!r && r.ok && !r.skipped && r.value !== null && r.value > 0;

/**
 * The rows of a scenario's ratio chart: each server that ran (raw TCP echoes aside: they are ceilings, not peers),
 * except the references themselves, in the report's server order.
 */
export function ratioRows(records: RunRecord[], scenario: ScenarioName): RatioRow[] {
  const inScenario = records.filter((r) => r.scenario === scenario);
  const rows: RatioRow[] = [];
  const order = (id: string) => {
    const i = SERVERS.findIndex((s) => s.id === id);
    return i < 0 ? SERVERS.length : i;
  };
  for (const r of [...inScenario].sort((a, b) => order(a.server) - order(b.server))) {
    const ref = referenceOf(r.runtime);
    if (r.kind === "raw" || r.skipped || !ref || r.server === ref) continue;
    const refRecord = inScenario.find((x) => x.server === ref);
    const refLabel = SERVERS.find((s) => s.id === ref)?.label ?? refRecord?.label ?? ref;
    const row: RatioRow = { server: r.server, label: r.label, reference: refLabel, ratio: null, low: null, high: null, value: okValue(r) ? r.value : null };
    if (!okValue(r)) row.missing = "failed in this run";
    else if (!okValue(refRecord)) row.missing = `no ${refLabel} figure in this run`;
    else {
      row.ratio = r.value / refRecord.value;
      if (r.min !== null && r.max !== null && refRecord.min && refRecord.max && (r.min !== r.max || refRecord.min !== refRecord.max)) {
        row.low = r.min / refRecord.max;
        row.high = r.max / refRecord.min;
      }
    }
    rows.push(row);
  }
  return rows;
}

/** A scenario's ratio chart: a bar per server from 1.0× to its ratio (log scale), its figure and ratio as text. */
export function ratioChart(records: RunRecord[], scenario: ScenarioName): Chart | null {
  const rows = ratioRows(records, scenario);
  if (!rows.length) return null;
  const s = SCENARIOS[scenario];
  const better = s.higherIsBetter ? "higher is better" : "lower is better";
  const title = `${scenario}: each server ÷ its runtime's reference (${better})`;
  // the label column sized to its text (about 8.5 px a character at 15 px, 7.6 at 14 px): the server, its figure below
  const labelW = Math.round(Math.max(170, 24 + Math.max(...rows.map((r) => Math.max(8.5 * r.label.length, r.value !== null ? 7.6 * figure(r.value, s.unit).length : 0)))));
  const textW = 84;
  const plotW = 340;
  const width = labelW + plotW + textW;
  const head = heading(title, s.title, width);
  const top = head.bottom + 40;
  const rowH = 44;
  const plotX = labelW;
  const footer = [
    ...wrap("Reference: ws + bufferutil on Node; the runtime's built-in server on Bun, Deno and workerd.", Math.floor((width - 32) / 7.6)),
    ...wrap("Log scale. Dark bar: better than the reference; light bar: worse. Whiskers: the ratio's range over the windows.", Math.floor((width - 32) / 7.6)),
  ];
  const height = top + rows.length * rowH + 40 + footer.length * 19;
  const ratios = rows.flatMap((r) => [r.ratio, r.low, r.high]).filter((x): x is number => x !== null && x > 0);
  const minExp = Math.floor(Math.log2(Math.min(1, ...ratios)));
  const maxExp = Math.ceil(Math.log2(Math.max(1, ...ratios)));
  const lo = minExp === maxExp ? minExp - 1 : minExp;
  const hi = minExp === maxExp ? maxExp + 1 : maxExp;
  const x = (ratio: number) => plotX + ((Math.log2(ratio) - lo) / (hi - lo)) * plotW;
  const out: string[] = [];
  const desc = rows.map((r) => `${r.label}: ${r.ratio === null ? r.missing : `${ratioText(r.ratio)} ${r.reference}`}`).join("; ");
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="t d" ${FONT}>`);
  out.push(`<title id="t">${esc(title)}</title>`);
  out.push(`<desc id="d">${esc(`${s.title}. ${desc}.`)}</desc>`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(...head.svg);
  const axisY = top + rows.length * rowH + 6;
  for (let e = lo; e <= hi; e++) {
    const tx = x(2 ** e);
    out.push(`<line x1="${tx.toFixed(1)}" y1="${top - 6}" x2="${tx.toFixed(1)}" y2="${axisY}" stroke="${GRID}" stroke-width="1"${e === 0 ? "" : ` stroke-dasharray="2 3"`}/>`);
    out.push(`<text x="${tx.toFixed(1)}" y="${axisY + 18}" font-size="14" text-anchor="middle" fill="${INK}">${2 ** e >= 1 ? 2 ** e : (2 ** e).toString()}×</text>`);
  }
  // the 1.0× reference line, drawn over the grid
  out.push(`<line x1="${x(1).toFixed(1)}" y1="${top - 10}" x2="${x(1).toFixed(1)}" y2="${axisY}" stroke="${INK}" stroke-width="2"/>`);
  const refRight = x(1) < plotX + plotW / 2;
  out.push(`<text x="${(x(1) + (refRight ? 4 : -4)).toFixed(1)}" y="${top - 16}" font-size="14" text-anchor="${refRight ? "start" : "end"}" fill="${INK}">1.0× = the reference</text>`);
  rows.forEach((r, i) => {
    const cy = top + i * rowH + rowH / 2;
    out.push(`<g class="row" data-server="${esc(r.server)}">`);
    out.push(`<text x="${plotX - 10}" y="${cy - 2}" font-size="15" text-anchor="end" fill="${INK}">${esc(r.label)}</text>`);
    if (r.value !== null) out.push(`<text class="figure" x="${plotX - 10}" y="${cy + 15}" font-size="14" text-anchor="end" fill="#404040">${esc(figure(r.value, s.unit))}</text>`);
    if (r.ratio === null) {
      // beside the 1.0× line, on the side with more room
      const right = x(1) < plotX + plotW / 2;
      out.push(`<text class="missing" x="${(x(1) + (right ? 8 : -8)).toFixed(1)}" y="${cy + 5}" font-size="14" font-style="italic" text-anchor="${right ? "start" : "end"}" fill="${INK}">— ${esc(r.missing ?? "")}</text>`);
    } else {
      const good = s.higherIsBetter ? r.ratio >= 1 : r.ratio <= 1;
      const x0 = Math.min(x(1), x(r.ratio));
      const w = Math.max(1.5, Math.abs(x(r.ratio) - x(1)));
      out.push(`<rect class="bar" x="${x0.toFixed(1)}" y="${(cy - 10).toFixed(1)}" width="${w.toFixed(1)}" height="20" fill="${good ? BETTER : WORSE}" stroke="${INK}" stroke-width="0.75"><title>${esc(`${r.label}: ${ratioText(r.ratio)} ${r.reference}`)}</title></rect>`);
      if (r.low !== null && r.high !== null) {
        const a = x(r.low).toFixed(1);
        const b = x(r.high).toFixed(1);
        out.push(`<path class="whisker" d="M${a} ${cy} H${b} M${a} ${cy - 6} V${cy + 6} M${b} ${cy - 6} V${cy + 6}" stroke="${INK}" stroke-width="1.5" fill="none"/>`);
      }
      out.push(`<text class="ratio" x="${plotX + plotW + 10}" y="${cy + 6}" font-size="16" font-weight="600" fill="${INK}">${ratioText(r.ratio)}</text>`);
    }
    out.push(`</g>`);
  });
  footer.forEach((line, i) => out.push(`<text x="16" y="${axisY + 46 + i * 19}" font-size="14" fill="${INK}">${esc(line)}</text>`));
  out.push(`</svg>`);
  return { file: `${scenario}.svg`, title, svg: out.join("\n") + "\n" };
}

/** One line of a cost-growth chart. */
interface Series {
  label: string;
  points: Array<[number, number]>;
}

function marker(kind: (typeof MARKERS)[number], cx: number, cy: number, colour: string): string {
  const open = kind.endsWith("-open");
  const fill = open ? "#ffffff" : colour;
  const stroke = `stroke="${colour}" stroke-width="2"`;
  switch (kind.replace("-open", "")) {
    case "square":
      return `<rect x="${(cx - 5).toFixed(1)}" y="${(cy - 5).toFixed(1)}" width="10" height="10" fill="${fill}" ${stroke}/>`;
    case "triangle":
      return `<path d="M${cx.toFixed(1)} ${(cy - 6).toFixed(1)} L${(cx + 6).toFixed(1)} ${(cy + 5).toFixed(1)} L${(cx - 6).toFixed(1)} ${(cy + 5).toFixed(1)} Z" fill="${fill}" ${stroke}/>`;
    case "diamond":
      return `<path d="M${cx.toFixed(1)} ${(cy - 7).toFixed(1)} L${(cx + 7).toFixed(1)} ${cy.toFixed(1)} L${cx.toFixed(1)} ${(cy + 7).toFixed(1)} L${(cx - 7).toFixed(1)} ${cy.toFixed(1)} Z" fill="${fill}" ${stroke}/>`;
    case "cross":
      return `<path d="M${(cx - 5).toFixed(1)} ${(cy - 5).toFixed(1)} L${(cx + 5).toFixed(1)} ${(cy + 5).toFixed(1)} M${(cx + 5).toFixed(1)} ${(cy - 5).toFixed(1)} L${(cx - 5).toFixed(1)} ${(cy + 5).toFixed(1)}" ${stroke} stroke-width="2.5"/>`;
    default:
      return `<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="5" fill="${fill}" ${stroke}/>`;
  }
}

/** A round step for a linear axis up to `max` (1, 2 or 5 × a power of ten), about five ticks. */
function niceStep(max: number): number {
  const raw = max / 5;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
}

/** A line chart: x the connection count (log scale), y from 0 (linear), one line per server, a legend below. */
function lineChart(file: string, title: string, subtitle: string, yLabel: string, yFormat: (v: number) => string, series: Series[]): Chart | null {
  const drawn = series.filter((s) => s.points.length);
  if (!drawn.length) return null;
  const width = 720;
  const left = 90;
  const right = 40;
  const head = heading(title, subtitle, width);
  const top = head.bottom + 44;
  const plotH = 300;
  const legendRows = Math.ceil(drawn.length / 2);
  const height = top + plotH + 60 + legendRows * 26 + 10;
  const plotW = width - left - right;
  const xs = drawn.flatMap((s) => s.points.map(([c]) => c));
  const ys = drawn.flatMap((s) => s.points.map(([, v]) => v));
  const xLo = Math.floor(Math.log10(Math.min(...xs)));
  let xHi = Math.ceil(Math.log10(Math.max(...xs)));
  if (xHi === xLo) xHi = xLo + 1;
  const step = niceStep(Math.max(...ys) || 1);
  const yMax = Math.ceil((Math.max(...ys) || 1) / step) * step;
  const X = (c: number) => left + ((Math.log10(c) - xLo) / (xHi - xLo)) * plotW;
  const Y = (v: number) => top + plotH - (v / yMax) * plotH;
  const out: string[] = [];
  const desc = drawn.map((s) => `${s.label}: ${s.points.map(([c, v]) => `${nf.format(c)} connections ${yFormat(v)}`).join(", ")}`).join("; ");
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="t d" ${FONT}>`);
  out.push(`<title id="t">${esc(title)}</title>`);
  out.push(`<desc id="d">${esc(`${subtitle}. ${desc}.`)}</desc>`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(...head.svg);
  for (let v = 0; v <= yMax + 1e-9; v += step) {
    out.push(`<line x1="${left}" y1="${Y(v).toFixed(1)}" x2="${left + plotW}" y2="${Y(v).toFixed(1)}" stroke="${GRID}" stroke-width="1"${v === 0 ? "" : ` stroke-dasharray="2 3"`}/>`);
    out.push(`<text x="${left - 8}" y="${(Y(v) + 5).toFixed(1)}" font-size="14" text-anchor="end" fill="${INK}">${esc(yFormat(v))}</text>`);
  }
  for (let e = xLo; e <= xHi; e++) {
    for (const m of e < xHi ? [1, 2, 5] : [1]) {
      const c = m * 10 ** e;
      const tx = X(c).toFixed(1);
      out.push(`<line x1="${tx}" y1="${top}" x2="${tx}" y2="${top + plotH}" stroke="${GRID}" stroke-width="1"${m === 1 ? "" : ` stroke-dasharray="2 3"`}/>`);
      out.push(`<text x="${tx}" y="${top + plotH + 20}" font-size="14" text-anchor="middle" fill="${INK}">${c >= 1000 ? `${nf.format(c / 1000)}k` : nf.format(c)}</text>`);
    }
  }
  out.push(`<text x="${left + plotW / 2}" y="${top + plotH + 42}" font-size="14" text-anchor="middle" fill="${INK}">open connections (log scale)</text>`);
  out.push(`<text x="16" y="${top - 18}" font-size="14" font-weight="600" fill="${INK}">${esc(yLabel)}</text>`);
  drawn.forEach((s, i) => {
    const colour = SERIES_COLOURS[i % SERIES_COLOURS.length]!;
    const dash = DASHES[i % DASHES.length]!;
    const pts = s.points.map(([c, v]) => `${X(c).toFixed(1)} ${Y(v).toFixed(1)}`);
    out.push(`<g class="series" data-label="${esc(s.label)}">`);
    out.push(`<title>${esc(`${s.label}: ${s.points.map(([c, v]) => `${nf.format(c)}: ${yFormat(v)}`).join(", ")}`)}</title>`);
    if (pts.length > 1) out.push(`<path d="M${pts.join(" L")}" fill="none" stroke="${colour}" stroke-width="2.5"${dash ? ` stroke-dasharray="${dash}"` : ""}/>`);
    for (const [c, v] of s.points) out.push(marker(MARKERS[i % MARKERS.length]!, X(c), Y(v), colour));
    out.push(`</g>`);
    const lx = 16 + (i % 2) * (width / 2);
    const ly = top + plotH + 70 + Math.floor(i / 2) * 26;
    out.push(`<path d="M${lx} ${ly} H${lx + 40}" stroke="${colour}" stroke-width="2.5"${dash ? ` stroke-dasharray="${dash}"` : ""}/>`);
    out.push(marker(MARKERS[i % MARKERS.length]!, lx + 20, ly, colour));
    out.push(`<text x="${lx + 50}" y="${ly + 5}" font-size="15" fill="${INK}">${esc(s.label)}</text>`);
  });
  out.push(`</svg>`);
  return { file, title, svg: out.join("\n") + "\n" };
}

function scaleSeries(records: RunRecord[], pick: (st: ScaleStep) => number): Series[] {
  const order = (id: string) => {
    const i = SERVERS.findIndex((s) => s.id === id);
    return i < 0 ? SERVERS.length : i;
  };
  return records
    .filter((r) => r.scenario === "scale" && !r.skipped && r.scale?.length)
    .sort((a, b) => order(a.server) - order(b.server))
    .map((r) => ({ label: r.label, points: r.scale!.map((st) => [st.connections, pick(st)] as [number, number]) }));
}

/** The scale scenario's cost-growth curves: RSS per connection, and broadcast latency (p50, p99) to the last receiver. */
export function costGrowthCharts(records: RunRecord[]): Chart[] {
  const sub = "scale: all connections subscribed to one topic; a 64 B broadcast to every one, sent one at a time";
  const ms = (v: number) => `${v < 10 && v > 0 ? v.toFixed(1) : nf.format(v)} ms`;
  return [
    lineChart("scale-rss.svg", "Server RSS per connection against open connections (lower is better)", "scale: (server RSS − RSS before the first connection) ÷ connections, at each step", "bytes per connection", (v) => `${nf.format(v)} B`, scaleSeries(records, (st) => st.bytesPerConnection)),
    lineChart("scale-broadcast-p50.svg", "Broadcast latency to the last receiver, median (p50), against open connections", sub, "p50, ms (lower is better)", ms, scaleSeries(records, (st) => st.p50Ms)),
    lineChart("scale-broadcast-p99.svg", "Broadcast latency to the last receiver, p99, against open connections", sub, "p99, ms (lower is better)", ms, scaleSeries(records, (st) => st.p99Ms)),
  ].filter((c): c is Chart => c !== null);
}

/** Every chart of a run: one per scenario that has ratios, then the cost-growth curves. */
export function allCharts(records: RunRecord[]): Chart[] {
  const perScenario = SCENARIO_ORDER.map((s) => ratioChart(records, s)).filter((c): c is Chart => c !== null);
  return [...perScenario, ...costGrowthCharts(records)];
}

/** The Markdown section that shows the charts, as images linked relative to the report (`dir`: e.g. "charts"). */
export function chartsSection(charts: Chart[], dir: string): string {
  const lines = [
    "## Charts",
    "",
    "Drawn by the report (bench/src/charts.ts) from this run's figures. Per scenario: each server's median ÷ its runtime's reference (ws + bufferutil on Node, the runtime's built-in server on Bun, Deno and workerd), on a log scale, bars from 1.0×; dark bars are better than the reference, light ones worse; whiskers: the ratio's range over the measured windows. Then how the cost grows with the connections (the scale scenario).",
    "",
  ];
  for (const c of charts) lines.push(`![${c.title}](${dir}/${c.file})`, "");
  return lines.join("\n").trimEnd();
}

/**
 * Puts the charts section into a report: in place of an existing "## Charts" section, else before "## Targets"
 * (else at the end).
 */
export function spliceChartsSection(markdown: string, section: string): string {
  const start = markdown.indexOf("\n## Charts\n");
  if (start >= 0) {
    const next = markdown.indexOf("\n## ", start + 1);
    return markdown.slice(0, start + 1) + section + "\n" + (next >= 0 ? markdown.slice(next) : "\n");
  }
  const targets = markdown.indexOf("\n## Targets\n");
  if (targets >= 0) return markdown.slice(0, targets + 1) + section + "\n\n" + markdown.slice(targets + 1);
  return markdown.trimEnd() + "\n\n" + section + "\n";
}

/** Writes every chart of a run into `dir` (created if missing), removing charts there that this run no longer draws. */
export function writeCharts(records: RunRecord[], dir: string): Chart[] {
  const charts = allCharts(records);
  mkdirSync(dir, { recursive: true });
  const keep = new Set(charts.map((c) => c.file));
  for (const f of readdirSync(dir)) if (f.endsWith(".svg") && !keep.has(f)) rmSync(join(dir, f));
  for (const c of charts) writeFileSync(join(dir, c.file), c.svg);
  return charts;
}
