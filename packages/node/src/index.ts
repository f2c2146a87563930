/**
 * @ws/node — WebSockets on Node.js: `serve()` a standalone server, `attach()` to an existing http/https server (Express, …), `connect()` and `WebSocket` clients. Re-exports everything from `@ws/core`, so a Node project installs only this package.
 *
 * @packageDocumentation
 * @module @ws/node
 */
export {
  attach,
  serve,
  socketByteStream,
  expressUpgrade,
  responseOverSocket,
  type RequestMiddleware,
  type UpgradeResponse,
  type AttachOptions,
  type AttachedServer,
  type NodeServerOptions,
  type NodeUpgradeRequest,
  type ServeOptions,
  type ServeHandle,
  type WebSocketServer,
} from "@ws/node-http";
export { connect, type NodeClientOptions } from "./client.ts";
export { WebSocket } from "./websocket.ts";
export * from "@ws/core";
