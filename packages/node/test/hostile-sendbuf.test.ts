/**
 * Issue 21 #3 over real sockets against @ws/node's serve(): subscribers that never read, a publisher, and the
 * server-wide bound on what the server holds for its peers (./hostile-sendbuf-checks.ts, also run inside Bun
 * and Deno).
 */
import { describe, expect, it } from "vitest";
import { defineService, serve, silentLogger } from "../src/index.ts";
import { runSendBufferChecks } from "./hostile-sendbuf-checks.ts";

describe("maxServerBufferedAmount over real sockets on Node", () => {
  it("non-readers among many subscribers are dropped with 1008 within the bound; readers get everything", async () => {
    const results = await runSendBufferChecks({ serve: (o) => serve(o), defineService, silentLogger }, ["core"]);
    expect(results.length).toBe(1);
    expect(results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.error}`)).toEqual([]);
  }, 90_000);
});
