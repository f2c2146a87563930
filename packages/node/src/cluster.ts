/**
 * @ws/node/cluster — every core of the machine: several Node processes serve one port (Node's `cluster`), and
 * topics span them through the processes' own IPC channel, without Redis. It runs unchanged on Bun's and Deno's
 * node:cluster, whose workers share the port with `serve({ reusePort: true })`.
 *
 * - `runPrimary({ workers })`, in the primary process: forks the workers (each runs your module again and calls
 *   `serve({ port, broker: new ClusterBroker() })` on the same port; Node's cluster hands the connections out
 *   among them), relays published messages between them, and forks a worker again when one dies.
 * - `ClusterBroker`, in each worker: @ws/core's `TopicBroker` over `process.send`. A publish in one worker
 *   reaches the topic's subscribers in every other worker once (the primary relays it only to the workers with
 *   subscribers of that topic, never back to its origin). At most once, like Redis pub/sub: what is published
 *   while a worker is being restarted does not reach it.
 * - Nothing queues without bound: each side counts the bytes handed to an IPC channel and not yet written, and
 *   drops (and counts) what does not fit in `maxQueuedBytes`; a message over `maxMessageSize` is refused.
 *
 * @packageDocumentation
 * @module @ws/node/cluster
 */
import cluster, { type Worker } from "node:cluster";
import { availableParallelism } from "node:os";
import { consoleLogger, InvalidOptionError, type Logger, type Message, type TopicBroker } from "@ws/core";

/** Bytes handed to one IPC channel and not yet written, at most, before messages are dropped: 8 MiB. */
export const DEFAULT_CLUSTER_MAX_QUEUED_BYTES = 8 * 1024 * 1024;
/** Largest message (payload bytes, text as UTF-8) carried to the other workers: 1 MiB. */
export const DEFAULT_CLUSTER_MAX_MESSAGE_SIZE = 1024 * 1024;
/** What a message costs beyond its payload and topic while it waits on an IPC channel (its envelope, its serialization). */
const ENVELOPE_OVERHEAD = 128;

/** The key that marks this module's messages on a process's IPC channel (the user's own messages pass untouched). */
const TAG = "@ws/cluster";

/** A message between a worker's broker and the primary. */
type Envelope =
  | { [TAG]: "sub" | "unsub"; topic: string }
  | { [TAG]: "pub"; topic: string; text?: string; bytes?: Uint8Array | { type: "Buffer"; data: number[] } }
  | { [TAG]: "sync" | "synced"; id: number }
  | { [TAG]: "listening" };

function isEnvelope(value: unknown): value is Envelope {
  return typeof value === "object" && value !== null && typeof (value as Record<string, unknown>)[TAG] === "string";
}

/** The payload bytes of a published message's envelope, as "advanced" (structured clone) or "json" serialization carried them. */
function envelopeBytes(bytes: Uint8Array | { type: "Buffer"; data: number[] } | undefined): Uint8Array | undefined {
  if (bytes instanceof Uint8Array) return bytes;
  if (bytes && bytes.type === "Buffer" && Array.isArray(bytes.data)) return Uint8Array.from(bytes.data);
  return undefined;
}

function payloadSize(message: Message): number {
  return typeof message === "string" ? Buffer.byteLength(message, "utf8") : message.byteLength;
}

function positive(owner: string, option: string, value: number): number {
  if (typeof value !== "number" || Number.isNaN(value) || value <= 0) {
    throw new InvalidOptionError(`${owner} ${option}`, value, "a positive number of bytes (Infinity for no limit)");
  }
  return value;
}

/**
 * Bytes handed to one IPC channel and not yet written: `send` hands a message over when it fits in `max` (one
 * always goes when nothing waits), else returns false. The callback of `process.send` / `worker.send` tells
 * when the message has been written.
 */
class ChannelBudget {
  queued = 0;
  private readonly max: number;
  constructor(max: number) {
    this.max = max;
  }

