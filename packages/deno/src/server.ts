/**
 * serve() on Deno, with two engines:
 *  - "core" (default): @ws/core's protocol over the raw socket of Deno's node:http 'upgrade' event — the Node
 *    adapter's own code path (@ws/node's serve), so behaviour, limits and keepalive are the same as on Node;
 *  - "runtime": Deno.serve + Deno.upgradeWebSocket mapped onto the Connection API (runtime.ts).
 */
import { serve as serveOnNodeHttp, type ServeOptions as NodeServeOptions } from "@ws/node";
import type { Connection, SendData, ServerOptions, Service } from "@ws/core";
import { denoWebSocket } from "./runtime.ts";

export type Engine = "core" | "runtime";

export interface ServeOptions extends ServerOptions {
  /** "core" (default): @ws/core over the socket; "runtime": Deno's built-in WebSocket */
  engine?: Engine;
  /** port to listen on; 0 (the default) picks a free one */
  port?: number;
  /** address to bind; default: all interfaces */
  hostname?: string;
  /** serve HTTPS / WSS with this key and certificate (PEM) */
  tls?: { key: string; cert: string; ca?: string };
  /** answers plain HTTP requests; default: 426 Upgrade Required */
  fetch?: (request: Request) => Response | Promise<Response>;
  /** ms for an upgrade request to be decided (the gate included); core engine only. Default 10000. */
  handshakeTimeout?: number;
}

export interface ServeHandle {
  readonly engine: Engine;
  readonly port: number;
  readonly hostname: string;
  /** ws:// or wss:// base URL */
  readonly url: string;
  readonly connections: ReadonlySet<Connection<unknown>>;
  readonly connectionCount: number;
  register(path: string, service: Service<unknown>): void;
  unregister(path: string): boolean;
  /** sends to every subscriber of `topic`; returns how many */
  publish(topic: string, message: SendData): number;
  subscriberCount(topic: string): number;
  /** graceful: 1001 Going Away to every connection, wait up to `timeout` ms, drop the rest, stop listening */
  close(options?: { code?: number; reason?: string; timeout?: number }): Promise<void>;
}

function notWebSocket(): Response {
  return new Response("This endpoint speaks WebSocket only\n", {
    status: 426,
    headers: { "Content-Type": "text/plain", Upgrade: "websocket", Connection: "close" },
  });
}

/** Starts a server with the given services. Resolves once it is listening. */
export async function serve(options: ServeOptions): Promise<ServeHandle> {
  const { engine = "core", ...rest } = options;
  if (engine === "core") {
    const handle = await serveOnNodeHttp(rest as NodeServeOptions);
    return {
      engine,
      port: handle.port,
      hostname: handle.hostname,
      url: handle.url,
      get connections() {
        return handle.connections;
      },
      get connectionCount() {
        return handle.connectionCount;
      },
      register: (path, service) => handle.register(path, service),
      unregister: (path) => handle.unregister(path),
      publish: (topic, message) => handle.publish(topic, message),
      subscriberCount: (topic) => handle.subscriberCount(topic),
      close: (closeOptions) => handle.close(closeOptions),
    };
  }
  if (engine !== "runtime") throw new TypeError(`unknown engine ${String(engine)}: use "core" or "runtime"`);
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
      return fetch ? fetch(request) : notWebSocket();
    },
  );
  const addr = await listening.promise;
  const hostname = options.hostname ?? "localhost";
  const urlHost = hostname.includes(":") ? `[${hostname}]` : hostname;
  return {
    engine,
    port: addr.port,
    hostname,
    url: `${options.tls ? "wss" : "ws"}://${urlHost}:${addr.port}`,
    get connections() {
      return ws.connections;
    },
    get connectionCount() {
      return ws.connectionCount;
    },
    register: (path, service) => ws.register(path, service),
    unregister: (path) => ws.unregister(path),
    publish: (topic, message) => ws.publish(topic, message),
    subscriberCount: (topic) => ws.subscriberCount(topic),
    async close(closeOptions) {
      await ws.close(closeOptions);
      await server.shutdown();
    },
  };
}
