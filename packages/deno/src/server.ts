/**
 * serve() on Deno, with two engines:
 *  - "core" (default): @ws/core's protocol over the raw socket of Deno's node:http 'upgrade' event — the Node
 *    adapter's own code path (@ws/node-http's serve, which @ws/node is built on too), so behaviour, limits and keepalive are the same as on Node;
 *  - "runtime": Deno.serve + Deno.upgradeWebSocket mapped onto the Connection API (runtime.ts).
 */
import { serve as serveOnNodeHttp, type ServeOptions as NodeServeOptions } from "@ws/node-http";
import { type EngineServeHandle, type EngineServeOptions, type ServeEngine } from "@ws/core";
import { serveEngines, webSocketOnlyResponse } from "@ws/core/adapter";
import { denoWebSocket } from "./runtime.ts";

export type Engine = ServeEngine;
export type ServeOptions = EngineServeOptions;
export type ServeHandle = EngineServeHandle;

/** Starts a server with the given services. Resolves once it is listening. */
export function serve(options: ServeOptions): Promise<ServeHandle> {
  return serveEngines(options, {
    core: (rest) => serveOnNodeHttp(rest as NodeServeOptions),
    async runtime(rest) {
      const ws = denoWebSocket(rest);
      const fetch = options.fetch;
      const listening = Promise.withResolvers<Deno.NetAddr>();
      const server = Deno.serve(
        {
          port: options.port ?? 0,
          hostname: options.hostname,
          ...(options.tls ? { cert: options.tls.cert, key: options.tls.key } : {}),
          onListen: (addr) => listening.resolve(addr as Deno.NetAddr),
        },
        async (request, info) => {
          const answer = await ws.upgrade(request, info);
          if (answer !== null) return answer;
          if (!fetch) return webSocketOnlyResponse();
          const peer = info.remoteAddr as Partial<Deno.NetAddr>;
          return fetch(request, { remoteAddress: peer.hostname, remotePort: peer.port });
        },
      );
      const addr = await listening.promise;
      return { controls: ws, port: addr.port, stop: () => server.shutdown() };
    },
  });
}
