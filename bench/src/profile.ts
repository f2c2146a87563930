/**
 * Summarizes a V8 .cpuprofile (from `node --cpu-prof`, e.g. `run.js --cpu-prof DIR`): the functions with the
 * most self time and the most total (inclusive) time, with their share of all samples.
 *
 *   node bench/dist/profile.js PROFILE.cpuprofile [--top 25] [--filter packages/]
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionTime {
  name: string;
  where: string;
  selfPct: number;
  totalPct: number;
}

function shortUrl(url: string): string {
  const i = url.search(/packages\/|node_modules\/|bench\/|node:/);
  return i >= 0 ? url.slice(i).replace(/^.*node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?/, "") : url;
}

export function summarize(profile: Profile): FunctionTime[] {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) byId.set(n.id, n);
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n: ProfileNode) => {
    const f = n.callFrame;
    return `${f.functionName || "(anonymous)"}\u0000${shortUrl(f.url)}${f.url ? `:${f.lineNumber + 1}` : ""}`;
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let all = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    all += dt;
    let node = byId.get(profile.samples[i]!);
    if (!node) continue;
    const k = key(node);
    self.set(k, (self.get(k) ?? 0) + dt);
    const seen = new Set<string>();
    while (node) {
      const kk = key(node);
      if (!seen.has(kk)) {
        seen.add(kk);
        total.set(kk, (total.get(kk) ?? 0) + dt);
      }
      const p = parent.get(node.id);
      node = p === undefined ? undefined : byId.get(p);
    }
  }
  return [...total.keys()].map((k) => {
    const [name, where] = k.split("\u0000") as [string, string];
    return { name, where, selfPct: ((self.get(k) ?? 0) / all) * 100, totalPct: ((total.get(k) ?? 0) / all) * 100 };
  });
}

const isMain = process.argv[1]?.endsWith("profile.js");
if (isMain) {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: node bench/dist/profile.js PROFILE.cpuprofile [--top N] [--filter TEXT]");
    process.exit(2);
  }
  const top = Number(process.argv[process.argv.indexOf("--top") + 1] ?? 25) || 25;
  const fi = process.argv.indexOf("--filter");
  const filter = fi > 0 ? process.argv[fi + 1] : undefined;
  const rows = summarize(JSON.parse(readFileSync(file, "utf8")) as Profile).filter((r) => !filter || r.where.includes(filter));
  const fmt = (r: FunctionTime) => `${r.selfPct.toFixed(1).padStart(5)}% ${r.totalPct.toFixed(1).padStart(5)}%  ${r.name}  ${r.where}`;
  console.log("by self time:   self  total");
  for (const r of [...rows].sort((a, b) => b.selfPct - a.selfPct).slice(0, top)) console.log(fmt(r));
  console.log("\nby total time:  self  total");
  for (const r of [...rows].sort((a, b) => b.totalPct - a.totalPct).slice(0, top)) console.log(fmt(r));
}
