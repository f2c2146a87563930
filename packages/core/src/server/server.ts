/**
 * The runtime-agnostic half of a WebSocket server: routing, connection bookkeeping, topics and graceful
 * shutdown; the handshake decision is upgrade-decision.ts's, which this server owns. An adapter only turns its runtime's upgrade request into an UpgradeRequest,
 * its socket into a ByteStream, and writes what this decides.
 */
import type { ByteStream } from "../session/byte-stream.ts";
import { CloseCode } from "../wire/close-codes.ts";
import { Connection, type Message, type SendData } from "../session/connection.ts";
import { HeartbeatQueue } from "../session/heartbeat.ts";
import { BufferBudget } from "../session/buffer-budget.ts";
import { consoleLogger, type Logger } from "../session/errors.ts";
import { logText } from "../session/log-text.ts";
import { RefusalLog } from "./refusal-log.ts";
import { asError, type MetricsHooks } from "../session/metrics.ts";
import { buildRejectResponse, releaseRawRequest, type UpgradeRequest } from "../wire/handshake.ts";
import { checkServerOptions, hooklessService } from "./options.ts";
import { Router, type RouteMatch } from "./router.ts";
import type { Service } from "./service.ts";
import { TopicHub, type TopicBroker } from "./topics.ts";
import { encodeUtf8 } from "../wire/utf8.ts";
import { ReceiveBudget } from "../protocol/limits.ts";
import { resolveSettings, type Settings } from "../settings/resolve.ts";
import type { ServerSettings } from "../settings/options.generated.ts";
import type { PerMessageDeflate, PerMessageDeflateOptions } from "../wire/deflate.ts";
import type { AdapterPlumbing } from "./plumbing.ts";
import { acceptResponse, UpgradeDecision, type ConnectionSlot, type UpgradeOutcome, type UpgradeVerdict } from "./upgrade-decision.ts";

export type { ConnectionSlot, UpgradeOutcome, UpgradeVerdict } from "./upgrade-decision.ts";

/**
 * A server's options, the same on every adapter: `services` and `resolve` (what each path serves), the
 * server-wide and connection settings (limits, timeouts; see the settings table), `perMessageDeflate`,
 * `logger`, `onError`, `metrics` and `broker`. The adapters' `serve()`, `attach()` and `handler()` add their own.
 */
export interface ServerOptions extends ServerSettings {
  /** services by path, or a Router to register and unregister on at run time */
  services?: Record<string, Service<unknown>> | Router;
  /**
   * the service for an upgrade no registered path or pattern matches (`req.params` is empty), or undefined
   * for 404. Synchronous, so whether an upgrade is this server's is known at once (`attach()` leaves the
   * upgrades it does not claim to the server's other 'upgrade' listeners); refuse asynchronously in the
   * service's `upgrade` gate.
   */
  resolve?(req: UpgradeRequest): Service<unknown> | undefined;
  /**
   * permessage-deflate (RFC 7692): `true` or the server's preferences to accept it when a client offers
   * it.
   * @defaultValue `false` (off)
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /**
   * Where the server logs, called pino-style: `logger.error({ err, conn }, message)` (see `Logger`); `console`
   * and pino loggers fit as they are. Default: console.
   */
  logger?: Logger;
  /**
   * Called with every Error the server sees: what a service hook or connection listener threw or rejected with
   * (`conn` set; each time, after the service's own `error` hook), a `ProtocolViolationError` (with its close
   * `code`) when a peer broke the protocol or a limit, and failures of `resolve` or an upgrade gate (no
   * `conn`). The log keeps its bound (one line per connection, then a summary at most every 10 s); this hook
   * is not bounded, so keep it cheap. What it throws or rejects with is logged, never passed to it again.
   */
  onError?(error: Error, conn?: Connection<unknown>): unknown;
  /**
   * Metrics hooks (`MetricsHooks`): connections opened and closed (code, who started, send-buffer
   * high-water), upgrades refused (status), messages and bytes in and out, handler and protocol errors. Any
   * may be left out; unset, nothing is measured. Works the same on every engine.
   */
  metrics?: Partial<MetricsHooks>;
  /**
   * Connects this server's topics to other processes' (e.g. `RedisBroker` from @ws/redis): `publish` here
   * reaches their subscribers, theirs reach ours. The server owns it from then on: `close()` closes it.
   */
  broker?: TopicBroker;
}

