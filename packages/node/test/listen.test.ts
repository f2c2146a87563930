/**
 * Issue 22, point 5 on Node (the shared checks in ./listen-checks.ts, also run inside Bun and Deno): a failure to
 * listen is one ListenError (EADDRINUSE, EACCES, ENOTFOUND, EADDRNOTAVAIL, ETLS) with the address, the port and the
 * fix; an option's error names the alias the user wrote.
 */
import { describe, expect, it } from "vitest";
import * as node from "../src/index.ts";
import { runListenChecks } from "./listen-checks.ts";

describe("serve() that cannot listen, on Node", () => {
  it("raises ListenError with a stable code, the address, the port and the fix; maxPayload errors say maxPayload", async () => {
    const results = await runListenChecks(node as unknown as Parameters<typeof runListenChecks>[0], ["core"]);
    expect(results.length).toBe(7);
    expect(results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.error}`)).toEqual([]);
  }, 30_000);
});
