/**
 * How a server logs refused upgrades: never one line per request at the levels a server logs at by default. A
 * refusal is what a scanner, a client with a stale token or a flood makes on every request, so a line each (with
 * the peer's path in it) let 5,000 refusals with 8 KiB paths write 40 MB.
 */
import type { Logger } from "../session/errors.ts";
import { logText } from "../session/log-text.ts";
import type { UpgradeRequest } from "../wire/handshake.ts";

/** ms between two summary lines of refused upgrades. */
export const REFUSAL_LOG_INTERVAL = 10_000;

/**
 * The refusals' log: each refusal at `debug`, when the logger has it (pino, bunyan: a level off by default), and
 * at `info` one line at most per `REFUSAL_LOG_INTERVAL` — the first refusal after a quiet interval as itself
 * (status, reason, path), then one line per interval with how many there were by status ("1000 upgrades refused
 * in the last 10 s (404 ×990, 401 ×10)") for as long as they go on. What came from the peer (the path, a reason
 * that repeats it) is cut to 200 chars with its control characters escaped (`logText`).
 *
 * @example
 * ```ts
 * import { RefusalLog } from "@ws/core/adapter";
 * import { HeaderMap, createUpgradeRequest } from "@ws/core/protocol";
 *
 * const refusals = new RefusalLog(console); // ServerCore keeps one; console and pino loggers fit
 * const req = createUpgradeRequest({ method: "GET", url: "/admin", httpVersion: "1.1", headers: new HeaderMap() });
 * refusals.record(404, "no service at /admin", req); // the first after a quiet interval: logged as itself
 * refusals.record(404, "no service at /admin", req); // counted for the summary line
 * refusals.flush(); // the summary now: "… upgrades refused in the last … (404 ×…)"
 * ```
 */
export class RefusalLog {
  private readonly logger: Logger;
  private readonly interval: number;
  /** refusals since the last line, by status */
  private readonly counts = new Map<number, number>();
  private total = 0;
  /** running while the last line is less than an interval old */
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(logger: Logger, interval = REFUSAL_LOG_INTERVAL) {
    this.logger = logger;
    this.interval = interval;
  }

  record(status: number, reason: string, req: UpgradeRequest): void {
    const debug = this.logger.debug;
    // console.debug is no level: it prints like console.log, so console gets the summaries only
    if (debug && this.logger !== (globalThis as { console?: unknown }).console) {
      debug.call(this.logger, { status, url: logText(req.url), remoteAddress: req.remoteAddress }, `upgrade refused (${status}): ${logText(reason)}`);
    }
    if (this.timer === undefined) {
      this.logger.info(
        { status, url: logText(req.url), remoteAddress: req.remoteAddress },
        `upgrade refused (${status}): ${logText(reason)} (further refusals: one line per ${this.interval / 1000} s)`,
      );
      this.schedule();
      return;
    }
    this.counts.set(status, (this.counts.get(status) ?? 0) + 1);
    this.total++;
  }

  /** Logs what was counted and not yet logged, and stops the timer (the server is closing). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.summary();
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // a summary line opens a new interval; a quiet interval ends the summaries (the next refusal is logged as itself)
      if (this.summary()) this.schedule();
    }, this.interval);
    (this.timer as { unref?: () => void }).unref?.();
  }

  private summary(): boolean {
    if (this.total === 0) return false;
    const byStatus = [...this.counts].sort((a, b) => b[1] - a[1]).map(([status, n]) => `${status} ×${n}`).join(", ");
    const refused = Object.fromEntries(this.counts);
    this.logger.info({ refused }, `${this.total} upgrade${this.total === 1 ? "" : "s"} refused in the last ${this.interval / 1000} s (${byStatus})`);
    this.counts.clear();
    this.total = 0;
    return true;
  }
}
