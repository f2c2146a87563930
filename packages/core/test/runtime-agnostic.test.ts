import { describe, expect, it } from "vitest";

// node:fs is loaded dynamically so the core's type-check (no Node typings) stays honest: only this test reads files.
type Fs = { readdirSync(path: string): string[]; readFileSync(path: string, encoding: "utf8"): string };
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
  const files = fs.readdirSync(srcDir).filter((f) => f.endsWith(".ts"));

  it("has source files to check", () => {
    expect(files).toContain("protocol.ts");
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
