export { attach, serve, type NodeServerOptions, type ServeOptions, type ServeHandle, type WebSocketServer } from "./server.ts";
export { connect, type NodeClientOptions } from "./client.ts";
export { socketByteStream } from "./byte-stream.ts";
export * from "@ws/core";
