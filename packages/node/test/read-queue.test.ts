/**
 * Issue 21, items 1, 2 and 6 over real sockets against @ws/node's serve() and connect() with their defaults
 * (the shared checks in ./read-queue-checks.ts, also run inside Bun and Deno): empty messages no longer queue
 * for free, a small message does not keep its read buffer, the client's own defaults (send-buffer bound,
 * messageTimeout, keepalive).
 */
import { describe, expect, it } from "vitest";
import { connect, defineService, serve, silentLogger } from "../src/index.ts";
import { runReadQueueChecks } from "./read-queue-checks.ts";

describe("read queues and the client's defaults over real sockets on Node", () => {
  it("every check holds", async () => {
    const results = await runReadQueueChecks({ serve: (o) => serve(o), connect, defineService, silentLogger }, ["core"]);
    expect(results.length).toBe(7);
    expect(results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.error}`)).toEqual([]);
  }, 120_000);
});
