/** Errors the public API raises (never for something a peer did: that closes the connection instead). */

/** `read({ timeout })` saw no message in time. */
export class ReadTimeoutError extends Error {
  override readonly name = "ReadTimeoutError";
  constructor(timeoutMs: number) {
    super(`no message within ${timeoutMs} ms`);
  }
}

/** A send on a connection that is closing or closed. */
export class ConnectionClosedError extends Error {
  override readonly name = "ConnectionClosedError";
  constructor(message = "the connection is closed") {
    super(message);
  }
}

/** A send refused because the connection's send buffer is over its limit (backpressure policy "reject"). */
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

/** A feature the runtime or engine under this connection cannot provide. */
export class UnsupportedError extends Error {
  override readonly name = "UnsupportedError";
}

export interface Logger {
  info(message: string, context?: Record<string, unknown>): void;
  warn(message: string, context?: Record<string, unknown>): void;
  error(message: string, context?: Record<string, unknown>): void;
}

export const consoleLogger: Logger = {
  info: (m, c) => console.log(`[ws] ${m}`, ...(c ? [c] : [])),
  warn: (m, c) => console.warn(`[ws] ${m}`, ...(c ? [c] : [])),
  error: (m, c) => console.error(`[ws] ${m}`, ...(c ? [c] : [])),
};

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
