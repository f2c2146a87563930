/**
 * The server-wide bound on what connections hold for their peers: the bytes waiting in their send buffers
 * (what the socket has not yet handed to the operating system) and in their read queues (received messages
 * no handler took). Each connection reports what it holds when that changes; when the total goes over the
 * limit, the budget recounts the send buffers (a stream can empty without telling) and, while still over,
 * drops the connection that holds the most with 1008 Policy Violation, one log line each. Dropping frees its
 * send buffer at once (nothing more is written to it), which a close handshake behind a full buffer would not.
 *
 * Bytes are counted per connection, as its own `bufferedAmount` counts them: a broadcast frame written to many
 * connections is one buffer in memory but counted once per connection that holds it, so the bound holds on
 * memory whatever is shared.
 */
import { CloseCode } from "../wire/close-codes.ts";
import { DEFAULT_MAX_SERVER_BUFFERED_AMOUNT } from "../settings/defaults.ts";
import { consoleLogger, type Logger } from "./errors.ts";

/** A connection as the budget sees it (the core engine's `ProtocolTransport`). */
export interface BufferHolder {
  /** names the connection in the log line */
  readonly label: string;
  /** bytes its send buffer holds now (reread when the budget recounts) */
  readonly bufferedAmount: number;
  /** closes it at once: a close frame is attempted, what waits is dropped, `code` is reported */
  drop(code: number | undefined, reason: string): void;
  /** the budget's record of what it holds, kept on the holder (null while it holds nothing) */
  bufferShare: BufferShare | null;
}

/** What one holder holds, as it last reported (the send side recounted when the budget is over its limit). */
export interface BufferShare {
  send: number;
  read: number;
}

/**
 * The accountant behind `maxServerBufferedAmount`, one per server (`ServerCore.buffers`): connections report
 * what they hold, the budget keeps the total and applies the policy (see the module's comment).
 *
 * @example
 * ```ts
 * import { BufferBudget, type BufferHolder } from "@ws/core/adapter";
 *
 * const budget = new BufferBudget(64 * 1024, console); // ServerCore keeps one: `maxServerBufferedAmount`
 * const holder: BufferHolder = {
 *   label: "conn-1",
 *   bufferedAmount: 48 * 1024,
 *   drop: (code, reason) => console.log("dropped", code, reason),
 *   bufferShare: null,
 * };
 * budget.send(holder, 48 * 1024); // what its send buffer holds now
 * console.log(budget.used); // 49152
 * budget.read(holder, 32 * 1024); // over the limit: the connection holding the most is dropped with 1008
 * console.log(budget.dropped); // 1
 * ```
 */
export class BufferBudget {
  /** bytes; Infinity: no bound (nothing is tracked) */
  readonly limit: number;
  private readonly logger: Logger;
  private usedBytes = 0;
  private peakBytes = 0;
  private droppedCount = 0;
  /** the holders that hold anything (an idle connection is not here) */
  private readonly holders = new Set<BufferHolder>();
  private enforcing = false;

  constructor(limit: number = DEFAULT_MAX_SERVER_BUFFERED_AMOUNT, logger: Logger = consoleLogger) {
    this.limit = limit;
    this.logger = logger;
  }

  /** Bytes held now by all connections together, as last reported (at most the limit once the policy has run). */
  get used(): number {
    return this.usedBytes;
  }

  /** The most `used` has been after the policy ran. */
  get peak(): number {
    return this.peakBytes;
  }

  /** Connections dropped by the policy so far. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** `holder`'s send buffer holds `bytes` now. */
  send(holder: BufferHolder, bytes: number): void {
    const entry = this.entry(holder, bytes);
    if (entry === null) return;
    this.usedBytes += bytes - entry.send;
    entry.send = bytes;
    this.settle(holder, entry);
  }

  /** `holder`'s read queue holds `bytes` now. */
  read(holder: BufferHolder, bytes: number): void {
    const entry = this.entry(holder, bytes);
    if (entry === null) return;
    this.usedBytes += bytes - entry.read;
    entry.read = bytes;
    this.settle(holder, entry);
  }

  /** `holder` has closed: what it held no longer counts. */
  release(holder: BufferHolder): void {
    const entry = holder.bufferShare;
    if (entry === null) return;
    this.usedBytes -= entry.send + entry.read;
    holder.bufferShare = null;
    this.holders.delete(holder);
  }

  private entry(holder: BufferHolder, bytes: number): BufferShare | null {
    const entry = holder.bufferShare;
    if (entry !== null) return entry;
    if (bytes === 0 || this.limit === Infinity) return null;
    const created: BufferShare = { send: 0, read: 0 };
    holder.bufferShare = created;
    this.holders.add(holder);
    return created;
  }

  private settle(holder: BufferHolder, entry: BufferShare): void {
    if (entry.send === 0 && entry.read === 0) {
      holder.bufferShare = null;
      this.holders.delete(holder);
    }
    if (this.usedBytes > this.limit) this.enforce();
    if (this.usedBytes > this.peakBytes) this.peakBytes = this.usedBytes;
  }

  /** Over the limit: recount the send buffers, then drop the largest holders until the total fits. */
  private enforce(): void {
    if (this.enforcing) return; // a drop reports back here
    this.enforcing = true;
    try {
      let total = 0;
      for (const holder of this.holders) {
        const entry = holder.bufferShare!;
        entry.send = holder.bufferedAmount;
        total += entry.send + entry.read;
      }
      this.usedBytes = total;
      while (this.usedBytes > this.limit) {
        let largest: BufferHolder | null = null;
        let most = 0;
        for (const holder of this.holders) {
          const bytes = holder.bufferShare!.send + holder.bufferShare!.read;
          if (bytes > most) {
            largest = holder;
            most = bytes;
          }
        }
        if (largest === null) break;
        this.logger.warn(
          { conn: largest.label, code: CloseCode.PolicyViolation },
          `connection ${largest.label}: closing with 1008: all connections hold ${this.usedBytes} bytes for their peers, over maxServerBufferedAmount (${this.limit}), and it holds the most (${most})`,
        );
        this.droppedCount++;
        this.release(largest);
        largest.drop(CloseCode.PolicyViolation, "server buffer limit exceeded");
        this.release(largest); // whatever it reported while closing
      }
    } finally {
      this.enforcing = false;
    }
  }
}
