/**
 * @ws/core — what a service author uses: services and their options, the Connection, close codes, errors,
 * the server's options and controls, the default limits. The protocol toolkit (frames, handshake, UTF-8,
 * permessage-deflate, the protocol state machine) is `@ws/core/protocol`; what a runtime adapter builds on
 * (byte streams, the server core, the runtime-socket engine) is `@ws/core/adapter`.
 *
 * @packageDocumentation
 * @module @ws/core
 */
export { CloseCode, isValidWireCloseCode } from "./wire/close-codes.ts";
export { createUpgradeRequest, type UpgradeRequest, type UpgradeRequestInit } from "./wire/handshake.ts";
export { HeaderMap, type HeadersLike } from "./wire/http.ts";
export type { PerMessageDeflateOptions } from "./wire/deflate.ts";
export type { CloseInfo, Role } from "./protocol/protocol.ts";
export {
  DEFAULT_MAX_MESSAGE_SIZE,
  DEFAULT_MAX_FRAGMENTS,
  DEFAULT_MAX_PENDING_MESSAGE_BYTES,
  DEFAULT_MESSAGE_TIMEOUT,
  DEFAULT_MAX_BUFFERED_AMOUNT,
  DEFAULT_IDLE_TIMEOUT,
  DEFAULT_CONNECTION_TIMEOUT,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_HANDSHAKE_TIMEOUT,
  DEFAULT_CLOSE_TIMEOUT,
  DEFAULT_INFLATE_RATE,
  DEFAULT_MAX_HTTP_CONNECTIONS,
  DEFAULT_HTTP_IDLE_TIMEOUT,
  DEFAULT_MAX_SERVER_BUFFERED_AMOUNT,
} from "./settings/defaults.ts";
export { SETTINGS, DEPRECATED_SETTINGS, type SettingRow, type SettingName, type SettingScope, type SettingUnit } from "./settings/table.ts";
export { DEFAULT_SETTINGS, DEFAULT_CLIENT_SETTINGS, resolveSettings, type Settings } from "./settings/resolve.ts";
export type { ConnectionSettings, ServerSettings, ClientSettings } from "./settings/options.generated.ts";
export { REFUSED_UPGRADE_LINGER } from "./protocol/limits.ts";
export {
  Connection,
  type Message,
  type SendData,
  type Fragment,
  type MessageWriter,
  type ReadyState,
} from "./session/connection.ts";
export {
  ReadTimeoutError,
  ConnectionClosedError,
  BackpressureError,
  UnsupportedError,
  ProtocolViolationError,
  consoleLogger,
  silentLogger,
  type Logger,
  type LogContext,
} from "./session/errors.ts";
export type { MetricsHooks, ClosedMetrics, MeteredConnection } from "./session/metrics.ts";
export { defineService, type Service, type UpgradeDecision } from "./server/service.ts";
export { Router, type RouteMatch } from "./server/router.ts";
export type { TopicBroker, PublishBackpressure, PublishCompression } from "./server/topics.ts";
export type { ServerOptions } from "./server/server.ts";
export { upgrade, NotServedError } from "./server/fetch-upgrade.ts";
export { isWebSocketRequest } from "./server/serve.ts";
export type { ServerControls, ServeEngine, EngineServeOptions, EngineServeHandle, FetchInfo, FetchUpgrade, UpgradeOptions } from "./server/serve.ts";
export { HandshakeError, type ClientOptions, type HandshakeResponse } from "./client/handshake.ts";
export { InvalidOptionError } from "./server/options.ts";
export { ListenError, type ListenErrorCode } from "./server/listen-error.ts";
export type { BinaryType, WebSocketOptions } from "./client/websocket.ts";
export type { WebSocketData } from "./client/arguments.ts";
export { CloseEvent, MessageEvent, CloseEventShim, MessageEventShim, type CloseEventInit, type MessageEventInit, type EventHandler } from "./client/events.ts";
