// The adapters the conformance check knows. Commands run with the repository root as working directory.
// server: an echo server that reads env PORT and prints "Listening on port <N>" once it accepts connections.
// client: a client driver (see src/drivers/) run as `<cmd...> <fuzzing-server-base-url> <agent>`.

export interface Adapter {
  name: string;
  server?: { cmd: string[]; /** URL path of the echo service */ path?: string };
  client?: { cmd: string[] };
  /** Accept NON-STRICT results (only for third-party reference peers; our adapters target strict OK). */
  allowNonStrict?: boolean;
  /**
   * Cases where the adapter cannot be OK because a runtime's own WebSocket decides them (the runtime
   * engines): case id → reason. They are still compared with the expected file, so any change shows.
   */
  knownDeviations?: Record<string, string>;
  /** Run over HTTP/2 (RFC 8441, h2c): see `CheckOptions.http2` */
  http2?: boolean;
  /** Compare with expected/<this>-<role>.json instead of the adapter's own (HTTP/2 must give the HTTP/1.1 results) */
  expectedAs?: string;
  note?: string;
}

const BUN = "node_modules/bun/bin/bun.exe";
const DENO = "node_modules/deno/deno";

function range(prefix: string, from: number, to: number, reason: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = from; i <= to; i++) out[`${prefix}${i}`] = reason;
  return out;
}

// workerd's deviations, used by several cases (see the `workers` adapter)
const RACE =
  "NON-STRICT when workerd's close frame overtakes the echo (timing; OK otherwise): on a protocol error workerd fails the connection at once, before the Worker's echo of the valid message just before the bad frame is written, and then writes that echo after its own close frame";
const UTF8 =
  "FAILED: workerd does not validate UTF-8 in text messages: invalid sequences reach the Worker as U+FFFD (the echo comes back changed, no 1007), and 6.4.* are not failed fast";
const LOST_CLOSE =
  "OK, with remote close code 1002 or none (timing): workerd fails the connection on the stray continuation frame and closes TCP with the fuzzer's next frames unread, so the reset can take its close frame with it";
const CLOSE_CODE =
  "WRONG CODE: workerd answers a close frame with a code that may not be sent (0, 999, 1004, 1006, 1016, 1100, 2000, 2999) by echoing that code instead of 1002";

