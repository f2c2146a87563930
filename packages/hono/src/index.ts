/**
 * `@ws/hono` — ws-toolkit services in a Hono app. `upgradeWebSocket(service)` is a Hono route handler: the app's
 * middleware runs first (a session from a cookie, `c.set("user", …)`), and the handler upgrades the request to a
 * connection of `service`, with `data` from the context as `conn.data` — or returns the middleware's refusal.
 * The same app runs on Node, Bun, Deno and Workers when a ws-toolkit server hands it its requests:
 * `serve({ fetch: app.fetch })` from `@ws/node`, `@ws/bun` or `@ws/deno`, `handler({ fetch: app.fetch })` from
 * `@ws/cloudflare`, or on Node `createNodeWebSocket({ app }).injectWebSocket(server)` (from `@ws/hono/node`) for
 * the server `@hono/node-server`'s `serve()` returns. Hono is a peer dependency; nothing of it is imported at
 * run time, and the adapters do not import this package.
 *
 * @packageDocumentation
 * @module @ws/hono
 */
export { upgradeWebSocket, type UpgradeChoice, type ChooseService } from "./upgrade-websocket.ts";
