/**
 * What the protocol layer itself bounds: the budget that bounds what all the connections of a server together
 * hold of messages still being received, and the read queue's high-water mark. The defaults of every setting
 * (message size, timeouts, send buffer, …) are rows of the settings table (settings/table.ts); the constants
 * below are read from it.
 */
import { DEFAULT_MAX_FRAGMENTS, DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_MAX_PENDING_MESSAGE_BYTES } from "../settings/defaults.ts";

export { DEFAULT_MAX_FRAGMENTS, DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_MAX_PENDING_MESSAGE_BYTES };
/**
 * Bytes of received messages waiting for `read()` before reading from the peer pauses; each message counts
 * its payload plus `QUEUED_MESSAGE_OVERHEAD`, so the bound holds for empty messages too (at most 4096 queued).
 */
export const DEFAULT_READ_HIGH_WATER_MARK = 1024 * 1024;
/**
 * Bytes each message waiting in a read queue is charged on top of its payload: what holding one costs beyond
 * its bytes (measured on Node 22: a queued 1-byte Uint8Array takes about 220 bytes of heap, 270 of RSS).
 * Without it a flood of empty messages would queue for free.
 */
export const QUEUED_MESSAGE_OVERHEAD = 256;
/**
 * A queued binary message smaller than this fraction of the buffer it views (a socket read's chunk) is copied
 * out, so that it does not keep the whole chunk alive (1/8: a 64 KiB read buffer is kept only by messages of
 * 8 KiB and more).
 */
export const QUEUED_VIEW_COPY_RATIO = 8;
/**
 * ms a refused upgrade's socket stays open once its response is written and half-closed, for the client to read
 * the response and close; then it is destroyed, whatever the client does (one that never closes would otherwise
 * hold a descriptor for good). Not an option: 1000.
 */
export const REFUSED_UPGRADE_LINGER = 1_000;

/**
 * Memory shared by many connections: each reserves bytes before it holds them and gives them back when done.
 * A reservation that does not fit is refused, and the connection that asked closes (1013 Try Again Later).
 *
 * @example
 * ```ts
 * import { ProtocolState, ReceiveBudget, type ProtocolHandler } from "@ws/core/protocol";
 *
 * const budget = new ReceiveBudget(64 * 1024 * 1024); // one per server: 64 MiB for all unfinished messages together
 * export function connectionState(handler: ProtocolHandler): ProtocolState {
 *   return new ProtocolState({ role: "server", budget }, handler); // a message that does not fit closes with 1013
 * }
 * console.log(budget.reserve(1024), budget.used); // true 1024
 * budget.release(1024);
 * ```
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
