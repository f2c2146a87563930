/**
 * `@ws/hono/node` — a Hono app's WebSockets on the server `@hono/node-server`'s `serve()` returns (or any node:http
 * server): `createNodeWebSocket({ app })` gives `upgradeWebSocket` and `injectWebSocket(server)`, which hands the
 * server's upgrade requests to `app.fetch`, so the app's middleware decides them and its routes upgrade them.
 *
 * @packageDocumentation
 * @module @ws/hono/node
 */
import type * as http from "node:http";
import type * as http2 from "node:http2";
import type * as https from "node:https";
import type { FetchInfo } from "@ws/core";
import { attach, type AttachedServer, type AttachOptions } from "@ws/node-http";
import { upgradeWebSocket } from "./upgrade-websocket.ts";

export { upgradeWebSocket, type UpgradeChoice, type ChooseService } from "./upgrade-websocket.ts";

/**
 * The servers `injectWebSocket` takes: what `@hono/node-server`'s `serve()` and `createAdaptorServer()` return
 * (node:http by default; node:https or node:http2 with its `createServer` option), or one of your own. WebSocket
 * upgrades are HTTP/1.1 requests: they reach an HTTP/2 server only through its HTTP/1.1 side (`allowHTTP1`).
 *
 * @example
 * ```ts
 * import { createServer } from "node:http2";
 * import type { NodeServer } from "@ws/hono/node";
 *
 * export const server: NodeServer = createServer(); // or @hono/node-server's serve(), createAdaptorServer()
 * ```
 */
export type NodeServer = http.Server | https.Server | http2.Http2Server | http2.Http2SecureServer;

/**
 * What `createNodeWebSocket` needs of a Hono app: its `fetch` (`new Hono()` has it).
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import type { FetchApp } from "@ws/hono/node";
 *
 * export const app: FetchApp = new Hono();
 * ```
 */
export interface FetchApp {
  fetch(request: Request, env: FetchInfo): Response | Promise<Response>;
}

/**
 * `createNodeWebSocket`'s options: the Hono `app`, and a server's options (limits, hooks, `broker`, and
 * `services` registered by path, which come before the app) for the WebSocket server `injectWebSocket` attaches.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import type { NodeWebSocketOptions } from "@ws/hono/node";
 *
 * export const options: NodeWebSocketOptions = { app: new Hono(), maxConnections: 1000, logger: console };
 * ```
 */
export interface NodeWebSocketOptions extends Omit<AttachOptions, "fetch" | "noServer"> {
  /** the Hono app whose routes (`upgradeWebSocket(…)`) decide the upgrade requests */
  app: FetchApp;
}

/**
 * What `createNodeWebSocket` gives.
 *
 * @example
 * ```ts
 * import { createServer } from "node:http";
 * import { Hono } from "hono";
 * import { createNodeWebSocket, type NodeWebSocket } from "@ws/hono/node";
 *
 * const app = new Hono();
 * const node: NodeWebSocket = createNodeWebSocket({ app });
 * const ws = node.injectWebSocket(createServer().listen(8080));
 * export const online = () => ws.connectionCount;
 * ```
 */
export interface NodeWebSocket {
  /** the route handler (the same as `upgradeWebSocket` from `@ws/hono`) */
  upgradeWebSocket: typeof upgradeWebSocket;
  /**
   * Hands `server`'s upgrade requests to the app (`attach(server, { fetch: app.fetch })` of `@ws/node`), and
   * returns the WebSocket server's controls: `connections`, `publish(topic, message)`, and `close()`, the graceful
   * shutdown (1001 Going Away to every connection). Plain HTTP stays with the server's own listener (Hono's).
   */
  injectWebSocket(server: NodeServer): AttachedServer;
}

/**
 * WebSockets for a Hono app on Node: give it the app, route upgrades with `upgradeWebSocket(…)`, and once
 * `@hono/node-server`'s `serve()` has made the server, `injectWebSocket(server)` hands that server's upgrade
 * requests to the app. The app's middleware runs before each upgrade is decided; whatever it answers instead (a
 * 401, a redirect) is written to the socket as the refusal — status, headers and body.
 *
 * @example
 * ```ts
 * import { serve } from "@hono/node-server";
 * import { Hono } from "hono";
 * import { defineService } from "@ws/core";
 * import { createNodeWebSocket } from "@ws/hono/node";
 *
 * const echo = defineService({ received: (message, conn) => void conn.send(message) });
 * const app = new Hono();
 * const { upgradeWebSocket, injectWebSocket } = createNodeWebSocket({ app });
 * app.get("/", (c) => c.text("hello over HTTP"));
 * app.get("/echo", upgradeWebSocket(echo));
 *
 * const server = serve({ fetch: app.fetch, port: 8080 });
 * const ws = injectWebSocket(server);
 * process.on("SIGTERM", () => void ws.close().then(() => server.close())); // 1001 to every connection
 * ```
 */
export function createNodeWebSocket(options: NodeWebSocketOptions): NodeWebSocket {
  const { app, ...serverOptions } = options;
  return {
    upgradeWebSocket,
    injectWebSocket(server) {
      // typed as node:http's: attach() listens to its 'upgrade' event, which an HTTP/2 server emits for its HTTP/1.1 side
      return attach(server as http.Server, { ...serverOptions, fetch: (request, info) => app.fetch(request, info) });
    },
  };
}
