/**
 * The settings table (src/settings): the README's "Limits and defaults" table and the options interfaces are
 * generated from it and must not drift; every option is checked against its row, aliases and deprecated names
 * are reported as the user wrote them, and durations given in seconds by mistake are refused.
 * `UPDATE_SETTINGS=1` (`pnpm --filter @ws/core settings`) writes the generated files anew instead of failing.
 */
import { describe, expect, it } from "vitest";
import { renderOptionsModule, renderSettingsMarkdown } from "../src/settings/render.ts";
import { checkSettings, InvalidOptionError, resolveSettings } from "../src/settings/resolve.ts";
import { SETTINGS } from "../src/settings/table.ts";

// node:fs is loaded dynamically so the core's type-check (no Node typings) stays honest
type Fs = { readFileSync(path: string, encoding: "utf8"): string; writeFileSync(path: string, text: string): void };
const { readFileSync, writeFileSync } = (await import("node:fs" as string)) as Fs;
const here = (import.meta as unknown as { url: string }).url;
const readme = new URL("../../../README.md", here).pathname;
const generated = new URL("../src/settings/options.generated.ts", here).pathname;
const START = "<!-- settings table: generated from packages/core/src/settings/table.ts; `pnpm --filter @ws/core settings` -->";
const END = "<!-- end of settings table -->";
const update = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.UPDATE_SETTINGS === "1";

function readmeSection(text: string): { before: string; table: string; after: string } {
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`README.md has no settings table between the markers ${START} … ${END}`);
  return { before: text.slice(0, a + START.length), table: text.slice(a + START.length, b), after: text.slice(b) };
}

describe("generated from the table", () => {
  it("the README's Limits and defaults table", () => {
    const text = readFileSync(readme, "utf8");
    const { before, table, after } = readmeSection(text);
    const want = "\n" + renderSettingsMarkdown();
    if (update && table !== want) writeFileSync(readme, before + want + after);
    else expect(table).toBe(want);
  });

  it("the options interfaces with their TSDoc", () => {
    const want = renderOptionsModule();
    let have = "";
    try {
      have = readFileSync(generated, "utf8");
    } catch {}
    if (update && have !== want) writeFileSync(generated, want);
    else expect(have).toBe(want);
  });

  it("every row names its default in the README table", () => {
    const md = renderSettingsMarkdown();
    for (const name of Object.keys(SETTINGS)) expect(md).toContain(`\`${name}\``);
    expect(md).toContain("16 MiB");
    expect(md).toContain("120,000 ms (120 s)");
  });
});

describe("checking options against the table", () => {
  const error = (f: () => void) => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidOptionError);
      return (e as Error).message;
    }
    throw new Error("no error");
  };

  it("a duration that looks like seconds is refused, naming the unit", () => {
    const m = error(() => checkSettings({ idleTimeout: 30 }, "server"));
    expect(m).toContain("idleTimeout: 30");
    expect(m).toContain("milliseconds");
    expect(m).toContain("30_000");
  });

  it("a duration beyond what a timer can wait is refused", () => {
    expect(error(() => checkSettings({ closeTimeout: 3e9 }, "server"))).toContain("at most 2_147_483_647");
  });

  it("an alias is reported under the name the user wrote", () => {
    const m = error(() => checkSettings({ maxPayload: "1mb" }, "client"));
    expect(m).toMatch(/^maxPayload: "1mb" is not allowed/);
    expect(m).not.toContain("maxMessageSize:");
  });

  it("an alias resolves to its setting", () => {
    expect(resolveSettings("client", [{ maxPayload: 1000 }]).maxMessageSize).toBe(1000);
  });

  it("a server-only setting on a service is refused, saying where it belongs", () => {
    const m = error(() => checkSettings({ maxConnections: 5 }, "service", 'services["/chat"].'));
    expect(m).toContain('services["/chat"].maxConnections');
    expect(m).toContain("serve()/attach() options");
  });

  it("the seconds-based connectionTimeout still works, converted, with one warning naming idleTimeout", () => {
    const warnings: string[] = [];
    const s = resolveSettings("server", [{ connectionTimeout: 30 }], (m) => warnings.push(m));
    expect(s.idleTimeout).toBe(30_000);
    resolveSettings("server", [{ connectionTimeout: 40 }], (m) => warnings.push(m));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("idleTimeout");
    expect(warnings[0]).toContain("milliseconds");
  });

  it("connectionTimeout: 30000 (meant as ms) is refused instead of meaning eight hours", () => {
    const m = error(() => checkSettings({ connectionTimeout: 30000 * 1000 }, "server"));
    expect(m).toContain("idleTimeout");
  });

  it("both the old and the new name is refused", () => {
    expect(error(() => checkSettings({ connectionTimeout: 30, idleTimeout: 30_000 }, "server"))).toContain("only one of connectionTimeout and idleTimeout");
  });

  it("a service's own settings win over the server's, the defaults fill the rest, frozen", () => {
    const s = resolveSettings("server", [{ maxMessageSize: 10 }, { maxMessageSize: 20, closeTimeout: 1000 }]);
    expect(s.maxMessageSize).toBe(10);
    expect(s.maxFrameSize).toBe(10);
    expect(s.closeTimeout).toBe(1000);
    expect(s.maxFragments).toBe(4096);
    expect(Object.isFrozen(s)).toBe(true);
  });

  it("maxPublishBufferedAmount follows the server's maxBufferedAmount, else 1 MiB", () => {
    expect(resolveSettings("server", [{ maxBufferedAmount: 5000 }]).maxPublishBufferedAmount).toBe(5000);
    expect(resolveSettings("server", []).maxPublishBufferedAmount).toBe(1024 * 1024);
  });
});
