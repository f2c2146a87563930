import { describe, expect, it } from "vitest";

// node:fs is loaded dynamically so the core's type-check (no Node typings) stays honest: only this test reads files.
type Fs = {
  readdirSync(path: string, options: { recursive: true }): string[];
  readFileSync(path: string, encoding: "utf8"): string;
};
const fs = (await import("node:fs" as string)) as Fs;
const srcDir = new URL("../src/", (import.meta as unknown as { url: string }).url).pathname;

/** Source text with comments removed (a comment may mention node:zlib; code may not use it). */
function code(file: string): string {
  return fs
    .readFileSync(srcDir + file, "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .split("\n")
    .map((line) => line.replace(/(^|\s)\/\/.*$/, ""))
    .join("\n");
}

describe("@ws/core is runtime-agnostic", () => {
  const files = fs.readdirSync(srcDir, { recursive: true }).filter((f) => f.endsWith(".ts"));

  it("has source files to check, in every layer", () => {
    expect(files).toContain("protocol/protocol.ts");
    for (const layer of LAYERS) expect(files.some((f) => f.startsWith(`${layer}/`)), layer).toBe(true);
    expect(files.length).toBeGreaterThan(10);
  });

  it.each(files)("%s imports no node: module and uses no Node, Bun or Deno global", (file) => {
    const text = code(file);
    expect(text).not.toMatch(/\bfrom\s*["']node:/);
    expect(text).not.toMatch(/\bimport\s*\(\s*["']node:/);
    expect(text).not.toMatch(/\brequire\s*\(/);
    expect(text).not.toMatch(/^\s*import\s+["']node:/m);
    // bare Node built-ins imported without the node: prefix
    expect(text).not.toMatch(/\bfrom\s*["'](fs|net|tls|http|https|zlib|crypto|stream|buffer|events|os|path|url|util)(\/[^"']*)?["']/);
    expect(text).not.toMatch(/\b(Bun|Deno)\s*[.[]/);
    expect(text).not.toMatch(/globalThis\s*\.\s*(Bun|Deno|process|Buffer)\b/);
    expect(text).not.toMatch(/\bprocess\s*\.\s*\w/);
    expect(text).not.toMatch(/\bBuffer\s*\.\s*\w/);
  });

  it("the check catches what it should", () => {
    const bad = ['import { x } from "node:fs";', 'const z = await import("node:zlib");', "Deno.serve()", "Bun.serve({})", "process.env.X", 'import z from "zlib";'];
    const patterns = [/\bfrom\s*["']node:/, /\bimport\s*\(\s*["']node:/, /\b(Bun|Deno)\s*[.[]/, /\bprocess\s*\.\s*\w/, /\bfrom\s*["'](fs|net|tls|http|https|zlib|crypto|stream|buffer|events|os|path|url|util)(\/[^"']*)?["']/];
    for (const b of bad) expect(patterns.some((p) => p.test(b)), b).toBe(true);
  });
});

/** The layers, bottom first: a module may import from its own layer and the ones below, never above. */
const LAYERS = ["settings", "wire", "protocol", "session", "server", "client", "testing"] as const;

/** Relative imports of `file` (value and type imports alike), as paths under src/. */
function importsOf(file: string): string[] {
  const dir = file.includes("/") ? file.slice(0, file.lastIndexOf("/") + 1) : "";
  const out: string[] = [];
  for (const m of code(file).matchAll(/\b(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)) {
    const parts = (dir + m[1]).split("/");
    const resolved: string[] = [];
    for (const part of parts) {
      if (part === "..") resolved.pop();
      else if (part !== ".") resolved.push(part);
    }
    out.push(resolved.join("/"));
  }
  return out;
}

/** Every import circle of `graph` (depth-first; each found once, from where the walk entered it). */
function findCycles(graph: Map<string, string[]>): string[] {
  const cycles: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (f: string, path: string[]) => {
    if (state.get(f) === "done") return;
    if (state.get(f) === "visiting") return void cycles.push([...path.slice(path.indexOf(f)), f].join(" → "));
    state.set(f, "visiting");
    for (const t of graph.get(f) ?? []) visit(t, [...path, f]);
    state.set(f, "done");
  };
  for (const f of graph.keys()) visit(f, []);
  return cycles;
}

describe("@ws/core's layers", () => {
  const files = fs.readdirSync(srcDir, { recursive: true }).filter((f) => f.endsWith(".ts") && f.includes("/"));
  const layerOf = (f: string) => LAYERS.indexOf(f.split("/")[0] as (typeof LAYERS)[number]);

  it.each(files)("%s imports only from its own layer or the ones below", (file) => {
    const above = importsOf(file).filter((target) => layerOf(target) > layerOf(file));
    expect(above).toEqual([]);
  });

  it("has no import circles (type imports included)", () => {
    const graph = new Map(files.map((f) => [f, importsOf(f).filter((t) => files.includes(t))]));
    expect(findCycles(graph)).toEqual([]);
  });

  it("the circle check finds a circle", () => {
    const graph = new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["a"]]]);
    expect(findCycles(graph)).toEqual(["a → b → c → a"]);
  });
});
