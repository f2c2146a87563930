/**
 * serve() on Deno, with two engines:
 *  - "core" (default): @ws/core's protocol over the raw socket of Deno's node:http 'upgrade' event — the Node
 *    adapter's own code path (@ws/node-http's serve, which @ws/node is built on too), so behaviour, limits and keepalive are the same as on Node;
 *  - "runtime": Deno.serve + Deno.upgradeWebSocket mapped onto the Connection API (runtime.ts).
 */
import { lookup } from "node:dns/promises";
import { serve as serveOnNodeHttp, type ServeOptions as NodeServeOptions } from "@ws/node-http";
import { consoleLogger, InvalidOptionError, resolveSettings, type EngineServeHandle, type EngineServeOptions, type ServeEngine } from "@ws/core";
import { listening, serveEngines } from "@ws/core/adapter";
import { keepAccepting } from "./accept-watchdog.ts";
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
      const handle = await serveOnNodeHttp(rest as NodeServeOptions);
      // Deno's node:net stops accepting for good after an EMFILE: the watchdog listens again (accept-watchdog.ts).
      // Not with reusePort: its probe connection may go to another process on the port, which looks like a stopped listener
      const watchdog = handle.core.settings.reusePort ? undefined : keepAccepting(handle.server, rest.hostname, handle.core.logger);
      const close = handle.close;
      handle.close = (closeOptions) => {
        watchdog?.stop();
        return close(closeOptions);
      };
      return handle;
    },
    async runtime(rest) {
      const { reusePort } = resolveSettings("server", [rest]);
      // without --unstable-net, Deno ends the process (exit code 70) at Deno.serve({ reusePort: true }): refused
      // first, with the fix. Deno.listenDatagram exists only under that flag (or --unstable).
      if (reusePort && typeof (Deno as unknown as { listenDatagram?: unknown }).listenDatagram !== "function") {
        throw new InvalidOptionError(
          "reusePort",
          reusePort,
          'false with engine "runtime" unless Deno runs with --unstable-net (deno run --unstable-net …): Deno.serve\'s reusePort is unstable. The core engine (the default) honours reusePort without the flag',
        );
      }
      const ws = denoWebSocket(rest);
      const fetch = options.fetch;
      const logger = options.logger ?? consoleLogger;
      const listened = Promise.withResolvers<Deno.NetAddr>();
      let stopping = false;
      let bound = 0;
      // kept referenced: between a failed listener and the next one, it is what keeps the server alive
      let retry: ReturnType<typeof setTimeout> | undefined;
      const listen = (port: number): Deno.HttpServer<Deno.NetAddr> => {
        const server = Deno.serve(
          {
            port,
            hostname: options.hostname,
            ...(reusePort ? { reusePort } : {}),
            ...(options.tls ? { cert: options.tls.cert, key: options.tls.key } : {}),
            onListen: (addr) => {
              bound = (addr as Deno.NetAddr).port;
              listened.resolve(addr as Deno.NetAddr);
            },
          },
          (request, info) => ws.handle(request, info, fetch),
        );
        // Deno.serve's accept loop ends on an accept error (EMFILE: the process ran out of file descriptors,
        // denoland/deno#10148) and `finished` rejects: unhandled, that ends the process. One warning, and the
        // server listens again on the same port a second later (as hyper sleeps a second on accept errors).
        server.finished.catch((error: unknown) => {
          if (stopping) return;
          logger.warn(
            { port: bound },
            `the listener on port ${bound} stopped accepting connections (${error instanceof Error ? error.message : String(error)}; denoland/deno#10148): listening again in 1 s`,
          );
          retry = setTimeout(() => relisten(bound), 1000);
        });
        current = server;
        return server;
      };
      const relisten = (port: number) => {
        if (stopping) return;
        try {
          listen(port);
        } catch (error) {
          // still out of descriptors (or the port was taken meanwhile): again later
          logger.warn({ port }, `listening again on port ${port} failed: ${error instanceof Error ? error.message : String(error)}; next try in 5 s`);
          retry = setTimeout(() => relisten(port), 5000);
        }
      };
      let current: Deno.HttpServer<Deno.NetAddr> | undefined;
      // a port in use, a bad address or TLS files: one ListenError, as on every runtime
      await listening({ hostname: options.hostname, port: options.port, tls: options.tls }, () => listen(options.port ?? 0), lookup);
      const addr = await listened.promise;
      return {
        controls: ws,
        port: addr.port,
        stop: async () => {
          stopping = true;
          clearTimeout(retry);
          await current?.shutdown();
        },
      };
    },
  });
}
