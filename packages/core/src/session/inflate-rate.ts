/**
 * The inflate-rate limiter (`inflateRate`): a token bucket of `rate` bytes of inflated data per second, holding
 * at most one second's worth. A message that takes it below zero holds reading from the peer until the debt is
 * paid back: no message is dropped or delayed once read; the peer just gets read more slowly. A connection
 * gets one the first time it inflates a message (most connections never compress).
 */
import { ReadGate } from "./read-queue.ts";

/** What the limiter pauses and resumes: the transport. */
export interface InflateRateHost {
  /** the connection's read gate (the limiter holds and lets it with `ReadGate.INFLATE_RATE`) */
  readonly readFlow: ReadGate;
  /** lets the runtime exit while only this timer is pending */
  unrefTimer(timer: unknown): void;
}

export class InflateRate {
  private readonly rate: number;
  private readonly host: InflateRateHost;
  /** bytes that may still be inflated now (negative: the debt that holds reading) */
  private credit: number;
  /** ms of the last update */
  private at = Date.now();
  /** pending resume of reading */
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** the one log line per connection has been written */
  private logged = false;
  /** the connection has ended: reading is never resumed */
  private stopped = false;

  /** `rate`: bytes per second, finite */
  constructor(rate: number, host: InflateRateHost) {
    this.rate = rate;
    this.host = host;
    this.credit = rate;
  }

  /**
   * Charges `bytes` of inflated data. True the first time on this connection that the debt pauses reading
   * (for the caller's one log line).
   */
  charge(bytes: number): boolean {
    this.refill();
    this.credit -= bytes;
    if (this.credit >= 0 || this.timer !== null || this.stopped) return false;
    this.host.readFlow.hold(ReadGate.INFLATE_RATE);
    this.wait();
    if (this.logged) return false;
    this.logged = true;
    return true;
  }

  /** The connection has ended: the pending resume, if any, is cancelled. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
  }

  /** Credits what `rate` bytes per second earned since the last update, up to one second's worth. */
  private refill(): void {
    const now = Date.now();
    this.credit = Math.min(this.rate, this.credit + ((now - this.at) * this.rate) / 1000);
    this.at = now;
  }

  /** Resumes reading once the debt is paid back. */
  private wait(): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.stopped) return;
      this.refill();
      if (this.credit < 0) return this.wait();
      this.host.readFlow.let(ReadGate.INFLATE_RATE);
    }, Math.max(1, Math.ceil((-this.credit / this.rate) * 1000)));
    this.host.unrefTimer(this.timer);
  }
}
