export { serve, type Engine, type ServeOptions, type ServeHandle } from "./server.ts";
export { denoWebSocket, isWebSocketRequest, type DenoWebSocket, type DenoWebSocketOptions } from "./runtime.ts";
export { connect, type DenoClientOptions } from "./client.ts";
export { DenoConnStream } from "./byte-stream.ts";
export { MappedConnection, type ConnectionApi, type RuntimeSocket } from "./mapped.ts";
export * from "@ws/core";
