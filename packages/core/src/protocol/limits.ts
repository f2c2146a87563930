/**
 * The default bounds on what a peer can make an endpoint hold, in one place (the README's "Limits and
 * defaults" table lists them beside ws's and Bun's), and the budget that bounds what all the connections of
 * a server together hold of messages still being received.
 */

/** Largest message accepted (all fragments together, after inflation), bytes; larger closes with 1009. */
export const DEFAULT_MAX_MESSAGE_SIZE = 16 * 1024 * 1024;
/** Most frames one message may be split into; more closes with 1009. */
export const DEFAULT_MAX_FRAGMENTS = 4096;
/** Bytes of messages still being received that all connections of a server may hold together; beyond, 1013. */
export const DEFAULT_MAX_PENDING_MESSAGE_BYTES = 256 * 1024 * 1024;
/** ms within which a message (or a frame) must be complete once its first byte arrived; else 1008. */
export const DEFAULT_MESSAGE_TIMEOUT = 60_000;
/** Bytes a server connection's send buffer may hold before the backpressure policy applies. */
export const DEFAULT_MAX_BUFFERED_AMOUNT = 16 * 1024 * 1024;
/**
 * Bytes that all connections of a server together may hold for their peers — what waits in their send buffers
 * and in their read queues — before the connection holding the most is dropped with 1008. Default 256 MiB: the
 * same as `DEFAULT_MAX_PENDING_MESSAGE_BYTES`, so that what peers can make a server hold is bounded near half a
 * GiB whatever `maxConnections` (10,000 × the 16 MiB per-connection send buffer would be 160 GiB).
 */
export const DEFAULT_MAX_SERVER_BUFFERED_AMOUNT = 256 * 1024 * 1024;
/** Seconds of silence after which a server pings, and as long again without an answer before it drops (1006). */
export const DEFAULT_CONNECTION_TIMEOUT = 120;
/** Most connections a server holds (counted from the upgrade decision); further upgrades get 503. */
export const DEFAULT_MAX_CONNECTIONS = 10_000;
/** ms for an upgrade request to be decided, the service's upgrade gate included; then 503. */
export const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;
/** ms to wait for the peer's close frame before dropping. */
export const DEFAULT_CLOSE_TIMEOUT = 5_000;
/**
 * Bytes per second of inflated (permessage-deflate) data a peer may make a connection produce; beyond it,
 * reading from that peer pauses until the rate is back under it. Inflating is the one step whose CPU cost is
 * not proportional to the bytes received (a 279-byte message can inflate to 256 KiB).
 */
export const DEFAULT_INFLATE_RATE = 32 * 1024 * 1024;
/** Bytes of received messages waiting for `read()` before reading from the peer pauses. */
export const DEFAULT_READ_HIGH_WATER_MARK = 1024 * 1024;

/**
 * Memory shared by many connections: each reserves bytes before it holds them and gives them back when done.
 * A reservation that does not fit is refused, and the connection that asked closes (1013 Try Again Later).
 */
export class ReceiveBudget {
  readonly limit: number;
  private usedBytes = 0;

  constructor(limit: number = DEFAULT_MAX_PENDING_MESSAGE_BYTES) {
    this.limit = limit;
  }

  /** Bytes reserved now, by all connections together. */
  get used(): number {
    return this.usedBytes;
  }

  /** Reserves `bytes`; false (and nothing reserved) when that would go over the limit. */
  reserve(bytes: number): boolean {
    if (this.usedBytes + bytes > this.limit) return false;
    this.usedBytes += bytes;
    return true;
  }

  release(bytes: number): void {
    this.usedBytes = Math.max(0, this.usedBytes - bytes);
  }
}
