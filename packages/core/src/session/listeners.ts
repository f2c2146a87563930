/**
 * A connection's event listeners (onText, onClose, …) and the guarded call of user code, shared by core's
 * `Connection` and the runtime engine's `MappedConnection`: what a listener throws or rejects with is logged
 * once, never propagated into the protocol or the runtime's event loop.
 */
import type { Logger } from "./errors.ts";
import { asError } from "./metrics.ts";

/**
 * The owner's side of a handler failure: called with the Error each time a listener throws or rejects (the
 * Connection's error hook and metrics), before the bounded log line.
 */
export const HANDLER_FAILED = Symbol("handlerFailed");
interface FailureSink {
  [HANDLER_FAILED]?(error: Error): void;
}

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
   * Reports what a handler threw: to the owner each time (its error hook), and to the log — bounded: a peer can
   * make a handler throw on every message, so only the first failure is logged (with its Error as `err`); later ones are counted and summed up in one line at most every
   * `ERROR_SUMMARY_INTERVAL_MS`, and once more when the connection closes (`flushErrors`).
   */
  reportError(e: unknown): void {
    const error = asError(e);
    (this.owner as FailureSink)[HANDLER_FAILED]?.(error);
    this.log(error, "handler failed");
  }

  /**
   * Logs a failure under the same bound as handler failures, without telling the owner (what an error hook
   * itself throws: reporting it to the hook again could recurse).
   */
  log(error: Error, what: string): void {
    const now = Date.now();
    if (this.failures++ === 0) {
      this.lastLogAt = now;
      this.logger.error({ err: error, conn: this.id }, `connection ${this.id}: ${what}: ${error.message}`);
      return;
    }
    this.unreported++;
    this.latest = error;
    if (now - this.lastLogAt >= ERROR_SUMMARY_INTERVAL_MS) this.flushErrors(now);
  }

  /** Logs the summary line of failures not yet reported, if any. */
  flushErrors(now = Date.now()): void {
    if (this.unreported === 0) return;
    const latest = this.latest instanceof Error ? this.latest.message : String(this.latest);
    this.logger.error(
      { err: this.latest, conn: this.id, failures: this.failures },
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
