// Reports in the original's shape: index.json ({agent: {caseId: {behavior, behaviorClose, duration,
// remoteCloseCode, reportfile}}}), one JSON detail file per case, plus a Markdown summary.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { compareCaseIds, isInformationalCase, mayBeUnimplemented } from "./cases/index.ts";
import type { CaseResult } from "./runner.ts";

export interface IndexEntry {
  behavior: string;
  behaviorClose: string;
  duration: number;
  remoteCloseCode: number | null;
  reportfile: string;
}

export type ReportIndex = Record<string, Record<string, IndexEntry>>;

export function cleanForFilename(s: string): string {
  return s
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]/g, " ")
    .trim()
    .replace(/ +/g, "_");
}

export function reportFileName(agent: string, caseId: string): string {
  return `${cleanForFilename(agent)}_case_${caseId.replace(/\./g, "_")}.json`;
}

export function buildIndex(results: CaseResult[]): ReportIndex {
  const index: ReportIndex = {};
  for (const r of [...results].sort((a, b) => compareCaseIds(a.id, b.id))) {
    index[r.agent] ??= {};
    index[r.agent][r.id] = {
      behavior: r.behavior,
      behaviorClose: r.behaviorClose,
      duration: r.duration,
      remoteCloseCode: r.remoteCloseCode,
      reportfile: reportFileName(r.agent, r.id),
    };
  }
  return index;
}

/** Write index.json (merged with an existing one in `outdir`), the detail files and summary.md. */
export function writeReports(outdir: string, results: CaseResult[]): ReportIndex {
  mkdirSync(outdir, { recursive: true });
  const indexPath = join(outdir, "index.json");
  let index: ReportIndex = {};
  if (existsSync(indexPath)) {
    try {
      index = JSON.parse(readFileSync(indexPath, "utf8")) as ReportIndex;
    } catch {
      index = {};
    }
  }
  const fresh = buildIndex(results);
  for (const [agent, cases] of Object.entries(fresh)) {
    const merged = { ...(index[agent] ?? {}), ...cases };
    index[agent] = Object.fromEntries(Object.entries(merged).sort(([a], [b]) => compareCaseIds(a, b)));
  }
  writeFileSync(indexPath, JSON.stringify(index, null, 2) + "\n");
  for (const r of results) writeFileSync(join(outdir, reportFileName(r.agent, r.id)), JSON.stringify(r, null, 2) + "\n");
  writeFileSync(join(outdir, "summary.md"), summaryMarkdown(index, results));
  return index;
}

const FAMILY_NAMES: Record<string, string> = {
  "1": "Framing",
  "2": "Pings/Pongs",
  "3": "Reserved Bits",
  "4": "Opcodes",
  "5": "Fragmentation",
  "6": "UTF-8 Handling",
  "7": "Close Handling",
  "9": "Limits/Performance",
  "10": "Auto-Fragmentation",
  "12": "Compression (payloads)",
  "13": "Compression (parameters)",
};

const COLUMNS = ["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED"];

/** Whether a case's grade is acceptable for the conformance check (see README "Grading"). */
export function isAcceptable(id: string, e: { behavior: string; behaviorClose: string }): boolean {
  const info = isInformationalCase(id);
  const behaviorOk =
    e.behavior === "OK" || (info && e.behavior === "INFORMATIONAL") || (mayBeUnimplemented(id) && e.behavior === "UNIMPLEMENTED");
  const closeOk = e.behaviorClose === "OK" || (info && e.behaviorClose === "INFORMATIONAL");
  return behaviorOk && closeOk;
}

export function familyCounts(entries: Record<string, { behavior: string; behaviorClose: string }>): Map<string, Record<string, number>> {
  const fams = new Map<string, Record<string, number>>();
  for (const [id, e] of Object.entries(entries)) {
    const fam = id.split(".")[0];
    const row = fams.get(fam) ?? Object.fromEntries([...COLUMNS, "close not OK", "total"].map((k) => [k, 0]));
    const col = COLUMNS.includes(e.behavior) ? e.behavior : "FAILED";
    row[col]++;
    if (e.behaviorClose !== "OK" && e.behaviorClose !== "INFORMATIONAL") row["close not OK"]++;
    row.total++;
    fams.set(fam, row);
  }
  return new Map([...fams.entries()].sort(([a], [b]) => Number(a) - Number(b)));
}

export function summaryMarkdown(index: ReportIndex, results: CaseResult[] = []): string {
  const byId = new Map(results.map((r) => [`${r.agent}\u0000${r.id}`, r]));
  const lines: string[] = ["# Autobahn conformance summary", ""];
  for (const [agent, cases] of Object.entries(index)) {
    lines.push(`## ${agent}`, "");
    lines.push(`| family | ${[...COLUMNS, "close not OK", "total"].join(" | ")} |`);
    lines.push(`|---|${[...COLUMNS, "close", "total"].map(() => "---:").join("|")}|`);
    for (const [fam, row] of familyCounts(cases)) {
      lines.push(`| ${fam} ${FAMILY_NAMES[fam] ?? ""} | ${[...COLUMNS, "close not OK", "total"].map((k) => row[k]).join(" | ")} |`);
    }
    lines.push("");
    const notOk = Object.entries(cases).filter(([, e]) => e.behavior !== "OK" || e.behaviorClose !== "OK");
    if (notOk.length === 0) lines.push("Every case: behavior OK, close OK.", "");
    else {
      lines.push("### Cases that are not OK / OK", "");
      lines.push("| case | behavior | close | remote code | details |");
      lines.push("|---|---|---|---|---|");
      for (const [id, e] of notOk) {
        const r = byId.get(`${agent}\u0000${id}`);
        const detail = r
          ? `${r.result} Expected ${JSON.stringify(r.expected).slice(0, 200)}; observed ${JSON.stringify(r.received).slice(0, 200)}. Close: ${r.resultClose}`
          : e.reportfile;
        lines.push(`| ${id} | ${e.behavior} | ${e.behaviorClose} | ${e.remoteCloseCode ?? ""} | ${detail.replace(/\|/g, "\\|").replace(/\n/g, " ")} |`);
      }
      lines.push("");
    }
  }
  return lines.join("\n");
}
