/**
 * `upgradeWebSocket()`: a Hono route handler over the fetch-style upgrade of `@ws/core` (`upgrade(request, service,
 * { data, headers })`). It runs where Hono's middleware has run before it, so the decision can read what the
 * middleware left in the context (`c.get("user")`), and it returns the Response the ws-toolkit server acts on: the 101,
 * or a refusal (the service's, the server's, or one the callback returns). Built on Hono's documented API only
 * (`Context`, `c.req.raw`, `MiddlewareHandler`); hono is imported for its types and nothing else.
 */
import type { Context, Env, MiddlewareHandler } from "hono";
import { isWebSocketRequest, upgrade, type Service } from "@ws/core";

/**
 * What the callback of `upgradeWebSocket` decides for one request: the service to upgrade it to, with the
 * connection's `conn.data` and extra headers for the 101 — or a Response, the refusal (a 401, a redirect) that the
 * client gets as it is (status, headers and body; a `HandshakeError` on ws-toolkit's client).
 *
 * @example
 * ```ts
 * import type { Context } from "hono";
 * import { defineService } from "@ws/core";
 * import type { UpgradeChoice } from "@ws/hono";
 *
 * const room = defineService<{ room: string }>({ connected: (conn) => void conn.send(`welcome to ${conn.data.room}`) });
 *
 * export function choose(c: Context): UpgradeChoice<{ room: string }> {
 *   const name = c.req.query("room");
 *   if (!name) return new Response("which room?", { status: 400 }); // the refusal, as it is
 *   return { service: room, data: { room: name }, headers: { "x-room": name } };
 * }
 * ```
 */
export type UpgradeChoice<Data> =
  | {
      /** the service the connection runs (registered elsewhere or made for this request) */
      service: Service<Data>;
      /** the connection's `conn.data` (over what the service's own gate returns, if it returns any) */
      data?: Data;
      /** extra headers on the 101 response (the service gate's win over these) */
      headers?: Record<string, string>;
    }
  | Response;

/**
 * The callback form of `upgradeWebSocket`'s argument: the decision for one request, from its Hono context.
 *
 * @example
 * ```ts
 * import { defineService } from "@ws/core";
 * import { upgradeWebSocket, type ChooseService } from "@ws/hono";
 *
 * type AppEnv = { Variables: { user: string } };
 * const chat = defineService<{ user: string }>({ connected: (conn) => void conn.send(`hi ${conn.data.user}`) });
 *
 * const choose: ChooseService<{ user: string }, AppEnv> = (c) => ({ service: chat, data: { user: c.get("user") } });
 * export const route = upgradeWebSocket(choose);
 * ```
 */
export type ChooseService<Data, E extends Env> = (c: Context<E>) => UpgradeChoice<Data> | Promise<UpgradeChoice<Data>>;

/** What the handler says when the request did not come through a ws-toolkit server (so nothing can upgrade it). */
const NOT_SERVED =
  "upgradeWebSocket(): this request did not come through a @ws server, so nothing can upgrade it. Serve the Hono app with " +
  "serve({ fetch: app.fetch }) from @ws/node, @ws/bun or @ws/deno; with handler({ fetch: app.fetch }) from @ws/cloudflare; " +
  "on @hono/node-server, createNodeWebSocket({ app }).injectWebSocket(server) from @ws/hono/node. " +
  "(A middleware that replaced c.req.raw with a new Request hides the original from it too.)";

