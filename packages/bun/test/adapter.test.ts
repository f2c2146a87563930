/**
 * @ws/bun inside Bun: test/fixtures/checks.ts runs both engines (serve, the Bun client, topics, register,
 * ping, fragment streaming, graceful close) and reports each check; what the runtime engine cannot do must
 * fail with UnsupportedError, exactly where the README's feature table says so.
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const here = resolve(import.meta.dirname);
const BUN = join(dirname(createRequire(import.meta.url).resolve("bun/package.json")), "bin/bun.exe");

function runInBun(args: string[]): string {
  const r = spawnSync(BUN, ["--conditions=@ws/source", ...args], { cwd: resolve(here, ".."), encoding: "utf8", timeout: 180_000 });
  if (r.status !== 0) throw new Error(`bun exited ${r.status}: ${r.stderr}`);
  return r.stdout.trim().split("\n").at(-1)!;
}

type Results = Array<{ name: string; ok: boolean; error?: string }>;
const failures = (results: Results) => results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.error}`);

describe("@ws/bun on Bun", () => {
  it("passes every adapter check on both engines; the runtime engine refuses fragment streaming with UnsupportedError", () => {
    const results = JSON.parse(runInBun([join(here, "fixtures/checks.ts"), "@ws/bun"])) as Results;
    expect(results.length).toBe(14);
    expect(failures(results)).toEqual(["runtime: fragment streaming (stream(), onFragment): UNSUPPORTED"]);
  });

  it("passes every adapter check with the core engine on Bun's node:http (sockets: \"node:http\")", () => {
    const results = JSON.parse(runInBun([join(here, "fixtures/checks.ts"), "@ws/bun", "core", "node:http"])) as Results;
    expect(results.length).toBe(7);
    expect(failures(results)).toEqual([]);
  });

  it("holds every bound of issue 11's attacks on both engines (the runtime engine: those it does not leave to Bun)", () => {
    const results = JSON.parse(runInBun([join(here, "fixtures/hostile.ts"), "@ws/bun"])) as Results;
    expect(results.length).toBe(16);
    expect(failures(results)).toEqual([]);
  }, 200_000);

  it("holds every bound of issue 11's attacks with the core engine on Bun's node:http too", () => {
    const results = JSON.parse(runInBun([join(here, "fixtures/hostile.ts"), "@ws/bun", "core", "node:http"])) as Results;
    expect(results.length).toBe(12);
    expect(failures(results)).toEqual([]);
  }, 200_000);

  it("bounds read queues by count too (empty floods pause reading, one warning), copies small queued messages out of read buffers, and gives the client its defaults (send buffer, messageTimeout, keepalive)", () => {
    const results = JSON.parse(runInBun([join(here, "fixtures/read-queue.ts"), "@ws/bun"])) as Results;
    expect(results.length).toBe(9);
    expect(failures(results)).toEqual([]);
  }, 200_000);

  it("bounds what the core engine holds for its peers (maxServerBufferedAmount) on Bun's sockets and on node:http: non-readers among many subscribers get 1008, readers everything (issue 21 #3)", () => {
    for (const sockets of ["bun", "node:http"]) {
      const results = JSON.parse(runInBun([join(here, "fixtures/hostile-sendbuf.ts"), "@ws/bun", sockets])) as Results;
      expect(results.length).toBe(1);
      expect(failures(results)).toEqual([]);
    }
  }, 200_000);

  it("on Bun's own sockets: answers plain HTTP itself (keep-alive, bodies, backpressure), bounds the request head, serves TLS", () => {
    const results = JSON.parse(runInBun([join(here, "fixtures/native.ts"), "bun"])) as Results;
    expect(results.length).toBe(13);
    expect(failures(results)).toEqual([]);
  });

  it("refused upgrades close their sockets when the client never does, and make a bounded number of log lines (both engines)", () => {
    const results = JSON.parse(runInBun([join(here, "fixtures/refusals.ts"), "@ws/bun"])) as Results;
    expect(results.length).toBe(6);
    expect(failures(results)).toEqual([]);
  }, 120_000);

  it("the same with the core engine on Bun's node:http", () => {
    const results = JSON.parse(runInBun([join(here, "fixtures/refusals.ts"), "@ws/bun", "core", "node:http"])) as Results;
    expect(results.length).toBe(3);
    expect(failures(results)).toEqual([]);
  }, 120_000);

  it("a server that cannot listen raises ListenError (EADDRINUSE, EACCES, ENOTFOUND, EADDRNOTAVAIL, ETLS) with the address, the port and the fix, on both engines; maxPayload errors say maxPayload", () => {
    const results = JSON.parse(runInBun([join(here, "fixtures/listen.ts"), "@ws/bun"])) as Results;
    expect(results.length).toBe(14);
    expect(failures(results)).toEqual([]);
  }, 60_000);

  it("the same with the core engine on Bun's node:http", () => {
    const results = JSON.parse(runInBun([join(here, "fixtures/listen.ts"), "@ws/bun", "core", "node:http"])) as Results;
    expect(results.length).toBe(7);
    expect(failures(results)).toEqual([]);
  }, 60_000);

  it("on Bun's own sockets: the request head is bounded whole (414, 431) and read by RFC 9112's rules (NUL, control characters, bare LF: 400)", () => {
    const results = JSON.parse(runInBun([join(here, "fixtures/head-parser.ts")])) as Results;
    expect(results.length).toBe(7);
    expect(failures(results)).toEqual([]);
  });

  it("its WHATWG WebSocket passes every conformance check against @ws/bun's server", () => {
    const results = JSON.parse(runInBun([join(here, "fixtures/websocket.ts"), "@ws/bun"])) as Array<{ name: string; ok: boolean; error?: string }>;
    expect(results.length).toBe(13);
    expect(results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.error}`)).toEqual([]);
  });

  it("compresses and inflates over zlib contexts shared across messages (bounds, corrupt data, the one-shot fallback), compresses sends on both engines, and answers the handshake with Bun's SHA-1", () => {
    const results = JSON.parse(runInBun([join(here, "fixtures/deflate-codec.ts")])) as Results;
    expect(results.length).toBe(11);
    expect(failures(results)).toEqual([]);
  });

  it("its client learns why it was refused: HandshakeError's status, statusText, headers and a bounded body; the WebSocket's error event says the status", () => {
    const results = JSON.parse(runInBun([join(here, "fixtures/handshake-error.ts"), "@ws/bun"])) as Results;
    expect(results.length).toBe(5);
    expect(failures(results)).toEqual([]);
  }, 60_000);

  it("gets a fresh buffer for each Bun.listen data callback (so the bytes need no copy)", () => {
    const [sent, received] = runInBun([join(here, "fixtures/data-buffers.ts")]).split(" ");
    expect(received).toBe(sent);
  });

  it("refuses serve()'s misconfigurations at start (nothing to serve, ws's and Bun.serve's options, a misspelt key) with the fix, and warns once of a service with no hooks (both engines)", () => {
    const results = JSON.parse(runInBun([join(here, "fixtures/misconfig.ts"), "@ws/bun"])) as Results;
    expect(results.length).toBe(13);
    expect(failures(results)).toEqual([]);
  });
});