type ErrorHook = (error: Error, conn: Connection<unknown>) => unknown;

/**
 * The service's error hook, then the server's, as one: both run even when the first throws; the result
 * throws the first synchronous failure or rejects with the first rejection, for the connection to log.
 */
function errorHooks(first: ErrorHook | undefined, second: ErrorHook | undefined): ErrorHook | undefined {
  if (!first || !second) return first ?? second;
  return (error, conn) => {
    let thrown: { e: unknown } | null = null;
    const results: unknown[] = [];
    for (const hook of [first, second]) {
      try {
        results.push(hook(error, conn));
      } catch (e) {
        thrown ??= { e };
      }
    }
    const pending = results.filter((r): r is Promise<unknown> => r instanceof Promise);
    if (thrown) {
      for (const p of pending) p.catch(() => {}); // the synchronous failure is the one reported
      throw thrown.e;
    }
    return pending.length > 0 ? Promise.all(pending) : undefined;
  };
}

/**
 * The runtime-agnostic server under every adapter: routing, the upgrade decision, connection bookkeeping, topics and
 * graceful shutdown. An adapter turns its runtime's upgrade request into an UpgradeRequest and its socket into a
 * ByteStream, asks `negotiate`, and writes what it answers.
 *
 * @example
 * ```ts
 * import { defineService } from "@ws/core";
 * import { ServerCore, connectOverStream, type ByteStream } from "@ws/core/adapter";
 * import { HttpHeadError, buildRejectResponse, concatChunks, createUpgradeRequest, encodeUtf8, parseHttpHead } from "@ws/core/protocol";
 * import { memoryStreamPair } from "@ws/core/testing";
 *
 * const core = new ServerCore({ services: { "/echo": defineService({ received: (message, conn) => void conn.send(message) }) } });
 *
 * // What an adapter does with each new socket (wrapped as a ByteStream): read the head, let the core decide.
 * function serveStream(stream: ByteStream): void {
 *   let received: Uint8Array = new Uint8Array(0);
 *   let deciding = false;
 *   stream.start({
 *     data(chunk) {
 *       received = concatChunks([received, chunk]);
 *       const head = deciding ? null : parseHttpHead(received);
 *       if (head === null) return; // more to come (or decided already)
 *       deciding = true;
 *       if (head instanceof HttpHeadError) {
 *         stream.write(encodeUtf8(buildRejectResponse(head.status, head.message)));
 *         return stream.end();
 *       }
 *       const [method, url, version] = head.startLine;
 *       const req = createUpgradeRequest({ method, url, httpVersion: version.slice(5), headers: head.headers });
 *       void core.negotiate(req).then((outcome) => {
 *         if (!outcome.ok) return void (stream.write(outcome.response), stream.end()); // 400, 404, 503, …
 *         outcome.accept(stream, received.subarray(head.length)); // writes the 101, opens the Connection
 *       });
 *     },
 *     drain() {},
 *     end() {},
 *     close() {},
 *   });
 * }
 *
 * const [clientEnd, serverEnd] = memoryStreamPair(); // a TCP connection on a real runtime
 * serveStream(serverEnd);
 * const conn = await connectOverStream(clientEnd, "ws://localhost/echo");
 * await conn.send("hello");
 * console.log(await conn.read()); // "hello"
 * await conn.close();
 * await core.close();
 * ```
 */
export class ServerCore {
  readonly router: Router;
  readonly hub: TopicHub;
  readonly connections: Set<Connection<unknown>> = new Set();
  readonly logger: Logger;
  /** refused upgrades: at debug each, at info one line per interval */
  private readonly refusals: RefusalLog;
  private readonly options: ServerOptions;
  /** what the runtime adapter gave: its DEFLATE primitive, buffer type, native SHA-1 */
  private readonly plumbing: AdapterPlumbing;
  /** the upgrade decision (upgrade-decision.ts): its connection slots, whether upgrades are still taken */
  private readonly upgrades: UpgradeDecision;
  /** the server's settings, resolved (a service's connections read `settingsFor(service)`) */
  readonly settings: Settings;
  /** where deprecation warnings go */
  private readonly warn = (message: string) => this.logger.warn({}, message);
  /** what all connections together hold of messages still being received */
  readonly budget: ReceiveBudget;
  /** what all connections together hold for their peers, send buffers and read queues (maxServerBufferedAmount) */
  readonly buffers: BufferBudget;

