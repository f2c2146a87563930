/**
 * @ws/bun — WebSockets on Bun: `serve()` on Bun.serve (engine "bun") or node:http (engine "core"), `bunWebSocket()` for a Bun.serve you own, `connect()` and `WebSocket` clients. Re-exports everything from `@ws/core`.
 *
 * @packageDocumentation
 * @module @ws/bun
 */
import { setUnmaskKernel } from "@ws/core/protocol";

// JavaScriptCore runs the core's JavaScript unmasking loop as fast as or (from 16 KiB) far faster than its
// WebAssembly SIMD kernel, which is the faster one on V8 (`node bench/dist/unmask.js` vs `bun bench/dist/unmask.js`)
setUnmaskKernel("js");

export { serve, type Engine, type ServeOptions, type ServeHandle } from "./server.ts";
export { bunWebSocket, type BunWebSocket, type BunWebSocketOptions, type BunSocketData } from "./runtime.ts";
export { connect, type BunClientOptions } from "./client.ts";
export { WebSocket } from "./websocket.ts";
export { BunSocketStream } from "./byte-stream.ts";
// @ws/core, including isWebSocketRequest
export * from "@ws/core";
