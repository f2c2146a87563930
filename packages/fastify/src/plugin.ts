/**
 * The Fastify plugin. How an upgrade goes:
 *
 * 1. The plugin listens to `fastify.server`'s 'upgrade' event (node:http hands upgrade requests there, never to
 *    Fastify's request listener). For each one it makes a `ServerResponse` over the upgrade's socket
 *    (`responseOverSocket` of @ws/node-http) and hands the
 *    IncomingMessage and that response to Fastify's own router (`fastify.routing(req, res)`), as if it were a plain
 *    request: the route is found, and its `onRequest`, `preParsing`, `preValidation` and `preHandler` hooks run with
 *    the real request (its socket, its IP, its cookies), decorators and all.
 * 2. A hook that replies (a 401 with its headers and body), a 404 (no route), an error: Fastify writes that reply to
 *    the response, so node:http itself writes it to the socket — status, headers and body as for any request, with
 *    `Connection: close` — and the socket is closed once it is out. That reply is the refusal the client gets.
 * 3. When the hooks let it through, the route's handler runs: the plugin wraps the handler of every route with a
 *    `websocket` option, so for an upgrade it takes the reply over (`reply.hijack()`), picks the service and the
 *    data (`websocket(request, reply)`), and hands the raw request and socket to @ws/node-http's `handleUpgrade`
 *    (an `attach({ noServer: true })` whose `resolve` returns that service): the server core's upgrade decision
 *    (validation, maxConnections, the service's own gate, its settings), the 101, the Connection. Plain HTTP
 *    requests to the route get the route's own handler, as before.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type {
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  RouteHandlerMethod,
  RouteOptions,
} from "fastify";
import type { Service } from "@ws/core";
import { checkService, serviceForCall } from "@ws/core/adapter";
import { attach, responseOverSocket, type AttachOptions, type AttachedServer, type UpgradeResponse, type WebSocketServer } from "@ws/node-http";

/**
 * What a route's `websocket` function picks for one upgrade request: the service, and `data` for `conn.data` (over
 * what the service's own gate returns) and `headers` for the 101 (under the gate's), as in `upgrade(request, service,
 * { data, headers })`. Write the function's return type as `WebSocketChoice<YourData>` to have `data` checked
 * against the service's.
 *
 * @example
 * ```ts
 * import Fastify from "fastify";
 * import { defineService, webSocket, type WebSocketChoice } from "@ws/fastify";
 *
 * interface User { name: string }
 * const chat = defineService<User>({ connected: (conn) => void conn.send(`hello ${conn.data.name}`) });
 *
 * const fastify = Fastify();
 * await fastify.register(webSocket);
 * fastify.get("/chat", {
 *   websocket: (request): WebSocketChoice<User> => ({ service: chat, data: { name: String(request.headers["x-user"]) } }),
 * }, () => "WebSocket only");
 * ```
 */
export interface WebSocketChoice<Data = unknown> {
  /** the service the connection runs */
  service: Service<Data>;
  /** the connection's `conn.data` (the service gate's, if it returns any, when this is undefined) */
  data?: Data;
  /** extra headers on the 101 response (the service gate's win over these) */
  headers?: Record<string, string>;
}

/**
 * A route's `websocket` option: the service itself, or a function of the Fastify request (after the route's hooks
 * ran: `request.user`, `request.session`, cookies) that picks the service and its `data`. A function may refuse
 * instead: reply (`reply.code(403).send(…)`) and return nothing; that reply is what the client gets.
 */
export type WebSocketRoute =
  | Service<unknown>
  | ((request: FastifyRequest, reply: FastifyReply) => WebSocketChoice<unknown> | undefined | Promise<WebSocketChoice<unknown> | undefined>);

/**
 * The plugin's options: a server's options (limits, timeouts, `perMessageDeflate`, hooks, `broker`, `logger`,
 * `metrics`) as for `attach()`; services are given per route (`websocket`), not here. `logger` defaults to
 * Fastify's (`fastify.log`).
 */
export type WebSocketPluginOptions = Omit<AttachOptions, "services" | "resolve" | "noServer" | "shouldHandle" | "fetch">;

declare module "fastify" {
  interface RouteShorthandOptions {
    /**
     * Makes the route a WebSocket endpoint (`@ws/fastify`): an upgrade request to it runs the route's hooks, then
     * is upgraded to a connection of this service (or of the one the function picks, with its `data`); plain HTTP
     * requests get the route's handler.
     */
    websocket?: WebSocketRoute;
  }
  interface FastifyInstance {
    /** the WebSocket server of `@ws/fastify`: connections, `publish(topic, message)`, `close()` */
    websocketServer: WebSocketServer;
  }
}

/** An upgrade request routed through Fastify, until its route's handler takes it (or a reply refuses it). */
interface PendingUpgrade {
  readonly socket: Duplex;
  readonly head: Buffer;
  /** the response over the socket (Fastify writes a refusal there); `takeSocket` hands the socket on */
  readonly over: UpgradeResponse;
}

/** The body of the 404 an upgrade request gets at a route without `websocket` (as the server core words it). */
const NO_SERVICE_HERE = "no WebSocket service here";

/**
 * The service and data for one upgrade request: the route's `websocket` option itself, or what its function returns
 * (undefined: the function replied, or gave nothing). A returned service is checked as a registered one is.
 */
async function choose(route: WebSocketRoute, request: FastifyRequest, reply: FastifyReply): Promise<WebSocketChoice<unknown> | undefined> {
  if (typeof route !== "function") return { service: route as Service<unknown> };
  const choice = (await route(request, reply)) as WebSocketChoice<unknown> | undefined;
  if (choice !== undefined) checkService("websocket", choice.service);
  return choice;
}

