/**
 * Issue 22 point 4, the client side, on Node (the shared checks in ./handshake-error-checks.ts, also run inside Bun
 * and Deno): a refused client learns the status, the headers and the start of the body, bounded in size and time.
 */
import { describe, expect, it } from "vitest";
import { connect, defineService, serve, silentLogger, WebSocket } from "../src/index.ts";
import { runHandshakeErrorChecks } from "./handshake-error-checks.ts";

describe("HandshakeError on Node", () => {
  it("carries status, statusText, headers and a bounded body; the WebSocket's error event says the status", async () => {
    const results = await runHandshakeErrorChecks({ serve: (o) => serve(o), defineService, silentLogger, connect, WebSocket });
    expect(results.length).toBe(5);
    expect(results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.error}`)).toEqual([]);
  }, 60_000);
});
