/**
 * A connection's event listeners (onText, onClose, …) and the guarded call of user code, for `Connection`
 * whatever its transport: what a listener throws or rejects with is logged once, never propagated into the
 * protocol or the runtime's event loop.
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

/** The listeners of one event: the one listener itself (most events have one, if any), else a list. */
type Slot = AnyListener | AnyListener[];

/** What has been logged of a connection's handler failures (created on the first failure). */
interface FailureLog {
  failures: number;
  unreported: number;
  latest: unknown;
  lastLogAt: number;
}

export class Listeners<Event extends string> {
  /** created on first use: most connections register one or two kinds of listener, if any */
  private lists: Partial<Record<Event, Slot>> | null = null;
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
    const lists: Partial<Record<Event, Slot>> = (this.lists ??= {});
    const slot = lists[event];
    if (slot === undefined) lists[event] = fn;
    else if (typeof slot === "function") lists[event] = [slot, fn];
    else slot.push(fn);
    return () => this.remove(event, fn);
  }

  private remove(event: Event, fn: AnyListener): void {
    const slot = this.lists?.[event];
    if (slot === fn) this.lists![event] = undefined;
    else if (Array.isArray(slot)) {
      const i = slot.indexOf(fn);
      if (i >= 0) slot.splice(i, 1);
    }
  }

  count(event: Event): number {
    const slot = this.lists?.[event];
    return slot === undefined ? 0 : typeof slot === "function" ? 1 : slot.length;
  }

  /** Calls each listener of `event` with `args` and the owner (one added meanwhile is called too, as it was in a list). */
  emit(event: Event, ...args: unknown[]): void {
    let slot = this.lists?.[event];
    if (slot === undefined) return;
    let i = 0;
    if (typeof slot === "function") {
      this.invoke(slot, args);
      slot = this.lists?.[event];
      if (!Array.isArray(slot)) return;
      i = 1; // it became a list while the one listener ran: the ones after it
    }
    for (; i < slot.length; i++) this.invoke(slot[i]!, args);
  }

  /** `emit` with one argument (each message, each ping): no array of arguments is made per call. */
  emitOne(event: Event, arg: unknown): void {
    let slot = this.lists?.[event];
    if (slot === undefined) return;
    let i = 0;
    if (typeof slot === "function") {
      this.invokeOne(slot, arg);
      slot = this.lists?.[event];
      if (!Array.isArray(slot)) return;
      i = 1; // it became a list while the one listener ran: the ones after it
    }
    for (; i < slot.length; i++) this.invokeOne(slot[i]!, arg);
  }

  private invokeOne(fn: AnyListener, arg: unknown): void {
    try {
      const r = (fn as (arg: unknown, owner: unknown) => unknown)(arg, this.owner);
      if (r instanceof Promise) r.catch((e: unknown) => this.reportError(e));
    } catch (e) {
      this.reportError(e);
    }
  }

  private invoke(fn: AnyListener, args: unknown[]): void {
    try {
      const r = (fn as (...a: unknown[]) => unknown)(...args, this.owner);
      if (r instanceof Promise) r.catch((e: unknown) => this.reportError(e));
    } catch (e) {
      this.reportError(e);
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
    if (this.failed === null) {
      this.failed = { failures: 1, unreported: 0, latest: undefined, lastLogAt: now };
      this.logger.error({ err: error, conn: this.id }, `connection ${this.id}: ${what}: ${error.message}`);
      return;
    }
    const f = this.failed;
    f.failures++;
    f.unreported++;
    f.latest = error;
    if (now - f.lastLogAt >= ERROR_SUMMARY_INTERVAL_MS) this.flushErrors(now);
  }

  /** Logs the summary line of failures not yet reported, if any. */
  flushErrors(now = Date.now()): void {
    const f = this.failed;
    if (f === null || f.unreported === 0) return;
    const latest = f.latest instanceof Error ? f.latest.message : String(f.latest);
    this.logger.error(
      { err: f.latest, conn: this.id, failures: f.failures },
      `connection ${this.id}: handler failed ${f.unreported} more time(s) (${f.failures} in all); latest: ${latest}`,
    );
    f.unreported = 0;
    f.latest = undefined;
    f.lastLogAt = now;
  }

  /** the failures logged so far (null until the first: most connections never have one) */
  private failed: FailureLog | null = null;
}

/** At most one summary line of repeated handler failures per connection in this interval. */
export const ERROR_SUMMARY_INTERVAL_MS = 10_000;
