/**
 * Issue 25, shared by @ws/node, @ws/bun and @ws/deno (their fixtures run it inside the runtime): node:http2 refuses
 * every new stream of a session (RST_STREAM ENHANCE_YOUR_CALM) while the data queued on it is above its
 * `maxSessionMemory` (10 MB by default). One WebSocket sending a message within `maxMessageSize` and
 * `maxBufferedAmount` (16 MiB each) to a peer that does not read must not lock its session's other WebSockets out
 * (over HTTP/1.1 they would be connections of their own); and once the client destroys the session with the data
 * still queued, its WebSockets end. Found through the Autobahn runner's HTTP/2 transport.
 */
import * as http2 from "node:http2";
import type { CheckResult, Http2Target } from "./http2-checks.ts";
import { clientFrame } from "./helpers.ts";

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

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A large message queued on one stream of an h2c session: the session's next WebSocket still opens (200). */
export async function largeSendDoesNotLockSession(target: Http2Target): Promise<CheckResult> {
  const name = "a large message queued on one stream does not make the session refuse the next (ENHANCE_YOUR_CALM)";
  let sent = 0;
  const quiet = { error() {}, warn() {}, info() {}, debug() {} };
  const server = await target.serve({
    hostname: "127.0.0.1",
    port: 0,
    http2: true,
    logger: quiet,
    services: {
      "/big": target.defineService({
        received: (message: unknown, conn: { send(data: Uint8Array): Promise<boolean> }) => {
          if (String(message) === "big") {
            sent++;
            void conn.send(new Uint8Array(BIG));
          }
        },
      }),
    },
  });
  const session = http2.connect(`http://127.0.0.1:${server.port}`);
  session.on("error", () => {});
  try {
    const a = await open(session, server.port);
    if (a.status !== 200) throw new Error(`first WebSocket: status ${a.status}`);
    // the peer never reads stream a: its 12 MiB stay queued on the server (flow control)
    a.stream.write(clientFrame(0x1, Buffer.from("big")));
    await until(() => sent === 1, 5000, "the large send");
    await new Promise((r) => setTimeout(r, 200));
    const b = await open(session, server.port);
    if (b.status !== 200) throw new Error(`second WebSocket on the session: ${b.status < 0 ? `RST_STREAM ${-b.status}` : `status ${b.status}`}`);
    if (server.connectionCount !== 2) throw new Error(`connectionCount ${server.connectionCount}, expected 2`);
    session.destroy();
    // the session gone with the data still queued: both WebSockets end, and the process goes on
    await until(() => server.connectionCount === 0, 5000, "the connections to end after the session was destroyed");
    return { name, ok: true };
  } catch (error) {
    return { name, ok: false, error: error instanceof Error ? error.message : String(error) };
  } finally {
    session.destroy();
    await server.close();
  }
}
