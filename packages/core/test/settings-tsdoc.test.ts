// The generated options interfaces (settings/options.generated.ts) as the API reference shows them: every
// option has a @defaultValue, and every numeric setting names its unit.
// (settings.test.ts checks that the file is what renderOptionsModule() makes)
import { describe, expect, it } from "vitest";
import { renderOptionsModule } from "../src/settings/render.ts";
import { SETTINGS } from "../src/settings/table.ts";

const generated = renderOptionsModule();

/** Each member of the generated interfaces with the TSDoc comment right above it. */
function members(): { name: string; doc: string }[] {
  const out: { name: string; doc: string }[] = [];
  const re = /(\/\*\*[\s\S]*?\*\/)\s*\n\s*(\w+)\?:/g;
  for (let m = re.exec(generated); m !== null; m = re.exec(generated)) out.push({ name: m[2]!, doc: m[1]! });
  return out;
}

describe("the options' TSDoc", () => {
  it("has a member for every setting", () => {
    const names = new Set(members().map((m) => m.name));
    for (const name of Object.keys(SETTINGS)) expect(names.has(name), name).toBe(true);
  });

  it("gives every option a @defaultValue, aliases and deprecated names included", () => {
    const missing = members().filter((m) => !m.doc.includes("@defaultValue")).map((m) => m.name);
    expect(missing).toEqual([]);
  });

  it("names the unit of every numeric setting, and a default's literal in code", () => {
    for (const m of members()) {
      const row = (SETTINGS as Record<string, { unit: string; default: unknown; defaultText?: string }>)[m.name];
      if (row === undefined || row.unit === "choice" || row.unit === "flag") continue;
      expect(m.doc, m.name).toMatch(/Unit: (bytes|count|milliseconds|bytes per second)\./);
      if (typeof row.default === "number" && Number.isFinite(row.default) && row.defaultText === undefined) expect(m.doc, m.name).toMatch(/@defaultValue `[\d_]+`/);
    }
  });
});
