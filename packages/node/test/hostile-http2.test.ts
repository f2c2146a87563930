/**
 * Issue 25, limits over HTTP/2 against serve({ http2: true }) on Node, with hostile peers on 127.0.0.1 (bounded
 * counts): streams per session (maxConcurrentStreams), a stream whose peer never reads (flow control stalls only
 * that stream; the send-buffer limit still holds), rapid reset (CVE-2023-44487: HEADERS + RST_STREAM, over and
 * over) and SETTINGS/PING floods from a peer that never reads. Asserted from the server's own accounting (its
 * connections, pending upgrades, bufferedAmount), its log lines and what the peer's socket sees — never timings.
 */
import { afterEach, describe, expect, it } from "vitest";
import { defineService, serve, type Connection, type Logger, type ServeHandle } from "../src/index.ts";
import { RAPID_RESET_LIMIT } from "@ws/node-http";
import { waitFor } from "./helpers.ts";
import { clientFrame, h2Connect, h2Session, until } from "./http2-support.ts";
import { extendedConnect, frame, FrameType, rawPeer, rstStream, serverSettings } from "./http2-raw.ts";

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = (_o: unknown, m?: string) => void lines.push(String(m ?? _o));
  return { lines, error: log, warn: log, info: log, debug() {} } as Logger & { lines: string[] };
}

let opened = 0;
const echo = defineService({
  connected: () => void opened++,
  received: (m, conn) => void conn.send(m),
});

/** A WebSocket on a fresh, well-behaved session still gets its echo. */
async function stillServed(server: ServeHandle<unknown>): Promise<void> {
  const { session } = await h2Session(`http://127.0.0.1:${server.port}`);
  try {
    const ws = await h2Connect(session, "/echo", {}, "http");
    expect(ws.status).toBe(200);
    ws.stream.write(clientFrame(0x1, Buffer.from("still here")));
    expect((await ws.next()).payload.toString()).toBe("still here");
  } finally {
    session.destroy();
  }
}