  /** `plumbing`: what the runtime adapter gives (AdapterPlumbing), apart from the user's options */
  constructor(options: ServerOptions = {}, plumbing: AdapterPlumbing = {}) {
    checkServerOptions(options);
    this.options = options;
    this.plumbing = plumbing;
    this.logger = options.logger ?? consoleLogger;
    this.refusals = new RefusalLog(this.logger);
    const settings = (this.settings = resolveSettings("server", [options], this.warn));
    this.budget = new ReceiveBudget(settings.maxPendingMessageBytes);
    this.buffers = new BufferBudget(settings.maxServerBufferedAmount, this.logger);
    this.hub = new TopicHub({
      broker: options.broker,
      settings,
      logger: this.logger,
      allocate: plumbing.allocate,
    });
    this.router =
      options.services instanceof Router
        ? options.services
        : new Router((options.services ?? {}) as Record<string, Service<unknown>>);
    this.upgrades = new UpgradeDecision({
      settings,
      connections: this.connections,
      logger: this.logger,
      refusals: this.refusals,
      metrics: options.metrics,
      failed: (e) => this.serverError(e),
    });
  }

  /**
   * Warns, once each, of the services with no hooks (`hooklessService`): those registered now, and those
   * registered later through the router. Called by the adapters' entry points (serve(), attach(), the runtime
   * engines' handlers), not by the constructor: core's own tests and tools build servers of hookless services.
   */
  warnHooklessServices(): void {
    const hookless = (path: string, service: Service<unknown>) => {
      const warning = hooklessService(path, service);
      if (warning) this.logger.warn({}, warning);
    };
    for (const [path, service] of this.router.entries()) hookless(path, service);
    this.router.registered = hookless;
  }

  /** Open connections. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Bytes all connections hold for their peers now, send buffers and read queues (see maxServerBufferedAmount). */
  get bufferedBytes(): number {
    return this.buffers.used;
  }

  /** Upgrades decided or at the gate, not yet open: they count against maxConnections too. */
  get pendingUpgrades(): number {
    return this.upgrades.pending;
  }

  /**
   * The service for a request: a registered path, else a pattern (with its parameters), else the `resolve`
   * option; null when none. Never throws (a failing `resolve` is logged and counts as none).
   */
  route(req: UpgradeRequest): RouteMatch | null {
    const matched = this.router.route(req.url);
    if (matched) return matched;
    if (!this.options.resolve) return null;
    try {
      const service = this.options.resolve(req);
      return service ? { service, params: req.params } : null;
    } catch (e) {
      this.logger.error({ err: e, url: logText(req.url) }, `resolve failed: ${e instanceof Error ? e.message : String(e)}`);
      this.serverError(e);
      return null;
    }
  }

  /**
   * Decides an upgrade request: route (`route`, unless the caller routed it already), validate (RFC 6455
   * §4.2.1), limit, gate, subprotocol. Sets `req.params` before the gate runs. Never throws.
   */
  decide(req: UpgradeRequest, route: RouteMatch | null = this.route(req)): Promise<UpgradeVerdict> {
    return Promise.resolve(this.decideNow(req, route));
  }

  /**
   * Counts and logs an upgrade request that was answered without a 101 by something other than the decision: a
   * fetch handler's own refusal (status and reason as written to the peer). The decision's refusals are counted
   * by the decision.
   */
  refusedElsewhere(req: UpgradeRequest, status: number, reason: string): void {
    this.upgrades.record(req, status, reason);
  }

  /** `decide`, synchronous unless the service has an upgrade gate (then the promise of its verdict). Never throws. */
  decideNow(req: UpgradeRequest, route: RouteMatch | null = this.route(req)): UpgradeVerdict | Promise<UpgradeVerdict> {
    return this.upgrades.decide(req, route);
  }