/**
 * A Hono route handler that upgrades a WebSocket request to a connection of a ws-toolkit service. Give it the service,
 * or a callback that decides from the Hono context — after the app's middleware has run (its session, its
 * `c.set("user", …)`) — which service, with which `data` (the connection's `conn.data`, typed by the service) and
 * which extra 101 headers; the callback may return a Response instead, as the refusal.
 *
 * - **The middleware's refusal.** A middleware before it that answers (a 401 with `WWW-Authenticate` and a JSON
 *   body, a redirect) never reaches it: the ws-toolkit server writes that Response as the refusal, and the client gets its
 *   status, headers and body.
 * - **A request that is not a WebSocket upgrade** goes on to the next handler of the route (`next()`), as with
 *   Hono's own helper: add one to answer plain GETs of the path (e.g. with a 426), or Hono answers 404.
 * - **The service's own gate** (`upgrade(req)`) still runs, after this decision; the server's limits
 *   (`maxConnections`, `handshakeTimeout`) and the service's settings apply as on any other path.
 * - **Where it works.** In a Hono app served by a ws-toolkit server, which hands the app its requests and upgrades them:
 *   `serve({ fetch: app.fetch })` (`@ws/node`, `@ws/bun`, `@ws/deno`, every engine), `bunWebSocket(…).handle(request,
 *   server, app.fetch)` / `denoWebSocket(…).handle(request, info, app.fetch)` in your own Bun.serve / Deno.serve,
 *   `handler({ fetch: app.fetch })` on Workers (or a Durable Object room's `onUpgrade`), and on Node
 *   `createNodeWebSocket({ app }).injectWebSocket(server)` from `@ws/hono/node`. Elsewhere it throws, saying so.
 *
 * App-wide middleware that writes headers before and after it (`cors()`, `secureHeaders()`) is fine; a middleware
 * that replaces its Response after `await next()` turns the upgrade into a refusal.
 *
 * @example
 * ```ts
 * import { Hono, type Context } from "hono";
 * import { getCookie } from "hono/cookie";
 * import { createMiddleware } from "hono/factory";
 * import { defineService } from "@ws/core";
 * import { upgradeWebSocket } from "@ws/hono";
 *
 * interface User { name: string }
 * type AppEnv = { Variables: { user: User } };
 *
 * const chat = defineService<User>({
 *   connected: (conn) => void conn.send(`hello ${conn.data.name}`),
 *   received: (message, conn) => void conn.send(`${conn.data.name}: ${String(message)}`),
 * });
 *
 * const auth = createMiddleware<AppEnv>(async (c, next) => {
 *   const name = getCookie(c, "user");
 *   if (!name) return c.json({ error: "log in first" }, 401, { "WWW-Authenticate": "Cookie" });
 *   c.set("user", { name });
 *   await next();
 * });
 *
 * export const app = new Hono<AppEnv>()
 *   .get("/", (c) => c.text("hello over HTTP"))
 *   .get("/chat", auth, upgradeWebSocket((c: Context<AppEnv>) => ({ service: chat, data: c.get("user") })));
 * ```
 */
export function upgradeWebSocket<Data, E extends Env = any>(choose: Service<Data> | ChooseService<Data, E>): MiddlewareHandler<E> {
  return async (c, next) => {
    const request = c.req.raw;
    if (!isWebSocketRequest(request)) return next();
    const choice: UpgradeChoice<Data> = typeof choose === "function" ? await choose(c) : { service: choose };
    if (choice instanceof Response) return choice;
    let response: Response;
    try {
      response = await upgrade(request, choice.service, { data: choice.data, headers: choice.headers });
    } catch (error) {
      // by name, not instanceof: the app and the server may hold two copies of @ws/core
      if (error instanceof Error && error.name === "NotServedError") {
        throw new TypeError(NOT_SERVED, { cause: error });
      }
      throw error;
    }
    if (response.status === 101) {
      // The 101 must leave the app as this very object: the server acts on it by identity, and the runtime's own
      // 101 carries its socket. Hono's `c.res = response` copies a Response into a new one when a middleware has
      // prepared headers before (cors(), secureHeaders()), and a 101 cannot be made with `new Response`: so clear
      // the prepared response first (c.res = undefined: the next set replaces instead of merging), then set the 101.
      keepAsItIs(response);
      c.res = undefined;
      c.res = response;
    }
    return response;
  };
}

/**
 * Lets the middleware that runs after the handler (cors() adds `Vary: Origin` with `c.header()`) write headers to
 * a 101 without copying it: Hono's `c.header()` copies a finalized Response whose body is unused into a new one (a
 * 101 cannot be made: it would throw) and writes into a used one's headers as they are. The 101 has no body, so it
 * is marked used, and its headers are a mutable copy (a runtime's own 101 may guard its headers): what the
 * middleware writes there is not sent — the 101's headers are the server's (the service gate's, `headers`).
 */
function keepAsItIs(response: Response): void {
  try {
    Object.defineProperty(response, "bodyUsed", { value: true, configurable: true });
    Object.defineProperty(response, "headers", { value: new Headers(response.headers), configurable: true });
  } catch {
    // a runtime whose Response will not take it: Hono's own helpers share the limit (no header-writing middleware after a WebSocket route)
  }
}
