/**
 * @ws/fastify — WebSocket services on Fastify: register the plugin, give a route a `websocket` option (a service, or
 * `(request, reply) => ({ service, data })`), and the upgrade goes through Fastify's router: the route's hooks
 * (`onRequest`, `preValidation`, `preHandler`: auth, cookies, `request.user`) run first, and their reply is the
 * refusal the client gets. `fastify.close()` closes the connections gracefully (1001). On @ws/node-http: the same
 * Connection, settings and topics as `attach()`. Also re-exports `defineService` and the service types of
 * `@ws/core`, so a Fastify app needs no other package of this toolkit for its server.
 *
 * @packageDocumentation
 * @module @ws/fastify
 */
export { webSocket, webSocket as default, type WebSocketChoice, type WebSocketPluginOptions, type WebSocketRoute } from "./plugin.ts";
export type { WebSocketServer } from "@ws/node-http";
export { defineService, type Connection, type Service, type UpgradeRequest, type Message } from "@ws/core";
