/**
 * Issue 25, the client: connect(url, { http2 }) and the WebSocket class over HTTP/2 (RFC 8441) on Node — one
 * session per origin shared by every WebSocket to it, HTTP/1.1 when the server does not advertise
 * ENABLE_CONNECT_PROTOCOL (unless `http2: true` makes HTTP/2 mandatory), the session closed after its last stream
 * and the idle delay.
 */
import type * as http2 from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, defineService, HandshakeError, serve, WebSocket, type Connection, type ServeHandle } from "../src/index.ts";
import { http2SessionCount } from "@ws/node-http";
import { selfSignedCert } from "./helpers.ts";
import { until } from "./http2-support.ts";

const cert = selfSignedCert();
const quiet = { error() {}, warn() {}, info() {}, debug() {} };
const tls = { rejectUnauthorized: false };

describe("connect(url, { http2 }) on Node", () => {
  let server: ServeHandle<unknown>;
  let plain: ServeHandle<unknown>;
  let sessionsOpened = 0;
  const liveSessions = new Set<http2.ServerHttp2Session>();
  const versions: string[] = [];
  beforeAll(async () => {
    const services = {
      "/echo": defineService({
        protocols: ["chat"],
        connected: (conn) => void versions.push(conn.request.httpVersion),
        received: (m, conn) => void conn.send(m),
      }),
      "/gated": defineService({ upgrade: () => ({ reject: 401, reason: "no token", headers: { "WWW-Authenticate": "Bearer" } }) }),
    };
    server = await serve({ hostname: "127.0.0.1", tls: cert, http2: true, perMessageDeflate: true, logger: quiet, services });
    (server.server as http2.Http2SecureServer).on("session", (s: http2.ServerHttp2Session) => {
      sessionsOpened++;
      liveSessions.add(s);
      s.once("close", () => liveSessions.delete(s));
    });
    plain = await serve({ hostname: "127.0.0.1", tls: cert, logger: quiet, services });
  });
  afterAll(async () => {
    await server.close();
    await plain.close();
  });

  it("opens a WebSocket as a stream of an HTTP/2 session: subprotocol, permessage-deflate, frames both ways", async () => {
    const conn = await connect(`wss://127.0.0.1:${server.port}/echo`, { http2: true, tls, protocols: ["chat"], http2SessionIdleTimeout: 0 });
    expect(conn.request.httpVersion).toBe("2");
    expect(conn.protocol).toBe("chat");
    expect(conn.extensions).toMatch(/^permessage-deflate/);
    expect(versions.at(-1)).toBe("2");
    const got = new Promise<string>((resolve) => conn.onText(resolve));
    await conn.send("hello ".repeat(100));
    expect(await got).toBe("hello ".repeat(100));
    await conn.close(1000, "bye");
    expect((await conn.closed).code).toBe(1000);
  });

  it("shares one session per origin among all its WebSockets, and closes it after the last one and the idle delay", async () => {
    const before = sessionsOpened;
    const conns: Connection[] = await Promise.all(
      Array.from({ length: 20 }, () => connect(`wss://127.0.0.1:${server.port}/echo`, { http2: "auto", tls, http2SessionIdleTimeout: 100 })),
    );
    expect(conns.every((c) => c.request.httpVersion === "2")).toBe(true);
    expect(sessionsOpened - before).toBe(1);
    expect(server.connectionCount).toBe(20);
    const echoes = conns.map((c, i) => new Promise<string>((resolve) => c.onText(resolve)).then((t) => t === `m${i}`));
    conns.forEach((c, i) => void c.send(`m${i}`));
    expect(await Promise.all(echoes)).toEqual(Array(20).fill(true));
    await Promise.all(conns.map((c) => c.close()));
    await until(() => http2SessionCount() === 0 && liveSessions.size === 0, 3000, "the idle session to close");
  });

  it("falls back to HTTP/1.1 with http2: \"auto\" when the server does not offer HTTP/2, and fails clearly with http2: true", async () => {
    const conn = await connect(`wss://127.0.0.1:${plain.port}/echo`, { http2: "auto", tls });
    expect(conn.request.httpVersion).toBe("1.1");
    expect(versions.at(-1)).toBe("1.1");
    await conn.close();
    const error = await connect(`wss://127.0.0.1:${plain.port}/echo`, { http2: true, tls }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HandshakeError);
    expect((error as Error).message).toMatch(/does not offer WebSockets over HTTP\/2/);
  });

  it("reports a refusal over HTTP/2 as a HandshakeError with the status, headers and body", async () => {
    const error = await connect(`wss://127.0.0.1:${server.port}/gated`, { http2: true, tls, http2SessionIdleTimeout: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HandshakeError);
    const refused = error as HandshakeError;
    expect(refused.status).toBe(401);
    expect(refused.headers.get("www-authenticate")).toBe("Bearer");
    expect(refused.body).toBe("no token\n");
  });

  it("takes { http2 } in the WebSocket class too", async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${server.port}/echo`, [], { http2: true, tls, http2SessionIdleTimeout: 0 });
    const message = await new Promise<string>((resolve, reject) => {
      ws.onopen = () => ws.send("via class");
      ws.onmessage = (e) => resolve(String(e.data));
      ws.onerror = () => reject(new Error("error"));
    });
    expect(message).toBe("via class");
    expect(versions.at(-1)).toBe("2");
    ws.close();
  });

  it("refuses a bad http2 option", async () => {
    await expect(connect(`wss://127.0.0.1:${server.port}/echo`, { http2: "yes" as never })).rejects.toThrow(/http2/);
  });
});
