// The adapters the conformance check knows. Commands run with the repository root as working directory.
// server: an echo server that reads env PORT and prints "Listening on port <N>" once it accepts connections.
// client: a client driver (see src/drivers/) run as `<cmd...> <fuzzing-server-base-url> <agent>`.

export interface Adapter {
  name: string;
  server?: { cmd: string[]; /** URL path of the echo service */ path?: string };
  client?: { cmd: string[] };
  /** Accept NON-STRICT results (only for third-party reference peers; our adapters target strict OK). */
  allowNonStrict?: boolean;
  note?: string;
}

export const ADAPTERS: Record<string, Adapter> = {
  node: {
    name: "node",
    server: { cmd: ["node", "apps/echo/dist/server.node.js"], path: "/" },
    client: { cmd: ["node", "autobahn/dist/drivers/node-client.js"] },
  },
  // bun: { name: "bun", server: { cmd: ["bun", "apps/echo/src/server.bun.ts"] }, client: { cmd: ["bun", "autobahn/src/drivers/bun-client.ts"] } },
  // deno: { name: "deno", server: { cmd: ["deno", "run", "-A", "apps/echo/src/server.deno.ts"] }, client: { cmd: ["deno", "run", "-A", "autobahn/src/drivers/deno-client.ts"] } },
  ws: {
    name: "ws",
    server: { cmd: ["node", "autobahn/dist/peers/ws-echo-server.js"], path: "/" },
    client: { cmd: ["node", "autobahn/dist/drivers/ws-client.js"] },
    allowNonStrict: true,
    note: "reference peer (ws npm package); validates UTF-8 per message, so 6.4.* are NON-STRICT as in ws's published reports",
  },
};
