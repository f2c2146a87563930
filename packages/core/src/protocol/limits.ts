/**
 * What the protocol layer itself bounds: the budget that bounds what all the connections of a server together
 * hold of messages still being received, and the read queue's high-water mark. The defaults of every setting
 * (message size, timeouts, send buffer, …) are rows of the settings table (settings/table.ts); the constants
 * below are read from it.
 */
import { SETTINGS } from "../settings/table.ts";

/** Largest message accepted (all fragments together, after inflation), bytes; larger closes with 1009. */
export const DEFAULT_MAX_MESSAGE_SIZE: number = SETTINGS.maxMessageSize.default;
/** Most frames one message may be split into; more closes with 1009. */
export const DEFAULT_MAX_FRAGMENTS: number = SETTINGS.maxFragments.default;
/** Bytes of messages still being received that all connections of a server may hold together; beyond, 1013. */
export const DEFAULT_MAX_PENDING_MESSAGE_BYTES: number = SETTINGS.maxPendingMessageBytes.default;
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
