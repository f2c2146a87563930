/**
 * Issue 25: the echo app serves wss:// and WebSockets over HTTP/2 on one port when started with TLS_CERT, TLS_KEY
 * (PEM file paths) and HTTP2=1 — on Node, Bun and Deno (each entry started as its own process, port 0).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { connect } from "@ws/node";

const app = resolve(import.meta.dirname, "..");
const require = createRequire(import.meta.url);
const BUN = join(dirname(require.resolve("bun/package.json")), "bin/bun.exe");
const DENO = join(dirname(require.resolve("deno/package.json")), "deno");

const dir = mkdtempSync(join(tmpdir(), "echo-h2-"));
execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts an entry with the TLS and HTTP/2 environment and resolves its port once it listens. */
function start(command: string, args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(command, args, {
    cwd: app,
    env: { ...process.env, TLS_CERT: join(dir, "cert.pem"), TLS_KEY: join(dir, "key.pem"), HTTP2: "1", NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise((resolvePort, reject) => {
    let out = "";
    let err = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /Listening on port (\d+)/.exec(out);
      if (m) resolvePort({ child, port: Number(m[1]) });
    });
    child.stderr!.on("data", (c: Buffer) => void (err += c.toString()));
    child.once("exit", (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
}

const entries: [string, string, string[]][] = [
  ["Node", process.execPath, ["dist/server.node.js", "0"]],
  ["Bun", BUN, ["--conditions=@ws/source", "src/server.bun.ts", "0"]],
  ["Deno", DENO, ["run", "-A", "--conditions=@ws/source", "src/server.deno.ts", "0"]],
];

describe("the echo app with TLS_CERT, TLS_KEY and HTTP2=1", () => {
  for (const [runtime, command, args] of entries) {
    it(`serves WebSockets over HTTP/2 and HTTP/1.1 on one port (${runtime})`, async () => {
      const { child, port } = await start(command, args);
      try {
        for (const http2 of [true, false]) {
          const conn = await connect(`wss://127.0.0.1:${port}/`, { http2, tls: { rejectUnauthorized: false }, http2SessionIdleTimeout: 0 });
          expect(conn.request.httpVersion).toBe(http2 ? "2" : "1.1");
          const got = new Promise<string>((r) => conn.onText(r));
          await conn.send(`over ${conn.request.httpVersion}`);
          expect(await got).toBe(`over ${conn.request.httpVersion}`);
          await conn.close();
        }
      } finally {
        child.kill();
      }
    }, 30_000);
  }
});
