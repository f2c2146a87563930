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
  note?: string;
}

const BUN = "node_modules/bun/bin/bun.exe";
const DENO = "node_modules/deno/deno";

function range(prefix: string, from: number, to: number, reason: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = from; i <= to; i++) out[`${prefix}${i}`] = reason;
  return out;
}

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
  ws: {
    name: "ws",
    server: { cmd: ["node", "autobahn/dist/peers/ws-echo-server.js"], path: "/" },
    client: { cmd: ["node", "autobahn/dist/drivers/ws-client.js"] },
    allowNonStrict: true,
    note: "reference peer (ws npm package); validates UTF-8 per message, so 6.4.* are NON-STRICT as in ws's published reports",
  },
};
