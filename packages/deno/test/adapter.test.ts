/**
 * @ws/deno inside Deno: test/fixtures/checks.ts runs both engines (serve, the Deno client, topics, register,
 * ping, fragment streaming, graceful close) and reports each check; what the runtime engine cannot do must
 * fail with UnsupportedError, exactly where the README's feature table says so.
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const here = resolve(import.meta.dirname);
const DENO = join(dirname(createRequire(import.meta.url).resolve("deno/package.json")), "deno");

type Result = { name: string; ok: boolean; error?: string };

/** Runs a fixture in Deno and returns the JSON line it prints last (its results). */
function runInDeno(fixture: string, timeout: number): Result[] {
  // cwd: this package, so Deno uses its deno.json import map (@ws/core, @ws/node-http → their TypeScript sources)
  const r = spawnSync(DENO, ["run", "-A", join(here, fixture), "@ws/deno"], {
    cwd: resolve(here, ".."),
    encoding: "utf8",
    timeout,
    env: { ...process.env, NO_COLOR: "1" },
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Result[];
}

describe("@ws/deno on Deno", () => {
  it("passes every adapter check on both engines; the runtime engine refuses ping and fragment streaming with UnsupportedError", () => {
    const results = runInDeno("fixtures/checks.ts", 60_000);
    expect(results.length).toBe(14);
    const failed = results.filter((x) => !x.ok).map((x) => `${x.name}: ${x.error}`);
    expect(failed).toEqual([
      "runtime: ping answered by pong: UNSUPPORTED",
      "runtime: fragment streaming (stream(), onFragment): UNSUPPORTED",
    ]);
  });

  it("holds every bound of issue 11's attacks on both engines (the runtime engine: those it does not leave to Deno)", () => {
    const results = runInDeno("fixtures/hostile.ts", 180_000);
    expect(results.length).toBe(16);
    expect(results.filter((x) => !x.ok).map((x) => `${x.name}: ${x.error}`)).toEqual([]);
  }, 200_000);

  it("bounds read queues by count too (empty floods pause reading, one warning), copies small queued messages out of read buffers, and gives the client its defaults (send buffer, messageTimeout, keepalive)", () => {
    const results = runInDeno("fixtures/read-queue.ts", 180_000);
    expect(results.length).toBe(7);
    expect(results.filter((x) => !x.ok).map((x) => `${x.name}: ${x.error}`)).toEqual([]);
  }, 200_000);

  it("refused upgrades close their sockets when the client never does (core engine), and make a bounded number of log lines (both)", () => {
    const results = runInDeno("fixtures/refusals.ts", 140_000);
    expect(results.length).toBe(6);
    // Deno.serve keeps the connection of a refused upgrade open, though the response says Connection: close: the
    // runtime engine has no socket of its own to close (Deno's limitation, in the README's Security section)
    expect(results.filter((x) => !x.ok).map((x) => `${x.name}: ${x.error}`)).toEqual([
      "runtime: 40 refused upgrades (404, a gate's 401) whose clients never close: the server closes every socket: 40 of 40 refused sockets still open after 10 s",
      "runtime: 10 upgrades at a gate that never answers, clients that never close: 503 at handshakeTimeout, every socket closed: 10 of 10 sockets still open after 10 s",
    ]);
  }, 150_000);

  it("a server that cannot listen raises ListenError (EADDRINUSE, EACCES, ENOTFOUND, EADDRNOTAVAIL, ETLS) with the address, the port and the fix, on both engines; maxPayload errors say maxPayload", () => {
    const results = runInDeno("fixtures/listen.ts", 60_000);
    expect(results.length).toBe(14);
    expect(results.filter((x) => !x.ok).map((x) => `${x.name}: ${x.error}`)).toEqual([]);
  }, 70_000);

  it("bounds what the core engine holds for its peers (maxServerBufferedAmount): non-readers among many subscribers get 1008, readers everything (issue 21 #3)", () => {
    const results = runInDeno("fixtures/hostile-sendbuf.ts", 120_000);
    expect(results.length).toBe(1);
    expect(results.filter((x) => !x.ok).map((x) => `${x.name}: ${x.error}`)).toEqual([]);
  }, 130_000);

  it("its client learns why it was refused: HandshakeError's status, statusText, headers and a bounded body; the WebSocket's error event says the status", () => {
    const results = runInDeno("fixtures/handshake-error.ts", 60_000);
    expect(results.length).toBe(5);
    expect(results.filter((x) => !x.ok).map((x) => `${x.name}: ${x.error}`)).toEqual([]);
  }, 70_000);

  it("its WHATWG WebSocket passes every conformance check against @ws/deno's server", () => {
    const results = runInDeno("fixtures/websocket.ts", 60_000);
    expect(results.length).toBe(13);
    expect(results.filter((x) => !x.ok).map((x) => `${x.name}: ${x.error}`)).toEqual([]);
  });

  it("refuses serve()'s misconfigurations at start (nothing to serve, ws's and Bun.serve's options, a misspelt key) with the fix, and warns once of a service with no hooks (both engines)", () => {
    const results = runInDeno("fixtures/misconfig.ts", 60_000);
    expect(results.length).toBe(13);
    expect(results.filter((x) => !x.ok).map((x) => `${x.name}: ${x.error}`)).toEqual([]);
  });
});
