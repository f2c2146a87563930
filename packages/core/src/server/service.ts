/**
 * Services (Kitura's WebSocketService, with Vapor's upgrade gate and Perfect's subprotocol selection): the
 * object a user writes once and registers on a path, on any runtime.
 */
import type { Connection, Message } from "../session/connection.ts";
import type { UpgradeRequest } from "../wire/handshake.ts";
import type { ConnectionSettings } from "../settings/options.generated.ts";

export type { ConnectionSettings } from "../settings/options.generated.ts";

/** What the upgrade gate returns: nothing (accept), a rejection, or extra response headers and data. */
export type UpgradeDecision<Data> =
  | void
  | undefined
  | false
  | { reject: number; reason?: string; headers?: Record<string, string> }
  | { reject?: undefined; headers?: Record<string, string>; data?: Data };

/**
 * What one path serves (`services: { "/chat": chat }`): its hooks (`upgrade` gate, `connected`, `received`,
 * `disconnected`, `error`), its subprotocols, and any connection setting it overrides for its own connections
 * (the service's value wins over the server's). Made with `defineService`, which types `Data` (`conn.data`).
 */
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
}

/**
 * Declares a service; the identity function, there for type inference.
 *
 * @example
 * ```ts
 * import { defineService } from "@ws/core";
 *
 * export const chat = defineService<{ name: string }>({
 *   protocols: ["chat"],
 *   upgrade(req) {
 *     const name = req.query.get("name");
 *     return name ? { data: { name } } : { reject: 401 }; // data becomes conn.data
 *   },
 *   connected(conn) {
 *     conn.subscribe("room");
 *   },
 *   received(message, conn) {
 *     conn.publish("room", `${conn.data.name}: ${String(message)}`);
 *   },
 *   disconnected(conn, code) {
 *     console.log(`${conn.data.name} left with ${code}`);
 *   },
 * });
 * ```
 */
export function defineService<Data = unknown>(service: Service<Data>): Service<Data> {
  return service;
}
