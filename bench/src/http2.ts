/**
 * WebSockets over HTTP/2 (RFC 8441) against HTTP/1.1, same server (@ws/node's serve({ tls, http2: true }) in a child
 * process, so that its memory is its own): echo round trips (small and large messages, one connection), and opening
 * 1,000 WebSockets over one HTTP/2 session against 1,000 TCP+TLS connections (time to open all, and the server's
 * heap and RSS growth with them open, after a GC). `pnpm --filter @ws/bench build && node bench/dist/http2.js`.
 */
import { execFileSync, fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect, defineService, serve, type Connection } from "@ws/node";

type Memory = { heapUsed: number; rss: number };

if (process.argv[2] === "server") {
  const cert = JSON.parse(process.env.BENCH_CERT!) as { key: string; cert: string };
  const echo = defineService({ received: (message, conn) => void conn.send(message) });
  const server = await serve({ hostname: "127.0.0.1", tls: cert, http2: true, maxConnections: 10_000, maxConcurrentStreams: 2000, services: { "/echo": echo } });
  process.on("message", (m: string) => {
    if (m === "memory") {
      (globalThis as { gc?: () => void }).gc?.();
      const { heapUsed, rss } = process.memoryUsage();
      process.send!({ heapUsed, rss, connections: server.connectionCount });
    }
    if (m === "stop") void server.close({ timeout: 1000 }).then(() => process.exit(0));
  });
  process.send!({ port: server.port });
} else {
  await main();
}

function selfSignedCert(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), "ws-cert-"));
  try {
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
    return { key: readFileSync(join(dir, "key.pem"), "utf8"), cert: readFileSync(join(dir, "cert.pem"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function ask<T>(child: ChildProcess, message: string): Promise<T> {
  return new Promise((resolve) => {
    child.once("message", (m) => resolve(m as T));
    child.send(message);
  });
}

async function echoRate(url: string, http2: boolean, size: number, count: number): Promise<number> {
  const conn = await connect(url, { http2, tls: { rejectUnauthorized: false }, perMessageDeflate: false });
  const payload = new Uint8Array(size).fill(120);
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const reply = new Promise<void>((resolve) => {
      const off = conn.onMessage(() => {
        off();
        resolve();
      });
    });
    await conn.send(payload);
    await reply;
  }
  const seconds = (performance.now() - started) / 1000;
  await conn.close();
  return count / seconds;
}

async function openMany(url: string, http2: boolean, count: number): Promise<{ ms: number; conns: Connection[] }> {
  const started = performance.now();
  const conns: Connection[] = [];
  // 100 at a time: a burst of 1,000 TLS handshakes at once measures the accept queue, not the protocol
  for (let i = 0; i < count; i += 100) {
    conns.push(...(await Promise.all(Array.from({ length: Math.min(100, count - i) }, () => connect(url, { http2, tls: { rejectUnauthorized: false }, perMessageDeflate: false })))));
  }
  return { ms: performance.now() - started, conns };
}

async function main(): Promise<void> {
  const child = fork(fileURLToPath(import.meta.url), ["server"], { execArgv: ["--expose-gc"], env: { ...process.env, BENCH_CERT: JSON.stringify(selfSignedCert()) } });
  const { port } = await new Promise<{ port: number }>((resolve) => child.once("message", (m) => resolve(m as { port: number })));
  const url = `wss://127.0.0.1:${port}/echo`;
  const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
  try {
    for (const [size, count] of [[32, 5000], [64 * 1024, 500]] as const) {
      // warm up both paths first
      await echoRate(url, true, size, 200);
      await echoRate(url, false, size, 200);
      const h2 = await echoRate(url, true, size, count);
      const h1 = await echoRate(url, false, size, count);
      console.log(`echo ${size} B, ${count} round trips on one connection: HTTP/2 ${h2.toFixed(0)}/s, HTTP/1.1 ${h1.toFixed(0)}/s`);
    }
    for (const http2 of [true, false]) {
      const before = await ask<Memory>(child, "memory");
      const { ms, conns } = await openMany(url, http2, 1000);
      const open = await ask<Memory & { connections: number }>(child, "memory");
      console.log(
        `1,000 WebSockets over ${http2 ? "one HTTP/2 session" : "1,000 TCP+TLS connections (HTTP/1.1)"}: opened in ${ms.toFixed(0)} ms; ` +
          `server ${open.connections} connections, heap +${mb(open.heapUsed - before.heapUsed)} MB, RSS +${mb(open.rss - before.rss)} MB`,
      );
      await Promise.all(conns.map((c) => c.close()));
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await ask(child, "stop").catch(() => {});
    child.kill();
  }
  process.exit(0);
}
