/**
 * serve() on Deno, with two engines:
 *  - "core" (default): @ws/core's protocol over the raw socket of Deno's node:http 'upgrade' event — the Node
 *    adapter's own code path (@ws/node-http's serve, which @ws/node is built on too), so behaviour, limits and keepalive are the same as on Node;
 *  - "runtime": Deno.serve + Deno.upgradeWebSocket mapped onto the Connection API (runtime.ts).
 */
import { lookup } from "node:dns/promises";
import { serve as serveOnNodeHttp, type ServeOptions as NodeServeOptions } from "@ws/node-http";
import { type EngineServeHandle, type EngineServeOptions, type ServeEngine } from "@ws/core";
import { listening, serveEngines } from "@ws/core/adapter";
import { denoWebSocket } from "./runtime.ts";

export type Engine = ServeEngine;
export type ServeOptions = EngineServeOptions;
export type ServeHandle = EngineServeHandle;

/**
 * Deno's node:https takes any key and certificate and fails each handshake instead: the core engine tries them
 * on a TLS listener of Deno's own first (port 0, closed at once), so bad ones are a ListenError at start.
 */
function tryTls(tls: NonNullable<ServeOptions["tls"]>): void {
  Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert: tls.cert, key: tls.key }).close();
}

/**
 * Starts a server with the given services. Resolves once it is listening.
 *
 * @example
 * ```ts
 * import { defineService, serve } from "@ws/deno";
 *
 * const echo = defineService({ received: (message, conn) => void conn.send(message) });
 * // engine "core" (the default: this library's protocol on Deno's node:http) or "runtime" (Deno.upgradeWebSocket)
 * const server = await serve({ port: 8080, services: { "/echo": echo } });
 * console.log(`listening on ${server.url}/echo`);
 * ```
 */
export function serve(options: ServeOptions): Promise<ServeHandle> {
  return serveEngines(options, {
    async core(rest) {
      if (rest.tls) await listening({ hostname: rest.hostname, port: rest.port, tls: rest.tls }, () => tryTls(rest.tls!));
      return serveOnNodeHttp(rest as NodeServeOptions);
    },
    async runtime(rest) {
      const ws = denoWebSocket(rest);
      const fetch = options.fetch;
      const listened = Promise.withResolvers<Deno.NetAddr>();
      const listen = () =>
        Deno.serve(
          {
            port: options.port ?? 0,
            hostname: options.hostname,
            ...(options.tls ? { cert: options.tls.cert, key: options.tls.key } : {}),
            onListen: (addr) => listened.resolve(addr as Deno.NetAddr),
          },
          (request, info) => ws.handle(request, info, fetch),
        );
      // a port in use, a bad address or TLS files: one ListenError, as on every runtime
      const server = await listening({ hostname: options.hostname, port: options.port, tls: options.tls }, listen, lookup);
      const addr = await listened.promise;
      return { controls: ws, port: addr.port, stop: () => server.shutdown() };
    },
  });
}
