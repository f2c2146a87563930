/** Errors the public API raises (never for something a peer did: that closes the connection instead). */

/**
 * `read({ timeout })` saw no message in time.
 *
 * @example
 * ```ts
 * import { defineService, ReadTimeoutError } from "@ws/core";
 *
 * defineService({
 *   async connected(conn) {
 *     const first = await conn.read({ timeout: 1_000 }).catch((error: unknown) => {
 *       if (error instanceof ReadTimeoutError) return null;
 *       throw error;
 *     });
 *     if (first === null) await conn.close(1008, "nothing said");
 *   },
 * });
 * ```
 */
export class ReadTimeoutError extends Error {
  override readonly name = "ReadTimeoutError";
  constructor(timeoutMs: number) {
    super(`no message within ${timeoutMs} ms`);
  }
}

/**
 * A send on a connection that is closing or closed (`conn.sendOrReject()`): `code` and `reason` are how it
 * closed, once it has (undefined while the close handshake is still under way).
 *
 * @example
 * ```ts
 * import { ConnectionClosedError, defineService } from "@ws/core";
 *
 * defineService({
 *   async connected(conn) {
 *     await conn.sendOrReject("welcome").catch((error: unknown) => {
 *       if (error instanceof ConnectionClosedError) console.log("gone before welcome", error.code, error.reason);
 *     });
 *   },
 * });
 * ```
 */
export class ConnectionClosedError extends Error {
  override readonly name = "ConnectionClosedError";
  readonly code: number | undefined;
  readonly reason: string | undefined;
  constructor(message = "the connection is closed", info?: { code: number; reason: string }) {
    super(message);
    this.code = info?.code;
    this.reason = info?.reason;
  }
}

/**
 * The peer broke the protocol or a limit (invalid UTF-8, a bad frame, a message over maxMessageSize, a message
 * not completed in time, …) and the connection is closing with `code` (1002, 1007, 1008, 1009, 1013). Not
 * thrown: it is what the error hooks (a service's `error`, the server's `onError`) receive.
 *
 * @example
 * ```ts
 * import { ProtocolViolationError } from "@ws/core";
 * import { serve } from "@ws/node";
 *
 * await serve({
 *   port: 8080,
 *   services: { "/echo": { received: (message, conn) => void conn.send(message) } },
 *   onError(error, conn) {
 *     if (error instanceof ProtocolViolationError) console.log(`${conn?.id} closed with ${error.code}: ${error.message}`);
 *   },
 * });
 * ```
 */
export class ProtocolViolationError extends Error {
  override readonly name = "ProtocolViolationError";
  /** the close code the connection closes with */
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * A send refused because the connection's send buffer is over its limit (backpressure policy "reject").
 *
 * @example
 * ```ts
 * import { BackpressureError, defineService } from "@ws/core";
 *
 * defineService({
 *   backpressure: "reject",
 *   async received(message, conn) {
 *     await conn.sendOrReject(message).catch(async (error: unknown) => {
 *       if (error instanceof BackpressureError) await conn.drained(); // wait for the peer, then go on
 *     });
 *   },
 * });
 * ```
 */
export class BackpressureError extends Error {
  override readonly name = "BackpressureError";
  readonly bufferedAmount: number;
  readonly limit: number;
  constructor(bufferedAmount: number, limit: number) {
    super(`send buffer holds ${bufferedAmount} bytes, over the limit of ${limit}`);
    this.bufferedAmount = bufferedAmount;
    this.limit = limit;
  }
}

/**
 * A feature the runtime or engine under this connection cannot provide.
 *
 * @example
 * ```ts
 * import { defineService, UnsupportedError } from "@ws/core";
 *
 * defineService({
 *   async connected(conn) {
 *     try {
 *       await conn.ping(); // Deno's runtime engine cannot send a ping
 *     } catch (error) {
 *       if (!(error instanceof UnsupportedError)) throw error;
 *     }
 *   },
 * });
 * ```
 */
export class UnsupportedError extends Error {
  override readonly name = "UnsupportedError";
}

/**
 * What a log line carries besides its message: `err` is the Error object itself (a handler's throw, a failing
 * gate), `conn` the connection's id; other fields as the line says (code, url, remoteAddress, …).
 */
export type LogContext = { err?: unknown; conn?: string } & Record<string, unknown>;

/**
 * Where the library logs: called pino-style, context object first and message second —
 * `logger.error({ err, conn }, "connection 3f2a: handler failed")` — the form pino takes as is (its `err`
 * serializer prints the stack) and that `console` prints as is (the object, the Error in it with its stack,
 * then the message). Bunyan and winston's `child()` loggers take it too.
 */
export interface Logger {
  /**
   * optional: what happens on every request (each refused upgrade). pino's and bunyan's `debug` are off by
   * default; without it (console, the default) such events are summed up at `info` once per interval.
   */
  debug?(context: LogContext, message: string): void;
  info(context: LogContext, message: string): void;
  warn(context: LogContext, message: string): void;
  error(context: LogContext, message: string): void;
}

/** What console prints after the message: the context, unless it is empty. */
const after = (c: LogContext): [LogContext] | [] => (Object.keys(c).length > 0 ? [c] : []);

/** The default logger: console, with the message first and "[ws]" before it for reading, then the context. */
export const consoleLogger: Logger = {
  info: (c, m) => console.log(`[ws] ${m}`, ...after(c)),
  warn: (c, m) => console.warn(`[ws] ${m}`, ...after(c)),
  error: (c, m) => console.error(`[ws] ${m}`, ...after(c)),
};

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