  send(send: (message: Envelope, done: (error: Error | null) => void) => boolean, message: Envelope, cost: number): boolean {
    if (this.queued > 0 && this.queued + cost > this.max) return false;
    this.queued += cost;
    try {
      send(message, () => {
        this.queued -= cost;
      });
    } catch {
      this.queued -= cost; // the channel is closed
      return false;
    }
    return true;
  }
}

// --------------------------------------------------------------------------------------------- worker

/** `new ClusterBroker(options)`: the bounds of what one worker hands to the primary. */
export interface ClusterBrokerOptions {
  /**
   * bytes of published messages handed to the IPC channel and not yet written; beyond, published messages are
   * dropped for the other workers (counted in `stats.dropped`). Default 8 MiB (`DEFAULT_CLUSTER_MAX_QUEUED_BYTES`)
   */
  maxQueuedBytes?: number;
  /**
   * largest message carried to the other workers, bytes (text as UTF-8); a larger one reaches this worker's
   * subscribers only and `publish` throws a RangeError. Default 1 MiB (`DEFAULT_CLUSTER_MAX_MESSAGE_SIZE`)
   */
  maxMessageSize?: number;
  logger?: Logger;
}

/** What a worker's broker has done since it started. */
export interface ClusterBrokerStats {
  /** messages handed to the primary */
  published: number;
  /** messages not handed to the primary: `maxQueuedBytes` reached, over `maxMessageSize`, or the channel closed */
  dropped: number;
  /** messages from other workers delivered to this worker's subscribers */
  received: number;
}

/**
 * Topics across the workers of a Node cluster, through the IPC channel to the primary (which runs
 * `runPrimary()`): give each worker's server a `ClusterBroker` (`serve({ broker })`), and a publish in any worker
 * reaches the topic's subscribers in all of them, once. At most once; bounded by `maxQueuedBytes` and
 * `maxMessageSize`. Thrown at once outside a cluster worker or forked child (no IPC channel).
 *
 * @example
 * ```ts
 * import cluster from "node:cluster";
 * import { defineService, serve } from "@ws/node";
 * import { ClusterBroker, runPrimary } from "@ws/node/cluster";
 *
 * const chat = defineService({
 *   connected: (conn) => conn.subscribe("room"),
 *   received: (message, conn) => void conn.publish("room", message), // reaches "room" in every worker
 * });
 *
 * if (cluster.isPrimary) {
 *   runPrimary({ workers: 4 }); // forks 4 workers (this module again), relays topics, restarts a worker that dies
 * } else {
 *   const server = await serve({ port: 8080, services: { "/chat": chat }, broker: new ClusterBroker() });
 *   process.once("SIGTERM", () => void server.close({ timeout: 10_000 }));
 * }
 * ```
 */
export class ClusterBroker implements TopicBroker {
  readonly stats: ClusterBrokerStats = { published: 0, dropped: 0, received: 0 };
  private readonly budget: ChannelBudget;
  private readonly maxMessageSize: number;
  private readonly logger: Logger;
  private readonly wanted = new Set<string>();
  private deliver: ((topic: string, message: Message) => void) | null = null;
  private readonly syncs = new Map<number, () => void>();
  private nextSync = 0;
  private full = false;
  private closed = false;
  private readonly onMessage = (value: unknown): void => this.received(value);
  private readonly onDisconnect = (): void => {
    for (const resolve of this.syncs.values()) resolve();
    this.syncs.clear();
  };

  constructor(options: ClusterBrokerOptions = {}) {
    const maxQueuedBytes = positive("ClusterBroker", "maxQueuedBytes", options.maxQueuedBytes ?? DEFAULT_CLUSTER_MAX_QUEUED_BYTES);
    this.maxMessageSize = positive("ClusterBroker", "maxMessageSize", options.maxMessageSize ?? DEFAULT_CLUSTER_MAX_MESSAGE_SIZE);
    if (typeof process.send !== "function") {
      throw new Error("ClusterBroker needs an IPC channel to the primary: run it in a cluster worker (cluster.isPrimary is false; the primary calls runPrimary())");
    }
    this.budget = new ChannelBudget(maxQueuedBytes);
    this.logger = options.logger ?? consoleLogger;
    process.on("message", this.onMessage);
    process.on("disconnect", this.onDisconnect);
  }