export const ADAPTERS: Record<string, Adapter> = {
  node: {
    name: "node",
    server: { cmd: ["node", "apps/echo/dist/server.node.js"], path: "/" },
    client: { cmd: ["node", "autobahn/dist/drivers/node-client.js"] },
  },
  // Bun and Deno run the TypeScript sources directly; the binaries are the workspace's pinned devDependencies.
  bun: {
    name: "bun",
    server: { cmd: ["env", "ENGINE=core", BUN, "--conditions=@ws/source", "apps/echo/src/server.bun.ts"], path: "/" },
    client: { cmd: [BUN, "--conditions=@ws/source", "autobahn/src/drivers/bun-client.ts"] },
  },
  // the fetch-style path (issue 23): the echo service upgraded from serve()'s fetch handler (`info.upgrade`), core engine
  "node-fetch": {
    name: "node-fetch",
    server: { cmd: ["env", "UPGRADE=fetch", "node", "apps/echo/dist/server.node.js"], path: "/" },
    note: "the echo service upgraded from serve()'s fetch handler (info.upgrade), not registered by path",
  },
  "bun-fetch": {
    name: "bun-fetch",
    server: { cmd: ["env", "ENGINE=core", "UPGRADE=fetch", BUN, "--conditions=@ws/source", "apps/echo/src/server.bun.ts"], path: "/" },
    note: "the echo service upgraded from serve()'s fetch handler (info.upgrade) on Bun's core engine, not registered by path",
  },
  "bun-runtime": {
    name: "bun-runtime",
    server: { cmd: ["env", "ENGINE=runtime", BUN, "--conditions=@ws/source", "apps/echo/src/server.bun.ts"], path: "/" },
    note: "Bun.serve's built-in WebSocket carries the frames",
    knownDeviations: {
      ...range("6.4.", 1, 4, "NON-STRICT: Bun's built-in WebSocket validates UTF-8 per message, not as bytes arrive"),
      ...range("13.3.", 1, 18, "UNIMPLEMENTED: Bun's built-in WebSocket declines a permessage-deflate offer with server_max_window_bits=9"),
      ...range("13.5.", 1, 18, "UNIMPLEMENTED: Bun's built-in WebSocket declines a permessage-deflate offer with server_max_window_bits=9"),
    },
  },
  deno: {
    name: "deno",
    server: { cmd: ["env", "ENGINE=core", DENO, "run", "-A", "--conditions=@ws/source", "apps/echo/src/server.deno.ts"], path: "/" },
    client: { cmd: [DENO, "run", "-A", "--conditions=@ws/source", "autobahn/src/drivers/deno-client.ts"] },
  },
  "deno-runtime": {
    name: "deno-runtime",
    server: { cmd: ["env", "ENGINE=runtime", DENO, "run", "-A", "--conditions=@ws/source", "apps/echo/src/server.deno.ts"], path: "/" },
    note: "Deno.upgradeWebSocket's built-in WebSocket carries the frames (no compression: 12.*/13.* UNIMPLEMENTED)",
    knownDeviations: {
      ...range("6.4.", 3, 4, "NON-STRICT: Deno's built-in WebSocket notices invalid UTF-8 late"),
      "7.3.6": "close FAILED BY CLIENT: Deno's built-in WebSocket neither answers a 124-byte close reason with 1002 nor drops",
    },
  },
  // WebSockets over HTTP/2 (RFC 8441, cleartext h2c): the same echo servers with HTTP2=1 and the same client drivers
  // with connect(url, { http2: true }); the runner speaks HTTP/2 itself (src/h2.ts). Judged against the HTTP/1.1
  // expected files: a stream must behave as a TCP connection does.
  "node-h2": {
    name: "node-h2",
    server: { cmd: ["node", "apps/echo/dist/server.node.js"], path: "/" },
    client: { cmd: ["node", "autobahn/dist/drivers/node-client.js"] },
    http2: true,
    expectedAs: "node",
  },
  "bun-h2": {
    name: "bun-h2",
    server: { cmd: ["env", "ENGINE=core", BUN, "--conditions=@ws/source", "apps/echo/src/server.bun.ts"], path: "/" },
    client: { cmd: [BUN, "--conditions=@ws/source", "autobahn/src/drivers/bun-client.ts"] },
    http2: true,
    expectedAs: "bun",
  },
  "deno-h2": {
    name: "deno-h2",
    server: { cmd: ["env", "ENGINE=core", DENO, "run", "-A", "--conditions=@ws/source", "apps/echo/src/server.deno.ts"], path: "/" },
    client: { cmd: [DENO, "run", "-A", "--conditions=@ws/source", "autobahn/src/drivers/deno-client.ts"] },
    http2: true,
    expectedAs: "deno",
  },
  // Cloudflare Workers: apps/echo's Workers entry (handler(): WebSocketPair + accept()) bundled and run on workerd
  // through Miniflare, as `pnpm --filter @ws/echo-app start:workers` does. workerd's own WebSocket parses and
  // writes every frame (and negotiates permessage-deflate): what it decides below the WebSocket API, the Worker
  // never sees. The same cases come out the same against a bare WebSocketPair echo Worker
  // (bench/runtime/workers-bare.ts), so none of these is @ws/cloudflare's.
  workers: {
    name: "workers",
    server: { cmd: ["node", "apps/echo/scripts/workers.mjs"], path: "/" },
    note: "workerd's built-in WebSocket (WebSocketPair) carries the frames; workerd negotiates permessage-deflate itself",
    knownDeviations: {
      "2.5": "close FAILED: workerd answers a ping with 126 octets of payload (too long for a control frame) with a 126-octet pong instead of failing the connection",
      "2.10": "FAILED when the ten pings arrive together (timing): workerd answers only the last ping of those it read at once (RFC 6455 §5.5.3 allows it; the case wants ten pongs)",
      "3.2": RACE,
      "3.3": RACE,
      "3.4": "close FAILED: workerd fails the connection on RSV1 without permessage-deflate with a 129-octet close payload (code 1002 + a 127-octet reason: too long for a control frame), so the fuzzer fails it in turn; and see 3.2",
      ...range("4.1.", 3, 5, RACE),
      ...range("4.2.", 3, 5, RACE),
      "5.15": RACE,
      // OK either way; listed because the close code they end with varies
      "5.16": LOST_CLOSE,
      "5.17": LOST_CLOSE,
      "6.3.1": UTF8,
      "6.3.2": UTF8,
      ...range("6.4.", 1, 4, UTF8),
      ...Object.fromEntries(["6.6.1", "6.6.3", "6.6.4", "6.6.6", "6.6.8", "6.6.10"].map((id) => [id, UTF8])),
      "6.8.1": UTF8,
      "6.8.2": UTF8,
      ...range("6.10.", 1, 3, UTF8),
      "6.11.5": UTF8,
      ...range("6.12.", 1, 8, UTF8),
      ...range("6.13.", 1, 5, UTF8),
      ...range("6.14.", 1, 10, UTF8),
      "6.15.1": UTF8,
      ...range("6.16.", 1, 3, UTF8),
      ...range("6.17.", 1, 5, UTF8),
      ...range("6.18.", 1, 5, UTF8),
      ...range("6.19.", 1, 5, UTF8),
      ...range("6.20.", 1, 7, UTF8),
      ...range("6.21.", 1, 8, UTF8),
      "7.3.6": "close FAILED BY CLIENT: workerd answers a close frame with a 124-octet reason (126 octets of payload) by echoing it, oversized, and does not drop the connection",
      "7.5.1": "WRONG CODE: workerd answers a close frame whose reason is not valid UTF-8 by echoing it (1000 and the same invalid reason) instead of 1002/1007",
      ...Object.fromEntries(["7.9.1", "7.9.2", "7.9.3", "7.9.5", "7.9.6", "7.9.7", "7.9.8", "7.9.9"].map((id) => [id, CLOSE_CODE])),
    },
  },
  ws: {
    name: "ws",
    server: { cmd: ["node", "autobahn/dist/peers/ws-echo-server.js"], path: "/" },
    client: { cmd: ["node", "autobahn/dist/drivers/ws-client.js"] },
    allowNonStrict: true,
    note: "reference peer (ws npm package); validates UTF-8 per message, so 6.4.* are NON-STRICT as in ws's published reports",
  },
};