  /**
   * Decides an upgrade request (`decide`; `route` as there) and negotiates permessage-deflate: the response to
   * write. Never throws.
   */
  negotiate(req: UpgradeRequest, route: RouteMatch | null = this.route(req)): Promise<UpgradeOutcome> {
    return Promise.resolve(this.negotiateNow(req, route));
  }

  /**
   * `negotiate`, synchronous unless the service has an upgrade gate (then the promise of the outcome): an
   * adapter answers a request without a gate within the same event-loop turn. Never throws.
   */
  negotiateNow(req: UpgradeRequest, route: RouteMatch | null = this.route(req)): UpgradeOutcome | Promise<UpgradeOutcome> {
    const verdict = this.decideNow(req, route);
    return verdict instanceof Promise ? verdict.then((v) => this.outcome(req, v)) : this.outcome(req, verdict);
  }

  private outcome(req: UpgradeRequest, verdict: UpgradeVerdict): UpgradeOutcome {
    if (!verdict.ok) {
      const { status, reason, headers } = verdict;
      return { ok: false, status, reason, response: encodeUtf8(buildRejectResponse(status, reason, headers)), headers };
    }
    const { service, protocol, data } = verdict;
    const accepted = acceptResponse(verdict, this.options.perMessageDeflate, this.plumbing.deflateCodec, this.plumbing.acceptKey);
    const { deflate, extensions } = accepted;
    const response = encodeUtf8(accepted.response);
    return {
      ok: true,
      protocol,
      response,
      headers: accepted.headers,
      accept: (stream, head) => {
        stream.write(response);
        return this.open(stream, req, service, protocol, data, head, deflate, extensions, verdict.slot);
      },
      open: (stream) => this.open(stream, req, service, protocol, data, undefined, deflate, extensions, verdict.slot),
      release: () => verdict.slot.release(),
    };
  }

  private open(
    stream: ByteStream,
    request: UpgradeRequest,
    service: Service<unknown>,
    protocol: string | null,
    data: unknown,
    head: Uint8Array | undefined,
    deflate: PerMessageDeflate | undefined,
    extensions: string,
    slot: ConnectionSlot,
  ): Connection<unknown> {
    const s = this.settingsFor(service);
    const hooks = this.hooksFor(service);
    // one options object with its fields named (no spreads: this runs for every connection)
    const conn = Connection.overStream<unknown>(stream, {
      role: "server",
      request,
      protocol,
      extensions,
      deflate,
      logger: this.logger,
      hub: this.hub,
      budget: this.budget,
      bufferBudget: this.buffers,
      heartbeat: this.heartbeatFor(s.idleTimeout),
      settings: s,
      onError: hooks.error,
      metrics: this.options.metrics,
    });
    if (deflate) this.hub.setDeflate(conn, deflate);
    this.adopt(conn, service, data, head, slot);
    return conn;
  }

  /**
   * The settings of a connection to `service`: the service's own, else the server's, else the table's
   * defaults (settings/table.ts). Resolved once per service: all its connections read the same frozen object.
   */
  settingsFor(service: Service<unknown>): Settings {
    let settings = this.serviceSettings.get(service);
    if (!settings) this.serviceSettings.set(service, (settings = resolveSettings("server", [service, this.options], this.warn)));
    return settings;
  }

  /** each service's settings, resolved (a WeakMap: a service made per request goes with its last connection) */
  private readonly serviceSettings = new WeakMap<Service<unknown>, Settings>();

  /** the keepalive queues, one per interval: one timer for all the connections with the same idleTimeout */
  private readonly heartbeats = new Map<number, HeartbeatQueue>();

  /** The heartbeat queue for connections with `idleTimeout` (ms; the keepalive ticks at half of it). */
  heartbeatFor(idleTimeout: number): HeartbeatQueue | undefined {
    if (!idleTimeout) return undefined;
    const interval = idleTimeout / 2;
    let queue = this.heartbeats.get(interval);
    if (!queue) this.heartbeats.set(interval, (queue = new HeartbeatQueue(interval)));
    return queue;
  }

