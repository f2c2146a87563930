/**
 * Issue 25, found by the Autobahn runner's HTTP/2 transport (9.1.5/9.1.6 at full size, several cases on one session):
 * node:http2 refuses every new stream of a session (RST_STREAM ENHANCE_YOUR_CALM) while the data queued on it exceeds
 * its `maxSessionMemory` (10 MB by default). One WebSocket sending a message that is within `maxMessageSize` and
 * `maxBufferedAmount` (16 MiB each) to a peer that reads slowly must not lock the session's other WebSockets and
 * requests out: over HTTP/1.1 they would be connections of their own. Worse, on Node 20.20 a session that has
 * refused a stream this way and is then destroyed with that data still queued hangs the process in node:http2's
 * native code (no timer runs again; vitest's worker ended with std::bad_alloc): a remote client could do it.
 */
import * as http2 from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineService, serve, type ServeHandle } from "../src/index.ts";
import { clientFrame, until } from "./http2-support.ts";

const quiet = { error() {}, warn() {}, info() {}, debug() {} };
const BIG = 12 * 1024 * 1024;

function open(session: http2.ClientHttp2Session, port: number): Promise<{ status: number; stream: http2.ClientHttp2Stream }> {
  const stream = session.request(
    { ":method": "CONNECT", ":protocol": "websocket", ":scheme": "http", ":path": "/big", ":authority": `127.0.0.1:${port}`, "sec-websocket-version": "13" },
    { endStream: false },
  );
  stream.on("error", () => {});
  return new Promise((resolve) => {
    stream.once("response", (h) => resolve({ status: Number(h[":status"]), stream }));
    stream.once("close", () => resolve({ status: -(stream.rstCode ?? 0), stream }));
  });
}

describe("serve({ http2: true }): a large message queued on one stream", () => {
  let server: ServeHandle<unknown>;
  let sent = 0;
  beforeAll(async () => {
    server = await serve({
      hostname: "127.0.0.1",
      http2: true,
      logger: quiet,
      services: {
        "/big": defineService({
          received: (message, conn) => {
            if (String(message) === "big") {
              sent++;
              void conn.send(new Uint8Array(BIG));
            }
          },
        }),
      },
    });
  });
  afterAll(() => server.close());

  it("does not make the session refuse its next WebSocket (no RST_STREAM ENHANCE_YOUR_CALM)", async () => {
    const session = http2.connect(`http://127.0.0.1:${server.port}`);
    session.on("error", () => {});
    try {
      const a = await open(session, server.port);
      expect(a.status).toBe(200);
      // the peer never reads stream a: its 12 MiB stay queued on the server (flow control)
      a.stream.write(clientFrame(0x1, Buffer.from("big")));
      await new Promise((r) => setTimeout(r, 300));
      expect(sent).toBe(1);
      const b = await open(session, server.port);
      expect(b.status).toBe(200);
      expect(server.connectionCount).toBe(2);
    } finally {
      session.destroy();
    }
    // the session gone with 12 MiB still queued: both WebSockets end, and the process goes on
    await until(() => server.connectionCount === 0, 5000, "the connections to end after the session was destroyed");
  });
});
