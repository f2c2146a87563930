/**
 * The defaults as constants, read from the settings table (table.ts), for code that names one. The table
 * itself (`SETTINGS`) and every default resolved (`DEFAULT_SETTINGS`) are exported too.
 */
import { SETTINGS } from "./table.ts";

/** Largest message accepted (all fragments together, after inflation), bytes; larger closes with 1009. */
export const DEFAULT_MAX_MESSAGE_SIZE: number = SETTINGS.maxMessageSize.default;
/** Most frames one message may be split into; more closes with 1009. */
export const DEFAULT_MAX_FRAGMENTS: number = SETTINGS.maxFragments.default;
/** Bytes of messages still being received that all connections of a server may hold together; beyond, 1013. */
export const DEFAULT_MAX_PENDING_MESSAGE_BYTES: number = SETTINGS.maxPendingMessageBytes.default;
/** ms within which a message (or a frame) must be complete once its first byte arrived; else 1008. */
export const DEFAULT_MESSAGE_TIMEOUT: number = SETTINGS.messageTimeout.default;
/** Bytes a connection's send buffer may hold before the backpressure policy applies. */
export const DEFAULT_MAX_BUFFERED_AMOUNT: number = SETTINGS.maxBufferedAmount.default;
/** ms of silence after which a connection pings (at half of it) and drops (1006) without an answer. */
export const DEFAULT_IDLE_TIMEOUT: number = SETTINGS.idleTimeout.default;
/** @deprecated seconds: `DEFAULT_IDLE_TIMEOUT` / 1000. The keepalive setting is `idleTimeout`, in ms. */
export const DEFAULT_CONNECTION_TIMEOUT: number = SETTINGS.idleTimeout.default / 1000;
/** Most connections a server holds (counted from the upgrade decision); further upgrades get 503. */
export const DEFAULT_MAX_CONNECTIONS: number = SETTINGS.maxConnections.default;
/** ms for an upgrade request to be decided, the service's upgrade gate included; then 503. */
export const DEFAULT_HANDSHAKE_TIMEOUT: number = SETTINGS.handshakeTimeout.default;
/** ms to wait for the peer's close frame before dropping. */
export const DEFAULT_CLOSE_TIMEOUT: number = SETTINGS.closeTimeout.default;
/** Bytes per second of inflated (permessage-deflate) data a peer may make a connection produce. */
export const DEFAULT_INFLATE_RATE: number = SETTINGS.inflateRate.default;
/** Most plain-HTTP connections a server on its own HTTP parser holds at once (Bun's core engine). */
export const DEFAULT_MAX_HTTP_CONNECTIONS: number = SETTINGS.maxHttpConnections.default;
/** ms a keep-alive HTTP connection may wait for its next complete request head (Bun's core engine). */
export const DEFAULT_HTTP_IDLE_TIMEOUT: number = SETTINGS.httpIdleTimeout.default;
/** Bytes all connections of a server together may hold for their peers (send buffers and read queues). */
export const DEFAULT_MAX_SERVER_BUFFERED_AMOUNT: number = SETTINGS.maxServerBufferedAmount.default;