/**
 * The Fastify plugin: register it before the routes that use it, then give a route a `websocket` option (a service,
 * or `(request, reply) => ({ service, data })`). Upgrade requests go through Fastify's router, so the route's
 * `onRequest`, `preParsing`, `preValidation` and `preHandler` hooks run first (in its encapsulation context: auth,
 * cookies, `request.user`); a hook's reply is the refusal the client gets (its status, headers and body). Plain
 * HTTP requests to the route get its handler. An upgrade request to a route without `websocket` gets 404 (as one to
 * no route at all). `fastify.websocketServer` is the server's controls (connections, `publish`); `fastify.close()`
 * closes the connections with 1001 (within `closeTimeout`) before Fastify's server stops. The hooks, the handler and
 * the service's gate together are bounded by `handshakeTimeout` (the socket is destroyed then).
 *
 * @example
 * ```ts
 * import Fastify from "fastify";
 * import { defineService, webSocket } from "@ws/fastify";
 *
 * const echo = defineService({ received: (message, conn) => void conn.send(message) });
 *
 * const fastify = Fastify();
 * await fastify.register(webSocket, { maxMessageSize: 64 * 1024 });
 * fastify.get("/echo", { websocket: echo }, (_request, reply) => reply.code(426).send("WebSocket only"));
 * fastify.get("/", () => "hello over HTTP");
 * await fastify.listen({ port: 8080 });
 * ```
 */
export const webSocket: FastifyPluginAsync<WebSocketPluginOptions> = async (fastify, options) => {
  /** upgrade requests on their way through Fastify's lifecycle */
  const pending = new WeakMap<IncomingMessage, PendingUpgrade>();
  /** the service each upgrade request's handler picked, for `resolve` (read synchronously in handleUpgrade) */
  const picked = new WeakMap<IncomingMessage, Service<unknown>>();
  const ws: AttachedServer = attach({
    logger: fastify.log,
    ...options,
    noServer: true,
    resolve: (req) => (req.raw ? picked.get(req.raw as IncomingMessage) : undefined),
  });
  const handshakeTimeout = ws.core.settings.handshakeTimeout;
  fastify.decorate("websocketServer", ws as WebSocketServer);

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // handshakeTimeout from here to the 101: the hooks, the handler and the service's gate together
    const over = responseOverSocket(req, socket, handshakeTimeout);
    pending.set(req, { socket, head, over });
    fastify.routing(req, over.response);
  };

  /** The handler of a `websocket` route: the upgrade for an upgrade request, the route's own handler otherwise. */
  const upgradeHandler = (route: WebSocketRoute, plain: RouteHandlerMethod): RouteHandlerMethod =>
    async function (this: FastifyInstance, request, reply) {
      const upgrade = pending.get(request.raw);
      if (!upgrade) return plain.call(this, request, reply);
      const choice = await choose(route, request, reply);
      if (reply.sent) return reply; // the function refused: its reply is the answer
      if (!choice) return reply.code(404).send(NO_SERVICE_HERE);
      reply.hijack();
      pending.delete(request.raw);
      if (!upgrade.over.takeSocket()) return reply; // the client went away, or the time is up
      picked.set(request.raw, serviceForCall(choice.service, { data: choice.data, headers: choice.headers }));
      const done = ws.handleUpgrade(request.raw, upgrade.socket, upgrade.head);
      picked.delete(request.raw); // read synchronously by handleUpgrade's routing
      await done;
      return reply;
    };

  fastify.addHook("onRoute", (routeOptions: RouteOptions) => {
    const route = routeOptions.websocket;
    if (route === undefined) return;
    if (typeof route !== "function") checkService(`websocket of ${routeOptions.url}`, route);
    const methods = ([] as string[]).concat(routeOptions.method);
    if (methods.every((method) => method === "HEAD")) return; // the HEAD route Fastify adds beside a GET one
    if (!methods.includes("GET")) {
      throw new TypeError(`the websocket option of ${methods.join(",")} ${routeOptions.url} needs a GET route: WebSocket upgrades are GET requests (fastify.get(url, { websocket }, handler))`);
    }
    routeOptions.config = { ...routeOptions.config, [WEBSOCKET_ROUTE]: true };
    routeOptions.handler = upgradeHandler(route, routeOptions.handler);
  });

  // an upgrade request to a route that has no `websocket` option: 404 before that route's own hooks run
  fastify.addHook("onRequest", async (request, reply) => {
    if (!pending.has(request.raw)) return;
    const config = request.routeOptions.config as unknown as Record<PropertyKey, unknown> | undefined;
    if (config?.[WEBSOCKET_ROUTE] !== true) await reply.code(404).send(NO_SERVICE_HERE);
  });

  fastify.server.on("upgrade", onUpgrade);
  // before Fastify's server stops: the connections get 1001 and their close handshake (within closeTimeout)
  fastify.addHook("preClose", async () => {
    await ws.close();
  });
  fastify.addHook("onClose", async () => {
    fastify.server.off("upgrade", onUpgrade);
  });
};

/** Marks a route's config as having a `websocket` option. */
const WEBSOCKET_ROUTE = Symbol.for("@ws/fastify.websocket-route");

// a plugin that decorates the instance it is registered on, not an encapsulated child (Fastify's skip-override)
Object.assign(webSocket, {
  [Symbol.for("skip-override")]: true,
  [Symbol.for("fastify.display-name")]: "@ws/fastify",
});
