export {
  attach,
  serve,
  socketByteStream,
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