describe("HTTP/2 limits and hostile peers (serve({ http2: true }) on Node)", () => {
  let server: ServeHandle<unknown> | undefined;
  afterEach(async () => {
    await server?.close({ timeout: 500 });
    server = undefined;
  });

  it("advertises maxConcurrentStreams, and a peer that opens more streams than that loses its session, not the server", async () => {
    const logger = recordingLogger();
    server = await serve({ hostname: "127.0.0.1", http2: true, logger, maxConcurrentStreams: 4, services: { "/echo": echo } });
    const peer = await rawPeer(server.port);
    expect(serverSettings(peer).get(0x3)).toBe(4); // SETTINGS_MAX_CONCURRENT_STREAMS
    expect(serverSettings(peer).get(0x8)).toBe(1); // SETTINGS_ENABLE_CONNECT_PROTOCOL
    peer.socket.write(Buffer.concat(Array.from({ length: 8 }, (_, i) => extendedConnect(1 + 2 * i, "/echo", "127.0.0.1"))));
    await waitFor(peer.closed, 5000, "the server to close the peer's connection"); // RFC 9113 §5.1.2: past the advertised limit is an error; node:http2 ends the session
    await until(() => server!.connectionCount === 0, 2000, "the session's WebSockets to close");
    expect(server.core.pendingUpgrades).toBe(0);
    await stillServed(server);
  });

  it("destroys a session that resets its WebSocket streams as fast as it opens them (rapid reset), with one log line", async () => {
    const logger = recordingLogger();
    server = await serve({ hostname: "127.0.0.1", http2: true, logger, services: { "/echo": echo } });
    const before = opened;
    const heap = process.memoryUsage().heapUsed;
    const peer = await rawPeer(server.port);
    let sent = 0;
    // at most 5,000 HEADERS + RST_STREAM pairs, in batches of 250, until the server closes the connection
    for (let batch = 0; batch < 20 && !peer.isClosed(); batch++) {
      const pairs: Buffer[] = [];
      for (let i = 0; i < 250; i++, sent++) pairs.push(extendedConnect(1 + 2 * sent, "/echo", "127.0.0.1"), rstStream(1 + 2 * sent));
      peer.socket.write(Buffer.concat(pairs));
      await new Promise((r) => setImmediate(r));
    }
    await waitFor(peer.closed, 5000, "the server to close the peer's connection");
    // each reset stream cost one decision and one connection opened and torn down: bounded by the limit (+ the
    // streams of the batch being read when it was hit), not by what the peer sent
    expect(opened - before).toBeLessThan(RAPID_RESET_LIMIT + 250);
    expect(server.connectionCount).toBe(0);
    expect(server.core.pendingUpgrades).toBe(0);
    expect(logger.lines.filter((l) => /rapid reset/.test(l))).toHaveLength(1);
    expect(process.memoryUsage().heapUsed - heap).toBeLessThan(64 * 1024 * 1024);
    await stillServed(server);
  });

  it("closes a session that floods SETTINGS and PING while never reading the acknowledgements", async () => {
    server = await serve({ hostname: "127.0.0.1", http2: true, logger: recordingLogger(), services: { "/echo": echo } });
    const heap = process.memoryUsage().heapUsed;
    const peer = await rawPeer(server.port, { read: false });
    const ping = frame(FrameType.PING, 0, 0, Buffer.alloc(8));
    const settings = frame(FrameType.SETTINGS, 0, 0);
    // at most 40,000 frames (360 KB), in batches of 1,000
    for (let batch = 0; batch < 40 && !peer.isClosed(); batch++) {
      peer.socket.write(Buffer.concat(Array.from({ length: 1000 }, (_, i) => (i % 2 ? ping : settings))));
      await new Promise((r) => setImmediate(r));
    }
    await waitFor(peer.closed, 5000, "the server to close the peer's connection"); // node:http2: "Flooding was detected in this HTTP/2 session" (its outbound ACK queue bound)
    expect(process.memoryUsage().heapUsed - heap).toBeLessThan(64 * 1024 * 1024);
    await stillServed(server);
  });

  it("stalls only the stream whose peer never reads: its session's other WebSockets are served, and the send buffer limit holds", async () => {
    const limit = 256 * 1024;
    const conns: Connection[] = [];
    server = await serve({
      hostname: "127.0.0.1",
      http2: true,
      logger: recordingLogger(),
      services: {
        "/echo": echo,
        "/push": defineService({ backpressure: "reject", maxBufferedAmount: limit, connected: (conn) => void conns.push(conn) }),
      },
    });
    const { session } = await h2Session(`http://127.0.0.1:${server.port}`);
    try {
      // the stalled stream: answered, then never read (its flow-control window is never opened again)
      const stalled = session.request(
        { ":method": "CONNECT", ":protocol": "websocket", ":scheme": "http", ":path": "/push", ":authority": `127.0.0.1:${server.port}`, "sec-websocket-version": "13" },
        { endStream: false },
      );
      stalled.on("error", () => {});
      await new Promise((resolve) => stalled.once("response", resolve));
      stalled.pause();
      await until(() => conns.length === 1, 2000, "the /push connection");
      const pusher = conns[0]!;
      const chunk = new Uint8Array(16 * 1024);
      let refused = 0;
      // 4 MiB offered, 16 times the stream's budget: the sends past the limit are refused, not buffered
      for (let i = 0; i < 256; i++) void pusher.send(chunk).then((ok) => void (ok || refused++));
      await until(() => refused > 0, 2000, "a send past the limit to be refused");
      expect(pusher.bufferedAmount).toBeLessThanOrEqual(limit + chunk.length + 64);
      expect(server.bufferedBytes).toBeLessThanOrEqual(limit + chunk.length + 64 + 1024);
      // meanwhile, another WebSocket on the very same session is served
      const other = await h2Connect(session, "/echo", {}, "http");
      expect(other.status).toBe(200);
      other.stream.write(clientFrame(0x1, Buffer.from("same session")));
      expect((await other.next()).payload.toString()).toBe("same session");
      expect(pusher.readyState).toBe("open"); // stalled, not closed
    } finally {
      session.destroy();
    }
  });
});


describe("idle HTTP/2 sessions (serve({ http2: true }) on Node)", () => {
  it("closes a session that opens no stream within httpIdleTimeout, and keeps one whose WebSocket is quiet", async () => {
    const server = await serve({ hostname: "127.0.0.1", http2: true, httpIdleTimeout: 200, logger: recordingLogger(), services: { "/echo": echo } });
    try {
      const idle = await rawPeer(server.port);
      const { session } = await h2Session(`http://127.0.0.1:${server.port}`);
      const ws = await h2Connect(session, "/echo", {}, "http");
      await waitFor(idle.closed, 5000, "the server to close the idle session"); // before the fix: never closed
      // the session with a (quiet) WebSocket on it outlived the idle one, and still carries it
      ws.stream.write(clientFrame(0x1, Buffer.from("quiet, not idle")));
      expect((await ws.next()).payload.toString()).toBe("quiet, not idle");
      session.destroy();
    } finally {
      await server.close({ timeout: 500 });
    }
  });
});
