/**
 * @ws/cloudflare — WebSockets on Cloudflare Workers: `handler()` for a Worker's fetch, `WebSocketRoom` (a Durable Object with hibernation) for shared state and topics across connections. Re-exports everything from `@ws/core`.
 *
 * @packageDocumentation
 * @module @ws/cloudflare
 */
export { handler, workerWebSocket, WORKER_ENGINE, type HandlerOptions, type WorkersUpgradeRequest, type RoomRoute, type WorkerWebSocket, type WorkerWebSocketOptions } from "./worker.ts";
export { WebSocketRoom, roomObject, ROOM_ENGINE, DEFAULT_KEPT_HEADERS, type RoomOptions, type RoomAttachment } from "./durable-object.ts";
export { workersSocket, toMessage as workersMessage } from "./socket.ts";
// @ws/core's service API: services import it from here or from @ws/core
export * from "@ws/core";
