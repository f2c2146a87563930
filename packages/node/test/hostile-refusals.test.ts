/**
 * Issue 21 defects 4 and 10 against @ws/node's serve() (the shared checks in ./refusal-checks.ts, also run inside
 * Bun on its node:http and inside Deno): refused upgrades let go of their sockets and do not flood the log.
 */
import { describe, expect, it } from "vitest";
import { defineService, serve } from "../src/index.ts";
import { runRefusalChecks } from "./refusal-checks.ts";

describe("refused upgrades against serve() on Node", () => {
  it("close their sockets when the client never does, and make a bounded number of log lines", async () => {
    const results = await runRefusalChecks({ serve: (o) => serve(o), defineService }, ["core"]);
    expect(results.length).toBe(3);
    expect(results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.error}`)).toEqual([]);
  }, 60_000);
});
