/**
 * @ws/core/adapter — what a runtime adapter builds on: the byte stream it wraps its socket in, the server core
 * (upgrade decision, connection slots, adoption, topics), the client handshake over a stream, the runtime-socket
 * engine (a runtime's own WebSocket behind the Connection API) and the pieces of a fetch-style `serve()`.
 *
 * @packageDocumentation
 * @module @ws/core/adapter
 */
export type { ByteStream, ByteStreamEvents } from "./session/byte-stream.ts";
export type { ConnectionOptions } from "./session/connection.ts";
export { RuntimeHub } from "./server/runtime-hub.ts";
export { RuntimeSocketTransport, type RuntimeSocket, type RuntimeSocketSettings } from "./session/runtime-socket-transport.ts";
export { ProtocolTransport, type ProtocolTransportOptions } from "./session/protocol-transport.ts";
export { SHARED_FRAME_MIN } from "./session/send-queue.ts";
export { BufferBudget, type BufferHolder, type BufferShare } from "./session/buffer-budget.ts";
export type { Transport, TransportCapabilities, TransportEvents, MessageType } from "./session/transport.ts";
export type { SessionOptions } from "./session/connection.ts";
export {
  TopicHub,
  TopicRegistry,
  encodeMessageFrame,
  toMessage,
  type TopicOptions,
  type TopicSubscriber,
} from "./server/topics.ts";
export { ServerCore } from "./server/server.ts";
export type { UpgradeOutcome, UpgradeVerdict, ConnectionSlot } from "./server/upgrade-decision.ts";
export { RuntimeServer } from "./server/runtime-server.ts";
export { CoreFetchUpgrade, fetchAnswer, notAnUpgrade, offerUpgrade, serviceForCall, switchingProtocols } from "./server/fetch-upgrade.ts";
export {
  serveHandle,
  serverControls,
  serveEngines,
  isWebSocketRequest,
  upgradeRequestFrom,
  refusalResponse,
  webSocketOnlyResponse,
  type EngineStarters,
} from "./server/serve.ts";
export { connectOverStream } from "./client/handshake.ts";
export { type AdapterPlumbing } from "./server/plumbing.ts";
export { connectWith, type ClientRuntime, type DialTarget, type StreamTarget } from "./client/connect.ts";
export type { ExtendedConnectResponse } from "./client/extended-connect.ts";
export { WebSocketBase, type WebSocketRuntime } from "./client/websocket.ts";
export { normalizePath, type RouteMatch } from "./server/router.ts";
export { zlibCodec, type ZlibModule } from "./wire/zlib-codec.ts";
export { asksForWebSocket, buildRejectResponse, createUpgradeRequest, type UpgradeRequest, type UpgradeRequestInit } from "./wire/handshake.ts";
export { RawHeaders } from "./wire/http.ts";
export type { DeflateCodec } from "./wire/deflate.ts";
export type { Allocate } from "./wire/frame.ts";
export { checkServerOptions, checkClientOptions, checkService, checkPort, checkServes, type AdapterKeys } from "./server/options.ts";
export { listening, toListenError, listenErrorCode, checkTlsPem, type ListenAttempt, type HostLookup } from "./server/listen-error.ts";
export { logText, LOG_TEXT_LIMIT } from "./session/log-text.ts";
export { RefusalLog, REFUSAL_LOG_INTERVAL } from "./server/refusal-log.ts";