  /**
   * Takes a new connection into the server: gives it the gate's `data`, counts it, wires it to its service
   * (`connected`, `received`, `disconnected`) and starts it (`head`: bytes read past the request). Engines
   * that map a runtime's own WebSocket onto the Connection API hand their connections in here too.
   * `resumed`: the connection was open before (a Durable Object rebuilding its connections after hibernation):
   * the service's `connected` already ran for it and is not called again.
   */
  adopt(
    conn: Connection<unknown>,
    service: Service<unknown>,
    data: unknown,
    head?: Uint8Array,
    slot?: ConnectionSlot,
    options: { resumed?: boolean } = {},
  ): void {
    conn.data = data;
    this.connections.add(conn);
    slot?.release(); // counted in `connections` from now on
    // one pair of listeners per service, shared by all its connections (listeners get the connection last)
    const hooks = this.hooksFor(service);
    conn.onClose(hooks.closed);
    if (hooks.received) conn.onMessage(hooks.received);
    conn.start(head, service.connected && !options.resumed ? () => service.connected!(conn) : undefined);
    // the gate and `connected` have had the runtime's request: an open connection does not keep it alive
    if (!(service.keepRawRequest ?? this.options.keepRawRequest)) releaseRawRequest(conn.request);
  }

  /**
   * What a connection to `service` reports its errors and metrics to: the service's `error` hook and the
   * server's `onError` (one function per service, shared by its connections), the server's metrics hooks.
   */
  observersFor(service: Service<unknown>): { onError?: (error: Error, conn: Connection) => unknown; metrics?: Partial<MetricsHooks> } {
    const onError = this.hooksFor(service).error;
    const metrics = this.options.metrics;
    return { ...(onError ? { onError } : {}), ...(metrics ? { metrics } : {}) };
  }

  /** A failure with no connection (resolve, an upgrade gate) to `onError`, guarded. */
  private serverError(e: unknown): void {
    const onError = this.options.onError;
    if (!onError) return;
    const failed = (f: unknown) => this.logger.error({ err: f }, `onError failed: ${f instanceof Error ? f.message : String(f)}`);
    try {
      const r = onError(asError(e));
      if (r instanceof Promise) r.catch(failed);
    } catch (f) {
      failed(f);
    }
  }

  /** weak: a service `resolve()` made for one request goes, with its hooks, once its connections have closed */
  private readonly serviceHooks = new WeakMap<
    Service<unknown>,
    {
      closed: (code: number, reason: string, conn: Connection<unknown>) => unknown;
      received?: (message: Message, conn: Connection<unknown>) => unknown;
      error?: (error: Error, conn: Connection<unknown>) => unknown;
    }
  >();

  private hooksFor(service: Service<unknown>) {
    let hooks = this.serviceHooks.get(service);
    if (!hooks) {
      hooks = {
        closed: (code, reason, conn) => {
          this.connections.delete(conn);
          return service.disconnected?.(conn, code, reason);
        },
        received: service.received ? (message, conn) => service.received!(message, conn) : undefined,
        error: errorHooks(service.error ? (error, conn) => service.error!(conn, error) : undefined, this.options.onError?.bind(this.options)),
      };
      this.serviceHooks.set(service, hooks);
    }
    return hooks;
  }

  /** Sends to every subscriber of `topic`. Returns how many connections it was written to. */
  publish(topic: string, message: SendData): number {
    return this.hub.publish(topic, message);
  }

  subscriberCount(topic: string): number {
    return this.hub.subscriberCount(topic);
  }

  /** Published messages left out under `publishBackpressure: "skip"`: for one connection, or in all. */
  skippedMessages(conn?: Connection<unknown>): number {
    return this.hub.skipped(conn);
  }

  /**
   * Graceful shutdown: refuses new upgrades, sends every connection a close frame (1001 Going Away by
   * default), waits for the handshakes up to `timeout` ms, then drops the rest.
   */
  async close(options: { code?: number; reason?: string; timeout?: number } = {}): Promise<void> {
    this.upgrades.closing = true;
    const code = options.code ?? CloseCode.GoingAway;
    const reason = options.reason ?? "server shutting down";
    const all = [...this.connections];
    for (const conn of all) void conn.close(code, reason);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, options.timeout ?? 5000)));
    await Promise.race([Promise.all(all.map((c) => c.closed)), timedOut]);
    clearTimeout(timer);
    for (const conn of this.connections) conn.drop();
    this.refusals.flush();
    await this.hub.close();
  }
}