  /** The topics this worker receives from the others (those with local subscribers). */
  get topics(): ReadonlySet<string> {
    return this.wanted;
  }

  /** Bytes handed to the IPC channel and not yet written. At most `maxQueuedBytes` (or one message). */
  get queuedBytes(): number {
    return this.budget.queued;
  }

  /**
   * Resolves once the primary has taken every subscribe, unsubscribe and publish sent before the call (it
   * handles a worker's messages in order): from then on, what other workers publish on those topics reaches this one.
   */
  settled(): Promise<void> {
    if (this.closed || !process.connected) return Promise.resolve();
    const id = this.nextSync++;
    return new Promise<void>((resolve) => {
      this.syncs.set(id, resolve);
      if (!this.post({ [TAG]: "sync", id })) {
        this.syncs.delete(id);
        resolve();
      }
    });
  }

  /**
   * Tells the primary that this worker listens, for `primary.listening()`. Needed where node:cluster does not see
   * the listen: a server on Bun's own sockets (@ws/bun's `serve({ reusePort: true })`, either engine). Node's and
   * Deno's cluster, and Bun's for a node:net listen, report it themselves; a worker is counted once either way.
   *
   * @example
   * ```ts
   * import cluster from "node:cluster";
   * import { defineService, serve } from "@ws/node"; // on Bun: from "@ws/bun", with reusePort: true
   * import { ClusterBroker, runPrimary } from "@ws/node/cluster";
   *
   * const room = defineService({ connected: (conn) => conn.subscribe("room") });
   * if (cluster.isPrimary) {
   *   await runPrimary({ workers: 2 }).listening();
   *   console.log("every worker listens");
   * } else {
   *   const broker = new ClusterBroker();
   *   await serve({ port: 8080, services: { "/room": room }, broker });
   *   broker.listening();
   * }
   * ```
   */
  listening(): void {
    this.post({ [TAG]: "listening" });
  }

  // ------------------------------------------------------------------------------------- TopicBroker

  attach(deliver: (topic: string, message: Message) => void): void {
    if (this.deliver) throw new Error("a ClusterBroker serves one server: create one per server");
    this.deliver = deliver;
  }

  subscribe(topic: string): void {
    if (this.closed || this.wanted.has(topic)) return;
    this.wanted.add(topic);
    this.post({ [TAG]: "sub", topic });
  }

  unsubscribe(topic: string): void {
    if (!this.wanted.delete(topic) || this.closed) return;
    this.post({ [TAG]: "unsub", topic });
  }

