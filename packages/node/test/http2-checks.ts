/**
 * Issue 25's server checks against any adapter's serve({ http2: true }) (the core engine over the runtime's
 * node:http2), with node:http2's client (which Node, Bun and Deno all have) as the RFC 8441 client: extended
 * CONNECT → 200 and frames both ways, 50 WebSockets on one session, the gate's refusal on the stream, the HTTP/1.1
 * Upgrade on the same port, h2c, and the runtime engine refusing `http2`. Run by this package's
 * test/http2-runtimes.test.ts and, inside Bun and Deno, by their test/fixtures/http2.ts.
 */
import * as tls from "node:tls";
import type { defineService as DefineService, Logger } from "@ws/core";
import { clientFrame, closeFrame, h2Connect, h2Session } from "./http2-support.ts";

/** What the checks use of an adapter module. */
export interface Http2Target {
  serve(options: Record<string, unknown>): Promise<{ port: number; readonly connectionCount: number; connections: ReadonlySet<{ request: { httpVersion: string } }>; close(options?: { timeout?: number }): Promise<void> }>;
  defineService: typeof DefineService;
}

export type CheckResult = { name: string; ok: boolean; error?: string };

const quiet: Logger = { error() {}, warn() {}, info() {}, debug() {} } as unknown as Logger;

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** An HTTP/1.1 Upgrade over TLS, raw: the status line of the answer. */
function upgradeOverTls(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false, ALPNProtocols: ["http/1.1"] }, () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    let head = "";
    socket.on("data", (chunk: Buffer) => {
      head += chunk.toString("latin1");
      if (head.includes("\r\n\r\n")) {
        socket.destroy();
        resolve(head.split("\r\n")[0]!);
      }
    });
    socket.on("error", reject);
    setTimeout(() => (socket.destroy(), reject(new Error("no answer to the HTTP/1.1 upgrade"))), 5000);
  });
}

/** The adapter's client, for the client checks: its connect() and the TLS options that trust `cert`. */
export interface Http2Client {
  connect(url: string, options: Record<string, unknown>): Promise<{ request: { httpVersion: string }; send(data: string): Promise<unknown>; onText(listener: (text: string) => void): unknown; close(): Promise<unknown> }>;
  tls: unknown;
}

/** Runs the checks; `cert` is a self-signed key and certificate for 127.0.0.1; `client`: the adapter's client too. */
export async function runHttp2Checks(target: Http2Target, cert: { key: string; cert: string }, client?: Http2Client): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const check = async (name: string, fn: () => Promise<void>) => {
    try {
      await fn();
      results.push({ name, ok: true });
    } catch (error) {
      results.push({ name, ok: false, error: error instanceof Error ? error.message : String(error) });
    }
  };
  const { defineService } = target;
  const services = {
    "/echo": defineService({ received: (m, conn) => void conn.send(m) }),
    "/version": defineService({ received: (_m, conn) => void conn.send(conn.request.httpVersion) }),
    "/gated": defineService({ upgrade: () => ({ reject: 401, reason: "no token", headers: { "WWW-Authenticate": "Bearer" } }) }),
  };
  const server = await target.serve({ hostname: "127.0.0.1", tls: cert, http2: true, logger: quiet, services });
  const origin = `https://127.0.0.1:${server.port}`;
  try {
    await check("extended CONNECT: SETTINGS_ENABLE_CONNECT_PROTOCOL, 200, frames both ways, httpVersion 2", async () => {
      const { session, settings } = await h2Session(origin);
      try {
        assert(settings.enableConnectProtocol === true, "no SETTINGS_ENABLE_CONNECT_PROTOCOL");
        const ws = await h2Connect(session, "/version");
        assert(ws.status === 200, `status ${ws.status}`);
        assert(ws.headers["sec-websocket-accept"] === undefined, "a Sec-WebSocket-Accept over HTTP/2");
        ws.stream.write(clientFrame(0x1, Buffer.from("?")));
        const frame = await ws.next();
        assert(frame.payload.toString() === "2", `httpVersion ${frame.payload.toString()}`);
        ws.stream.write(closeFrame(1000));
        const close = await ws.next();
        assert(close.opcode === 0x8, "no close frame");
      } finally {
        session.close();
      }
    });
    await check("50 WebSockets on one session", async () => {
      const { session } = await h2Session(origin);
      try {
        const sockets = await Promise.all(Array.from({ length: 50 }, () => h2Connect(session, "/echo")));
        assert(sockets.every((s) => s.status === 200), "a stream was not answered 200");
        assert(server.connectionCount >= 50, `${server.connectionCount} connections`);
        sockets.forEach((s, i) => s.stream.write(clientFrame(0x1, Buffer.from(`n${i}`))));
        const echoes = await Promise.all(sockets.map((s) => s.next()));
        assert(echoes.every((f, i) => f.payload.toString() === `n${i}`), "an echo went astray");
      } finally {
        session.close();
      }
    });
    await check("the gate's refusal on the stream: status, headers, body", async () => {
      const { session } = await h2Session(origin);
      try {
        const refused = await h2Connect(session, "/gated");
        assert(refused.status === 401, `status ${refused.status}`);
        assert(refused.headers["www-authenticate"] === "Bearer", `www-authenticate ${String(refused.headers["www-authenticate"])}`);
        const body = await refused.body();
        assert(body === "no token\n", `body ${JSON.stringify(body)}`);
      } finally {
        session.close();
      }
    });
    if (client) {
      await check("the adapter's client: connect(url, { http2: true }) as a stream of an HTTP/2 session, and http2: \"auto\"", async () => {
        for (const http2 of [true, "auto"]) {
          const conn = await client.connect(`wss://127.0.0.1:${server.port}/version`, { http2, tls: client.tls, http2SessionIdleTimeout: 0 });
          assert(conn.request.httpVersion === "2", `client side httpVersion ${conn.request.httpVersion}`);
          const got = new Promise<string>((resolve) => conn.onText(resolve));
          await conn.send("?");
          const version = await got;
          assert(version === "2", `server side httpVersion ${version}`);
          await conn.close();
        }
      });
    }
    await check("the HTTP/1.1 Upgrade on the same port", async () => {
      const status = await upgradeOverTls(server.port, "/echo");
      assert(/^HTTP\/1\.1 101/.test(status), status);
    });
  } finally {
    await server.close({ timeout: 500 });
  }
  await check("h2c: serve({ http2: true }) without tls", async () => {
    const h2c = await target.serve({ hostname: "127.0.0.1", http2: true, logger: quiet, services });
    try {
      const { session } = await h2Session(`http://127.0.0.1:${h2c.port}`);
      try {
        const ws = await h2Connect(session, "/echo", {}, "http");
        assert(ws.status === 200, `status ${ws.status}`);
        ws.stream.write(clientFrame(0x1, Buffer.from("h2c")));
        assert((await ws.next()).payload.toString() === "h2c", "no echo");
      } finally {
        session.close();
      }
    } finally {
      await h2c.close({ timeout: 500 });
    }
  });
  return results;
}

/** The runtime engine refuses `http2` at once, with the fix (Bun and Deno). */
export async function runtimeEngineRefusesHttp2(target: Http2Target): Promise<CheckResult> {
  const name = 'engine "runtime" refuses http2: true with a clear error';
  try {
    const server = await target.serve({ engine: "runtime", http2: true, logger: quiet, services: { "/": target.defineService({}) } });
    await server.close();
    return { name, ok: false, error: "it started" };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return /http2/.test(message) && /engine "core"/.test(message) ? { name, ok: true } : { name, ok: false, error: message };
  }
}
