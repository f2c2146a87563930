/**
 * @ws/deno — WebSockets on Deno: `serve()` on Deno.serve (engine "deno") or node:http (engine "core"), `denoWebSocket()` for a Deno.serve you own, `connect()` and `WebSocket` clients. Re-exports everything from `@ws/core`.
 *
 * @packageDocumentation
 * @module @ws/deno
 */
export { serve, type Engine, type ServeOptions, type ServeHandle } from "./server.ts";
export { denoWebSocket, type DenoWebSocket, type DenoWebSocketOptions } from "./runtime.ts";
export { connect, type DenoClientOptions } from "./client.ts";
export { WebSocket } from "./websocket.ts";
export { DenoConnStream } from "./byte-stream.ts";
// @ws/core, including isWebSocketRequest
export * from "@ws/core";
