/**
 * Metrics hooks: what a server (or a client connection) reports as it works, for counters and histograms
 * (prom-client, OpenTelemetry, StatsD …). Dependency-free: the hooks are plain functions, any of them may be
 * left out, and a connection without them pays one `undefined` check per message. A hook that throws is
 * ignored (it never reaches the protocol). Hooks run synchronously, on the connection's path: keep them cheap.
 */
import type { CloseInfo } from "../protocol/protocol.ts";
import type { UpgradeRequest } from "../wire/handshake.ts";
import type { ProtocolViolationError } from "./errors.ts";
import type { MessageType } from "./transport.ts";

/** How a connection closed, for `metrics.closed`. */
export interface ClosedMetrics extends CloseInfo {
  /**
   * which side started the close: "local" (this side sent the first close frame, or dropped the connection:
   * `close()`, a limit, a protocol error, the close or connection timeout, a server shutting down) or "peer"
   * (the peer's close frame came first, or its connection went away without one)
   */
  initiatedBy: "local" | "peer";
  /** the most bytes the connection's send buffer held, sampled after each send (the send-buffer high-water) */
  peakBufferedAmount: number;
}

/** The connection as the hooks see it (a `Connection`; typed loosely so the hooks fit any `Connection<Data>`). */
export interface MeteredConnection {
  readonly id: string;
  readonly protocol: string | null;
  readonly request: UpgradeRequest;
  readonly bufferedAmount: number;
}

export interface MetricsHooks {
  /** a connection opened (before the service's `connected`) */
  opened(conn: MeteredConnection): void;
  /** a connection closed, once: its close code and reason, which side started, its send-buffer high-water */
  closed(conn: MeteredConnection, close: ClosedMetrics): void;
  /** the server refused an upgrade with HTTP `status` (404 no service, 400/426 bad handshake, 403/… the gate, 503 full or shutting down) */
  upgradeRefused(status: number, request: UpgradeRequest): void;
  /**
   * a whole message arrived: `bytes` is its payload size (for text, its UTF-8 length, counted only when this
   * hook is set). Messages received in fragments through `onFragment` are not reported.
   */
  messageIn(conn: MeteredConnection, type: MessageType, bytes: number): void;
  /** a message went to the transport: `bytes` as for messageIn (a pre-encoded frame — a broadcast — counts its frame size) */
  messageOut(conn: MeteredConnection, type: MessageType, bytes: number): void;
  /** a handler (a service hook or an on*() listener) threw or rejected: each time, unlike the bounded log */
  handlerError(conn: MeteredConnection, error: Error): void;
  /** the peer broke the protocol or a limit and the connection closes with `error.code` (once per connection) */
  protocolError(conn: MeteredConnection, error: ProtocolViolationError): void;
}

/** Calls one metrics hook, ignoring what it throws. */
export function meter<K extends keyof MetricsHooks>(
  metrics: Partial<MetricsHooks>,
  hook: K,
  ...args: Parameters<MetricsHooks[K]>
): void {
  const fn = metrics[hook] as ((...a: unknown[]) => void) | undefined;
  if (fn === undefined) return;
  try {
    fn.apply(metrics, args);
  } catch {
    // a metrics hook must not break the connection; nothing to report it to without flooding the log
  }
}

/** A thrown or rejected value as an Error (what the error hooks and `handlerError` receive). */
export function asError(e: unknown): Error {
  if (e instanceof Error) return e;
  const error = new Error(typeof e === "string" ? e : `non-Error thrown: ${String(e)}`);
  (error as Error & { thrown?: unknown }).thrown = e;
  return error;
}
