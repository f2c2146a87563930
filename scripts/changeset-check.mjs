#!/usr/bin/env node
// A dry run of `changeset version`: the workspace's manifests and .changeset/ are copied into a temporary folder
// and versioned there, then checked — every package a changeset names gets a higher version (by the largest bump
// named for it) and a CHANGELOG.md with each of its changesets' summaries, the changesets are consumed, and the
// ignored (private) packages keep their versions. The repository itself is not touched.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const work = mkdtempSync(join(tmpdir(), "ws-changesets-"));
const problems = [];

// the workspace skeleton: manifests only (changesets reads package.json files and the workspace globs)
for (const file of ["package.json", "pnpm-workspace.yaml"]) cpSync(join(root, file), join(work, file));
cpSync(join(root, ".changeset"), join(work, ".changeset"), { recursive: true });
const manifests = {};
for (const group of ["packages", "apps"]) {
  for (const name of readdirSync(join(root, group))) {
    const from = join(root, group, name, "package.json");
    if (!existsSync(from)) continue;
    mkdirSync(join(work, group, name), { recursive: true });
    cpSync(from, join(work, group, name, "package.json"));
    manifests[JSON.parse(readFileSync(from, "utf8")).name] = join(group, name);
  }
}
for (const single of ["autobahn", "bench"]) {
  mkdirSync(join(work, single), { recursive: true });
  cpSync(join(root, single, "package.json"), join(work, single, "package.json"));
  manifests[JSON.parse(readFileSync(join(root, single, "package.json"), "utf8")).name] = single;
}

// what the changesets ask for
const order = { patch: 1, minor: 2, major: 3 };
const wanted = {}; // package → { bump, summaries }
const changesets = readdirSync(join(root, ".changeset")).filter((f) => f.endsWith(".md") && f !== "README.md");
for (const file of changesets) {
  const text = readFileSync(join(root, ".changeset", file), "utf8");
  const m = /^---\n([\s\S]*?)\n---\n([\s\S]*)$/.exec(text);
  if (!m) {
    problems.push(`${file}: no front matter`);
    continue;
  }
  const summary = m[2].trim().split("\n")[0];
  for (const line of m[1].split("\n")) {
    const e = /^"?([^":]+)"?\s*:\s*(patch|minor|major)\s*$/.exec(line.trim());
    if (!e) continue;
    const w = (wanted[e[1]] ??= { bump: "patch", summaries: [] });
    if (order[e[2]] > order[w.bump]) w.bump = e[2];
    w.summaries.push(summary);
  }
}

const before = Object.fromEntries(Object.entries(manifests).map(([n, dir]) => [n, JSON.parse(readFileSync(join(work, dir, "package.json"), "utf8")).version]));
execFileSync(join(root, "node_modules/.bin/changeset"), ["version"], { cwd: work, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });

const newer = (a, b) => {
  const [x, y] = [a.split(".").map(Number), b.split(".").map(Number)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] > y[i];
  return false;
};
for (const [name, w] of Object.entries(wanted)) {
  const dir = manifests[name];
  if (!dir) {
    problems.push(`a changeset names ${name}, which is not a workspace package`);
    continue;
  }
  const after = JSON.parse(readFileSync(join(work, dir, "package.json"), "utf8")).version;
  if (!newer(after, before[name])) problems.push(`${name}: ${before[name]} → ${after} (a ${w.bump} was asked for)`);
  const changelog = existsSync(join(work, dir, "CHANGELOG.md")) ? readFileSync(join(work, dir, "CHANGELOG.md"), "utf8") : "";
  for (const s of w.summaries) if (!changelog.includes(s)) problems.push(`${name}: CHANGELOG.md lacks "${s.slice(0, 60)}…"`);
  console.log(`${name}: ${before[name]} → ${after} (${w.bump}; ${w.summaries.length} changeset(s))`);
}
const left = readdirSync(join(work, ".changeset")).filter((f) => f.endsWith(".md") && f !== "README.md");
if (left.length > 0) problems.push(`changesets not consumed: ${left.join(", ")}`);
const config = JSON.parse(readFileSync(join(root, ".changeset/config.json"), "utf8"));
for (const name of config.ignore ?? []) {
  const after = JSON.parse(readFileSync(join(work, manifests[name], "package.json"), "utf8")).version;
  if (after !== before[name]) problems.push(`${name} is ignored but went ${before[name]} → ${after}`);
}

rmSync(work, { recursive: true, force: true });
if (changesets.length === 0) console.log("no changesets");
for (const p of problems) console.log(`FAIL ${p}`);
console.log(problems.length === 0 ? `changeset version check: passed (${changesets.length} changesets)` : "changeset version check: FAILED");
process.exit(problems.length === 0 ? 0 : 1);