  /**
   * Hands the message to the primary for the other workers, at most once: dropped (counted) when
   * `maxQueuedBytes` wait on the channel already. Throws a RangeError for a message over `maxMessageSize`.
   */
  publish(topic: string, message: Message): void {
    if (this.closed) return;
    const size = payloadSize(message);
    if (size > this.maxMessageSize) {
      this.stats.dropped++;
      throw new RangeError(
        `cluster broker: a message of ${size} bytes is over maxMessageSize (${this.maxMessageSize} bytes); not sent to the other workers (local subscribers got it)`,
      );
    }
    const envelope: Envelope =
      typeof message === "string"
        ? { [TAG]: "pub", topic, text: message }
        : // a Buffer view: "advanced" serialization carries it as bytes, "json" as { type: "Buffer", data }
          { [TAG]: "pub", topic, bytes: Buffer.from(message.buffer, message.byteOffset, message.byteLength) };
    const cost = size + topic.length * 3 + ENVELOPE_OVERHEAD;
    if (!process.connected || !this.budget.send(sendToPrimary, envelope, cost)) {
      this.dropped();
      return;
    }
    this.stats.published++;
    if (this.full && this.budget.queued === cost) {
      this.full = false;
      this.logger.info({}, "cluster broker: the IPC channel to the primary drained; publishing to the other workers again");
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wanted.clear();
    process.off("message", this.onMessage);
    process.off("disconnect", this.onDisconnect);
    this.onDisconnect();
  }

  private dropped(): void {
    this.stats.dropped++;
    if (!this.full && process.connected) {
      this.full = true;
      this.logger.warn({}, `cluster broker: ${this.budget.queued} bytes wait on the IPC channel to the primary (maxQueuedBytes); published messages reach this worker's subscribers only until it drains`);
    }
  }

  /** Subscriptions and syncs: never dropped (they are small and the primary's view of this worker depends on them). */
  private post(message: Envelope): boolean {
    if (!process.connected) return false;
    try {
      sendToPrimary(message, () => {});
      return true;
    } catch {
      return false;
    }
  }

  private received(value: unknown): void {
    if (!isEnvelope(value) || this.closed) return;
    if (value[TAG] === "synced") {
      const id = (value as { id: number }).id;
      this.syncs.get(id)?.();
      this.syncs.delete(id);
      return;
    }
    if (value[TAG] !== "pub" || !this.deliver) return;
    const { topic, text, bytes } = value as Extract<Envelope, { [TAG]: "pub" }>;
    if (!this.wanted.has(topic)) return; // an unsubscribe still on its way
    const message = typeof text === "string" ? text : envelopeBytes(bytes);
    if (message === undefined) return;
    this.stats.received++;
    this.deliver(topic, message);
  }
}

function sendToPrimary(message: Envelope, done: (error: Error | null) => void): boolean {
  return process.send!(message, undefined, undefined, done);
}

// -------------------------------------------------------------------------------------------- primary

/** `runPrimary(options)`: how many workers, and what the primary does when one dies. */
export interface ClusterPrimaryOptions {
  /** how many worker processes to fork. Default: `os.availableParallelism()` */
  workers?: number;
  /**
   * fork a worker again when one exits without being asked to (a crash, `process.exit`, a kill): after
   * `restartDelay` ms, doubled for each worker that dies within 5 s of its start, up to 30 s. Default true;
   * false only reports it (one log line, `stats.exits`, `onExit`)
   */
  restart?: boolean;
  /** delay before a dead worker is forked again, ms. Default 100 */
  restartDelay?: number;
  /**
   * bytes of relayed messages handed to one worker's IPC channel and not yet written; beyond, messages for that
   * worker are dropped (counted in `stats.dropped`), so a stalled worker costs the primary at most this much.
   * Default 8 MiB (`DEFAULT_CLUSTER_MAX_QUEUED_BYTES`)
   */
  maxQueuedBytes?: number;
  /** called after a worker exited unasked (before it is restarted, if `restart`) */
  onExit?(worker: Worker, code: number | null, signal: string | null): void;
  logger?: Logger;
}

/** What the primary has done since `runPrimary()`. */
export interface ClusterPrimaryStats {
  /** messages relayed to a worker (one per receiving worker) */
  relayed: number;
  /** messages not relayed to a worker: its `maxQueuedBytes` reached, or its channel closed */
  dropped: number;
  /** workers that exited unasked */
  exits: number;
  /** workers forked again after one exited */
  restarts: number;
}

/** The primary's handle: the live workers, what it relayed, and `close()`. */
export interface ClusterPrimary {
  /** the live workers */
  readonly workers: ReadonlySet<Worker>;
  readonly stats: ClusterPrimaryStats;
  /** Resolves once `workers` workers are listening (each has called `serve()` / `listen()`). */
  listening(): Promise<void>;
  /** Subscribed topics and how many workers subscribe to each. */
  subscriptions(): Map<string, number>;
  /**
   * Stops restarting, sends SIGTERM to every worker (their `process.once("SIGTERM")` closes their server) and
   * resolves once all have exited; SIGKILL to those still alive after `timeout` ms (default 10,000).
   */
  close(options?: { timeout?: number }): Promise<void>;
}

/**
 * Runs the primary of a Node cluster: forks `workers` processes (each runs the main module again, where
 * `cluster.isPrimary` is false: serve there, on the same port, with a `ClusterBroker`), relays published
 * messages between their brokers, and forks a worker again when one dies (`restart`). Node's cluster gives the
 * incoming connections to the workers in turn (round robin; `cluster.schedulingPolicy`). Under Bun the same code
 * runs on Bun's node:cluster: its workers share the port through SO_REUSEPORT (@ws/bun's
 * `serve({ reusePort: true })`, then `broker.listening()`), and the kernel spreads the connections. The workers' IPC uses
 * "advanced" serialization (binary messages as bytes) unless `cluster.setupPrimary` chose otherwise before.
 * Throws when called outside the primary.
 *
 * @example
 * ```ts
 * import cluster from "node:cluster";
 * import { defineService, serve } from "@ws/node";
 * import { ClusterBroker, runPrimary } from "@ws/node/cluster";
 *
 * const news = defineService({ connected: (conn) => conn.subscribe("news") });
 *
 * if (cluster.isPrimary) {
 *   const primary = runPrimary({ workers: 2, onExit: (worker, code) => console.error(`worker ${worker.id} exited (${code})`) });
 *   await primary.listening();
 *   process.once("SIGTERM", () => void primary.close());
 * } else {
 *   const server = await serve({ port: 8080, services: { "/news": news }, broker: new ClusterBroker() });
 *   setInterval(() => server.publish("news", `from worker ${cluster.worker?.id}`), 1000).unref();
 * }
 * ```
 */
export function runPrimary(options: ClusterPrimaryOptions = {}): ClusterPrimary {
  if (!cluster.isPrimary) throw new Error("runPrimary() runs in the primary process (cluster.isPrimary); a worker serves with a ClusterBroker");
  const count = options.workers ?? availableParallelism();
  if (!Number.isInteger(count) || count < 1) throw new InvalidOptionError("runPrimary workers", count, "a whole number of processes, at least 1");
  const maxQueuedBytes = positive("runPrimary", "maxQueuedBytes", options.maxQueuedBytes ?? DEFAULT_CLUSTER_MAX_QUEUED_BYTES);
  const restart = options.restart ?? true;
  const restartDelay = options.restartDelay ?? 100;
  const logger = options.logger ?? consoleLogger;
  // bytes as bytes across the channel; a choice the user made already (cluster.settings) is kept
  if (cluster.settings.serialization === undefined) cluster.setupPrimary({ serialization: "advanced" });

  const stats: ClusterPrimaryStats = { relayed: 0, dropped: 0, exits: 0, restarts: 0 };
  const workers = new Set<Worker>();
  const listeningWorkers = new Set<Worker>();
  const budgets = new WeakMap<Worker, ChannelBudget>();
  /** per worker, the topics it subscribes to; per topic, the workers */
  const topicsOf = new Map<Worker, Set<string>>();
  const subscribers = new Map<string, Set<Worker>>();
  const startedAt = new WeakMap<Worker, number>();
  let quickDeaths = 0;
  let closing = false;
  const waiting: Array<() => void> = [];
  const restartTimers = new Set<ReturnType<typeof setTimeout>>();

  const checkListening = () => {
    if (listeningWorkers.size < count) return;
    for (const resolve of waiting.splice(0)) resolve();
  };

  const forget = (worker: Worker) => {
    workers.delete(worker);
    listeningWorkers.delete(worker);
    for (const topic of topicsOf.get(worker) ?? []) {
      const set = subscribers.get(topic);
      set?.delete(worker);
      if (set?.size === 0) subscribers.delete(topic);
    }
    topicsOf.delete(worker);
  };

  const relay = (from: Worker, envelope: Extract<Envelope, { [TAG]: "pub" }>) => {
    const targets = subscribers.get(envelope.topic);
    if (!targets) return;
    const bytes = envelopeBytes(envelope.bytes);
    const cost = (typeof envelope.text === "string" ? envelope.text.length * 3 : (bytes?.byteLength ?? 0)) + envelope.topic.length * 3 + ENVELOPE_OVERHEAD;
    for (const worker of targets) {
      if (worker === from) continue;
      const budget = budgets.get(worker)!;
      if (worker.isConnected() && budget.send((m, done) => worker.send(m, undefined, done), envelope, cost)) stats.relayed++;
      else stats.dropped++;
    }
  };

  const onMessage = (worker: Worker, value: unknown) => {
    if (!isEnvelope(value)) return;
    switch (value[TAG]) {
      case "pub":
        relay(worker, value as Extract<Envelope, { [TAG]: "pub" }>);
        return;
      case "sub": {
        const topic = (value as { topic: string }).topic;
        topicsOf.get(worker)?.add(topic);
        let set = subscribers.get(topic);
        if (!set) subscribers.set(topic, (set = new Set()));
        set.add(worker);
        return;
      }
      case "unsub": {
        const topic = (value as { topic: string }).topic;
        topicsOf.get(worker)?.delete(topic);
        const set = subscribers.get(topic);
        set?.delete(worker);
        if (set?.size === 0) subscribers.delete(topic);
        return;
      }
      case "listening": // a worker on Bun's own sockets, which node:cluster does not see listen
        if (workers.has(worker)) listeningWorkers.add(worker);
        checkListening();
        return;
      case "sync":
        if (worker.isConnected()) worker.send({ [TAG]: "synced", id: (value as { id: number }).id });
        return;
    }
  };

  const fork = () => {
    const worker = cluster.fork();
    workers.add(worker);
    budgets.set(worker, new ChannelBudget(maxQueuedBytes));
    topicsOf.set(worker, new Set());
    startedAt.set(worker, Date.now());
    worker.on("message", (value: unknown) => onMessage(worker, value));
    worker.on("listening", () => {
      listeningWorkers.add(worker);
      checkListening();
    });
    worker.on("exit", (code: number | null, signal: string | null) => {
      forget(worker);
      if (closing || worker.exitedAfterDisconnect) return;
      stats.exits++;
      options.onExit?.(worker, code, signal);
      const lived = Date.now() - (startedAt.get(worker) ?? 0);
      quickDeaths = lived < 5000 ? quickDeaths + 1 : 0;
      const delay = Math.min(restartDelay * 2 ** Math.max(0, quickDeaths - 1), 30_000);
      const how = signal ? `signal ${signal}` : `code ${code}`;
      if (!restart) {
        logger.error({}, `cluster: worker ${worker.id} (pid ${worker.process.pid}) exited with ${how}; not restarted (restart: false)`);
        return;
      }
      logger.error({}, `cluster: worker ${worker.id} (pid ${worker.process.pid}) exited with ${how}; forking another in ${delay} ms`);
      const timer = setTimeout(() => {
        restartTimers.delete(timer);
        if (closing) return;
        stats.restarts++;
        fork();
      }, delay);
      restartTimers.add(timer);
    });
  };

  for (let i = 0; i < count; i++) fork();

  return {
    workers,
    stats,
    listening() {
      return new Promise<void>((resolve) => {
        waiting.push(resolve);
        checkListening();
      });
    },
    subscriptions() {
      return new Map([...subscribers].map(([topic, set]) => [topic, set.size]));
    },
    async close(closeOptions = {}) {
      closing = true;
      for (const timer of restartTimers) clearTimeout(timer);
      restartTimers.clear();
      const alive = [...workers].filter((w) => !w.isDead());
      const exited = alive.map((w) => new Promise<void>((resolve) => w.once("exit", () => resolve())));
      for (const w of alive) w.process.kill("SIGTERM");
      const timer = setTimeout(() => {
        for (const w of alive) if (!w.isDead()) w.process.kill("SIGKILL");
      }, closeOptions.timeout ?? 10_000);
      await Promise.all(exited);
      clearTimeout(timer);
    },
  };
}
