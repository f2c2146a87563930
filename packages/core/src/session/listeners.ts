/**
 * A connection's event listeners (onText, onClose, …) and the guarded call of user code, shared by core's
 * `Connection` and the runtime engine's `MappedConnection`: what a listener throws or rejects with is logged
 * once, never propagated into the protocol or the runtime's event loop.
 */
import type { Logger } from "./errors.ts";

// Stored loosely typed: the public on*() methods check each listener's type; storing them as Listener<...,
// Connection<Data>> would make Connection invariant in Data and a Service<{ user: string }> unassignable
// to a server's Record<string, Service<unknown>>.
type AnyListener = (...args: never[]) => unknown;

export class Listeners<Event extends string> {
  /** created on first use: most connections register one or two kinds of listener, if any */
  private lists: Partial<Record<Event, AnyListener[]>> | null = null;
  private readonly owner: unknown;
  private readonly logger: Logger;
  private readonly id: string;

  /** `owner` (the connection) is passed to every listener after the event's own arguments; `id` names it in logs. */
  constructor(_events: readonly Event[], owner: unknown, logger: Logger, id: string) {
    this.owner = owner;
    this.logger = logger;
    this.id = id;
  }

  /** Adds a listener; returns the function that removes it. */
  add(event: Event, fn: (...args: never[]) => unknown): () => void {
    const lists: Partial<Record<Event, AnyListener[]>> = (this.lists ??= {});
    const list = (lists[event] ??= []);
    list.push(fn);
    return () => {
      const i = list.indexOf(fn);
      if (i >= 0) list.splice(i, 1);
    };
  }

  count(event: Event): number {
    return this.lists?.[event]?.length ?? 0;
  }

  /** Calls each listener of `event` with `args` and the owner. */
  emit(event: Event, ...args: unknown[]): void {
    const list = this.lists?.[event];
    if (!list) return;
    for (let i = 0; i < list.length; i++) {
      try {
        const r = (list[i] as (...a: unknown[]) => unknown)(...args, this.owner);
        if (r instanceof Promise) r.catch((e: unknown) => this.reportError(e));
      } catch (e) {
        this.reportError(e);
      }
    }
  }

  /** Runs a user callback: what it throws or rejects with is logged, never propagated. */
  call(fn: () => unknown): void {
    try {
      const r = fn();
      if (r instanceof Promise) r.catch((e: unknown) => this.reportError(e));
    } catch (e) {
      this.reportError(e);
    }
  }

  /**
   * Logs what a handler threw. A peer can make a handler throw on every message, so only the first failure is
   * logged with its stack; later ones are counted and summed up in one line at most every
   * `ERROR_SUMMARY_INTERVAL_MS`, and once more when the connection closes (`flushErrors`).
   */
  reportError(e: unknown): void {
    const now = Date.now();
    if (this.failures++ === 0) {
      this.lastLogAt = now;
      this.logger.error(`connection ${this.id}: handler failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      return;
    }
    this.unreported++;
    this.latest = e;
    if (now - this.lastLogAt >= ERROR_SUMMARY_INTERVAL_MS) this.flushErrors(now);
  }

  /** Logs the summary line of failures not yet reported, if any. */
  flushErrors(now = Date.now()): void {
    if (this.unreported === 0) return;
    const latest = this.latest instanceof Error ? this.latest.message : String(this.latest);
    this.logger.error(
      `connection ${this.id}: handler failed ${this.unreported} more time(s) (${this.failures} in all); latest: ${latest}`,
    );
    this.unreported = 0;
    this.latest = undefined;
    this.lastLogAt = now;
  }

  private failures = 0;
  private unreported = 0;
  private latest: unknown;
  private lastLogAt = 0;
}

/** At most one summary line of repeated handler failures per connection in this interval. */
export const ERROR_SUMMARY_INTERVAL_MS = 10_000;
