/**
 * Connection ids cost one flat string each (issue 26, idle memory): a template literal of the process prefix and
 * the counter is a cons string in V8 (two 32-byte cons cells and the counter's string behind the one id) once
 * it is 13 characters or longer; an id is made flat when it is made.
 */
import { describe, expect, it } from "vitest";
import { connectionId } from "../src/session/id.ts";

// node:v8 is loaded dynamically so the core's type-check (no Node typings) stays honest (as runtime-agnostic.test.ts)
const { getHeapSnapshot } = (await import("node:v8" as string)) as { getHeapSnapshot(): AsyncIterable<string | Uint8Array> };

async function stringTypesOf(match: (name: string) => boolean): Promise<Map<string, number>> {
  let text = "";
  for await (const chunk of getHeapSnapshot()) text += String(chunk);
  const snap = JSON.parse(text) as { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[]; strings: string[] };
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [TYPE, NAME] = [fields.indexOf("type"), fields.indexOf("name")];
  const counts = new Map<string, number>();
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    if (!match(snap.strings[snap.nodes[i + NAME]!]!)) continue;
    const type = types[snap.nodes[i + TYPE]!]!;
    counts.set(type, (counts.get(type) ?? 0) + 1);
  }
  return counts;
}

describe("connectionId", () => {
  it("is a flat string: no cons string is kept per id", async () => {
    connectionId(); // the prefix drawn
    const all = () => stringTypesOf(() => true);
    const before = await all();
    const ids = Array.from({ length: 2000 }, () => connectionId());
    const after = await all();
    expect(new Set(ids).size).toBe(ids.length);
    const grew = (type: string) => ((after.get(type) ?? 0) - (before.get(type) ?? 0)) / ids.length;
    expect(grew("concatenated string")).toBeLessThan(0.1);
    expect(grew("string")).toBeGreaterThanOrEqual(0.9);
    expect(ids.length).toBe(2000); // kept alive until here
  });
});
