/**
 * serve() on Bun, with two engines:
 *  - "core" (default): @ws/core's protocol over Bun's native sockets (`Bun.listen`, native.ts; plain HTTP is
 *    answered on the same socket, the fetch handler called in-process: http-connection.ts), or, with `sockets: "node:http"`, over the raw socket of Bun's
 *    node:http 'upgrade' event — the Node adapter's own code path (@ws/node-http's serve);
 *  - "runtime": Bun.serve's built-in WebSocket mapped onto the Connection API (runtime.ts).
 */
import type { Server } from "bun";
import { lookup } from "node:dns/promises";
import { serve as serveOnNodeHttp, type ServeOptions as NodeServeOptions } from "@ws/node-http";
import { type EngineServeHandle, type EngineServeOptions, type ServeEngine } from "@ws/core";
import { InvalidOptionError, resolveSettings } from "@ws/core";
import { listening, serveEngines } from "@ws/core/adapter";
import { serveNative } from "./native.ts";
import { bunWebSocket, type BunSocketData } from "./runtime.ts";

export type Engine = ServeEngine;
/** The sockets the core engine runs over: Bun's own (`Bun.listen`, the default) or Bun's `node:http`. */
export type CoreSockets = "bun" | "node:http";
export interface ServeOptions extends EngineServeOptions {
  /**
   * core engine only: `"bun"` (default) runs the protocol over `Bun.listen`'s native sockets; `"node:http"` over
   * Bun's node:http server, exactly the Node adapter's path (slower on Bun: its node:net layer)
   */
  sockets?: CoreSockets;
}
export type ServeHandle = EngineServeHandle;

/**
 * Starts a server with the given services. Resolves once it is listening.
 *
 * @example
 * ```ts
 * import { defineService, serve } from "@ws/bun";
 *
 * const echo = defineService({ received: (message, conn) => void conn.send(message) });
 * // engine "core" (the default: this library's protocol on Bun's sockets) or "runtime" (Bun.serve's WebSocket)
 * const server = await serve({ port: 8080, services: { "/echo": echo } });
 * console.log(`listening on ${server.url}/echo`);
 * ```
 */
export async function serve(options: ServeOptions): Promise<ServeHandle> {
  const { sockets = "bun", ...engineOptions } = options;
  if (sockets !== "bun" && sockets !== "node:http") throw new InvalidOptionError("sockets", sockets, '"bun" or "node:http"');
  return serveEngines(engineOptions, {
    // HTTP/2 (RFC 8441): node:http2, whichever `sockets` (Bun.listen speaks no HTTP/2)
    core: (rest) => (sockets === "node:http" || rest.http2 ? serveOnNodeHttp(rest as NodeServeOptions) : serveNative(rest)),
    async runtime(rest) {
      const ws = bunWebSocket(rest);
      const { reusePort } = resolveSettings("server", [rest]);
      const fetch = options.fetch;
      const listen = (): Server<BunSocketData> =>
        Bun.serve<BunSocketData>({
          port: options.port ?? 0,
          hostname: options.hostname,
          tls: options.tls,
          reusePort,
          websocket: ws.websocket,
          fetch: (request, srv) => ws.handle(request, srv, fetch),
        });
      // a port in use, a bad address or TLS files: one ListenError, as on every runtime
      const server = await listening({ hostname: options.hostname, port: options.port, tls: options.tls }, listen, lookup);
      return { controls: ws, port: server.port ?? 0, stop: () => server.stop(true) };
    },
  }, ["sockets"]);
}
