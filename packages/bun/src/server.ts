/**
 * serve() on Bun, with two engines:
 *  - "core" (default): @ws/core's protocol over the raw socket of Bun's node:http 'upgrade' event — the Node
 *    adapter's own code path (@ws/node-http's serve, which @ws/node is built on too), so behaviour, limits and keepalive are the same as on Node;
 *  - "runtime": Bun.serve's built-in WebSocket mapped onto the Connection API (runtime.ts).
 */
import type { Server } from "bun";
import { serve as serveOnNodeHttp, type ServeOptions as NodeServeOptions } from "@ws/node-http";
import { type EngineServeHandle, type EngineServeOptions, type ServeEngine } from "@ws/core";
import { serveEngines, webSocketOnlyResponse } from "@ws/core/adapter";
import { bunWebSocket, type BunSocketData } from "./runtime.ts";

export type Engine = ServeEngine;
export type ServeOptions = EngineServeOptions;
export type ServeHandle = EngineServeHandle;

/** Starts a server with the given services. Resolves once it is listening. */
export function serve(options: ServeOptions): Promise<ServeHandle> {
  return serveEngines(options, {
    core: (rest) => serveOnNodeHttp(rest as NodeServeOptions),
    async runtime(rest) {
      const ws = bunWebSocket(rest);
      const fetch = options.fetch;
      const server: Server<BunSocketData> = Bun.serve<BunSocketData>({
        port: options.port ?? 0,
        hostname: options.hostname,
        tls: options.tls,
        websocket: ws.websocket,
        async fetch(request, srv) {
          const answer = await ws.upgrade(request, srv);
          if (answer !== null) return answer;
          return fetch ? fetch(request) : webSocketOnlyResponse();
        },
      });
      return { controls: ws, port: server.port ?? 0, stop: () => server.stop(true) };
    },
  });
}
