/**
 * Services (Kitura's WebSocketService, with Vapor's upgrade gate and Perfect's subprotocol selection): the
 * object a user writes once and registers on a path, on any runtime.
 */
import type { Connection, Message } from "../session/connection.ts";
import type { UpgradeRequest } from "../wire/handshake.ts";
import type { ProtocolLimits } from "../protocol/protocol.ts";

/** Options a server sets for all its services and a service may override for its own connections. */
export interface ConnectionSettings extends ProtocolLimits {
  /**
   * seconds: ping after half of it without a word from the peer, drop (1006) after the other half. Default
   * 120; 0 turns it off.
   */
  connectionTimeout?: number;
  /** ms to wait for the peer's close frame before dropping. Default 5000. */
  closeTimeout?: number;
  /**
   * bytes a connection's send buffer may hold before the backpressure policy applies; reading from the peer
   * pauses while it holds more than half of this. Default 16 MiB; `Infinity` turns it off.
   */
  maxBufferedAmount?: number;
  /** "close" (1008) or "reject" (the send resolves false) when the send buffer is over its limit. Default "close". */
  backpressure?: "close" | "reject";
  /**
   * ms within which a message must be complete once its first byte has arrived (in streaming mode: each
   * frame), else 1008. Default 60000; 0 turns it off.
   */
  messageTimeout?: number;
  /**
   * bytes per second of inflated data (permessage-deflate) a peer may make the connection produce; beyond
   * it, reading from that peer pauses until the rate is back under it (nothing is dropped). Checked after
   * each read from the socket. Default 32 MiB/s; `Infinity` turns it off.
   */
  inflateRate?: number;
}

/** What the upgrade gate returns: nothing (accept), a rejection, or extra response headers and data. */
export type UpgradeDecision<Data> =
  | void
  | undefined
  | false
  | { reject: number; reason?: string; headers?: Record<string, string> }
  | { reject?: undefined; headers?: Record<string, string>; data?: Data };

export interface Service<Data = unknown> extends ConnectionSettings {
  /** subprotocols this service speaks, in order of preference, or a selector over the client's offer */
  protocols?: readonly string[] | ((offered: string[]) => string | null | undefined);
  /** gate before the 101 response (Vapor's shouldUpgrade): return `false` (403) or `{ reject: status }` to refuse */
  upgrade?(request: UpgradeRequest): UpgradeDecision<Data> | Promise<UpgradeDecision<Data>>;
  /** a client connected (it can be sent to at once) */
  connected?(conn: Connection<Data>): unknown;
  /** the connection closed: the close code (1006 when no close frame was exchanged) and reason; once */
  disconnected?(conn: Connection<Data>, code: number, reason: string): unknown;
  /** a message: a string for text, a Uint8Array for binary. Without it, messages wait for `conn.read()`. */
  received?(message: Message, conn: Connection<Data>): unknown;
  /**
   * an Error on one of this service's connections: what a hook or listener threw or rejected with (each
   * time: a peer can make a handler fail on every message, so keep it cheap), or a `ProtocolViolationError`
   * (with `code`) when the peer broke the protocol or a limit and the connection is closing. Called before the
   * server's `onError`; what it throws or rejects with is logged, never passed to it again.
   */
  error?(conn: Connection<Data>, error: Error): unknown;
  /**
   * keep the runtime's request (`conn.request.raw`: node:http's IncomingMessage, a `Request`) for the life of
   * the connection. Default: the server's `keepRawRequest` (false): `raw` is released once `connected` has
   * returned (its synchronous part), as it costs about 1 KiB per open connection on Node.
   */
  keepRawRequest?: boolean;
}

/** Declares a service; the identity function, there for type inference. */
export function defineService<Data = unknown>(service: Service<Data>): Service<Data> {
  return service;
}
