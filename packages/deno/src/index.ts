export { serve, type Engine, type ServeOptions, type ServeHandle } from "./server.ts";
export { denoWebSocket, type DenoWebSocket, type DenoWebSocketOptions } from "./runtime.ts";
export { connect, type DenoClientOptions } from "./client.ts";
export { WebSocket } from "./websocket.ts";
export { DenoConnStream } from "./byte-stream.ts";
// @ws/core, including isWebSocketRequest
export * from "@ws/core";
