export { serve, type Engine, type ServeOptions, type ServeHandle } from "./server.ts";
export { bunWebSocket, isWebSocketRequest, type BunWebSocket, type BunWebSocketOptions, type BunSocketData } from "./runtime.ts";
export { connect, type BunClientOptions } from "./client.ts";
export { BunSocketStream } from "./byte-stream.ts";
export { MappedConnection, type ConnectionApi, type RuntimeSocket } from "./mapped.ts";
export * from "@ws/core";
