export { serve, type Engine, type ServeOptions, type ServeHandle } from "./server.ts";
export { bunWebSocket, type BunWebSocket, type BunWebSocketOptions, type BunSocketData } from "./runtime.ts";
export { connect, type BunClientOptions } from "./client.ts";
export { WebSocket } from "./websocket.ts";
export { BunSocketStream } from "./byte-stream.ts";
// @ws/core, including the runtime engine's MappedConnection and isWebSocketRequest
export * from "@ws/core";
