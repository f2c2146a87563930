/**
 * RedisBroker: @ws/core's TopicBroker over Redis pub/sub, so a topic (a chat room) spans every server process
 * connected to the same Redis, on any host and any runtime (Node, Bun, Deno: ioredis runs on all three).
 *
 * - A topic is the Redis channel `prefix + topic`, subscribed only while this process has a local subscriber
 *   (the hub calls subscribe on the first, unsubscribe after the last).
 * - Each message travels in an envelope: a magic byte, its type (text or binary: kept distinct) and this
 *   broker's origin id, then the payload as is (text as UTF-8). A broker ignores envelopes with its own
 *   origin, so a process never gets its own messages back (they were delivered locally already).
 * - Redis going away never throws into the server: both connections reconnect by themselves, the channels
 *   still wanted are subscribed again once the subscriber connection is ready, and local delivery goes on
 *   all the while. Redis pub/sub is at-most-once: what is published while a process cannot reach Redis, or
 *   while it is resubscribing, does not reach the other processes and is not replayed (see the README).
 * - Nothing waits for Redis without bound: at most `maxQueuedBytes` of PUBLISH commands are on their way
 *   (not yet written to the socket, or written and not yet answered); while Redis stalls, what does not fit
 *   is dropped (delivered locally only, counted). A message over `maxMessageSize` is refused with an error,
 *   so that one publish cannot overrun the other processes' subscriber connections in Redis.
 */
import { Redis, type RedisOptions } from "ioredis";
import { consoleLogger, InvalidOptionError, type Logger, type Message, type TopicBroker } from "@ws/core";

/**
 * Bytes of PUBLISH commands that may be on their way to Redis at once (not yet written to the socket, or
 * written and not yet answered), each counted as its message, channel and framing plus `PUBLISH_OVERHEAD`:
 * 8 MiB. Beyond it, published messages are dropped (`stats.dropped`) until Redis answers again. It is also
 * the most one publisher can add at once to another process's subscriber output buffer in Redis (whose
 * default `client-output-buffer-limit pubsub` is 32 MiB hard, 8 MiB over 60 s).
 */
export const DEFAULT_MAX_QUEUED_BYTES = 8 * 1024 * 1024;
/**
 * Largest message (payload bytes; text counted as UTF-8) a broker publishes to Redis: 1 MiB. A larger one
 * reaches local subscribers only, and `publish` throws a RangeError naming `maxMessageSize`.
 */
export const DEFAULT_MAX_MESSAGE_SIZE = 1024 * 1024;
/**
 * What a PUBLISH costs beyond its bytes while it waits for its answer, counted against `maxQueuedBytes`
 * (ioredis's command object and its promise: about 1.2 KB of heap each, measured on Node).
 */
export const PUBLISH_OVERHEAD = 1024;
/** The RESP framing of `PUBLISH channel message`, at most (`*3`, `$7 PUBLISH`, two lengths, CRLFs). */
const RESP_FRAMING = 64;

/** `new RedisBroker(options)`: where Redis is, the channel prefix, reconnection and the two bounds. */
export interface RedisBrokerOptions {
  /** redis://[user:password@]host:port[/db] (rediss:// for TLS). Default redis://127.0.0.1:6379 */
  url?: string;
  /** further ioredis options for both connections (host, port, password, tls, …) */
  redis?: RedisOptions;
  /** prefix of the Redis channel names. Default "ws:" */
  prefix?: string;
  /** longest wait between two reconnection attempts, ms. Default 2000 */
  maxReconnectDelay?: number;
  /**
   * bytes of PUBLISH commands on their way to Redis at once (written or not, not yet answered); beyond,
   * published messages are dropped (counted in `stats.dropped`); one message always goes when nothing is on
   * its way. Default 8 MiB (`DEFAULT_MAX_QUEUED_BYTES`)
   */
  maxQueuedBytes?: number;
  /**
   * largest message published to Redis, bytes (text as UTF-8); a larger one is delivered locally only and
   * `publish` throws a RangeError. At most `maxQueuedBytes`. Default 1 MiB (`DEFAULT_MAX_MESSAGE_SIZE`), or
   * `maxQueuedBytes` if that is less
   */
  maxMessageSize?: number;
  logger?: Logger;
}

/** What a broker has done since it started. */
export interface RedisBrokerStats {
  /** messages handed to Redis */
  published: number;
  /**
   * messages not published to Redis (delivered locally only): Redis unreachable, `maxQueuedBytes` reached
   * while it stalls, over `maxMessageSize`, or the connection lost before Redis answered (such a message
   * may still have been relayed)
   */
  dropped: number;
  /** messages from other processes delivered to local subscribers */
  received: number;
  /** envelopes that were not ours to read (wrong magic byte or type, too short): ignored */
  malformed: number;
  /** times a connection to Redis was lost */
  disconnects: number;
}

const MAGIC = 0x77; // "w"
const TEXT = 1;
const BINARY = 2;
const ORIGIN_BYTES = 16;
const HEADER = 2 + ORIGIN_BYTES;

const decoder = new TextDecoder();

/**
 * Topics across processes and machines through Redis pub/sub: give each server a `RedisBroker` on the same
 * Redis (`serve({ broker })`), and a publish in any of them reaches the topic's subscribers in all of them.
 * At-most-once, as Redis pub/sub is; bounded by `maxQueuedBytes` and `maxMessageSize`.
 *
 * @example
 * ```ts
 * import { defineService, serve } from "@ws/node"; // or @ws/bun, @ws/deno
 * import { RedisBroker } from "@ws/redis";
 *
 * const chat = defineService({
 *   connected: (conn) => conn.subscribe("room"),
 *   received: (message, conn) => void conn.publish("room", message), // reaches "room" in every process
 * });
 *
 * const server = await serve({
 *   port: 8080,
 *   services: { "/chat": chat },
 *   broker: new RedisBroker({ url: process.env.REDIS_URL }), // default redis://127.0.0.1:6379
 * });
 * // server.close() closes the broker too
 * ```
 */
export class RedisBroker implements TopicBroker {
  /** this process's (this broker's) origin id, in every envelope it publishes */
  readonly origin: Uint8Array;
  readonly prefix: string;
  readonly stats: RedisBrokerStats = { published: 0, dropped: 0, received: 0, malformed: 0, disconnects: 0 };

  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly logger: Logger;
  /** topics with local subscribers: the channels the subscriber connection should be on */
  private readonly wanted = new Set<string>();
  private deliver: ((topic: string, message: Message) => void) | null = null;
  private readonly pending = new Set<Promise<unknown>>();
  private readonly maxQueuedBytes: number;
  private readonly maxMessageSize: number;
  /** bytes of PUBLISH commands not yet answered (their cost, see `PUBLISH_OVERHEAD`) */
  private awaitingReply = 0;
  /** dropping because `maxQueuedBytes` was reached: the count since, for the line logged when it ends */
  private droppedWhileFull = -1;
  private down = false;
  private everReady = false;
  private closed = false;
  private readonly readyPromise: Promise<void>;

  constructor(options: RedisBrokerOptions = {}) {
    this.maxQueuedBytes = positive("maxQueuedBytes", options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES);
    this.maxMessageSize = positive("maxMessageSize", options.maxMessageSize ?? Math.min(DEFAULT_MAX_MESSAGE_SIZE, this.maxQueuedBytes));
    if (this.maxMessageSize > this.maxQueuedBytes) {
      throw new InvalidOptionError("RedisBroker maxMessageSize", this.maxMessageSize, `at most maxQueuedBytes (${this.maxQueuedBytes})`);
    }
    this.prefix = options.prefix ?? "ws:";
    this.logger = options.logger ?? consoleLogger;
    this.origin = crypto.getRandomValues(new Uint8Array(ORIGIN_BYTES));
    const maxDelay = options.maxReconnectDelay ?? 2000;
    const common: RedisOptions = {
      // nothing waits in a queue for Redis to come back: pub/sub is at-most-once, a late message is a wrong one
      enableOfflineQueue: false,
      // reconnect for ever, backing off up to maxDelay
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), maxDelay),
      maxRetriesPerRequest: null,
      ...options.redis,
    };
    const url = options.url ?? "redis://127.0.0.1:6379";
    this.pub = new Redis(url, { ...common, connectionName: "ws-broker-pub" });
    // the channels are subscribed again by the broker (from `wanted`) on every ready, not by ioredis
    this.sub = new Redis(url, { ...common, autoResubscribe: false, connectionName: "ws-broker-sub" });
    for (const [name, client] of [["publisher", this.pub], ["subscriber", this.sub]] as const) {
      client.on("error", (error: Error) => this.lost(name, error));
      client.on("close", () => this.lost(name));
      client.on("ready", () => this.back());
    }
    this.sub.on("ready", () => this.resubscribe());
    this.sub.on("messageBuffer", (channel: Buffer, message: Buffer) => this.onMessage(channel, message));
    const ready = (client: Redis) =>
      client.status === "ready" ? Promise.resolve() : new Promise<void>((resolve) => client.once("ready", () => resolve()));
    this.readyPromise = Promise.all([ready(this.pub), ready(this.sub)]).then(() => undefined);
  }

  /** Both connections are up (and the channels wanted are subscribed, as far as `settled` tells). */
  get connected(): boolean {
    return this.pub.status === "ready" && this.sub.status === "ready";
  }

  /** Resolves once both connections have been ready at least once. */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  /** Resolves once the SUBSCRIBE / UNSUBSCRIBE commands sent so far have been answered (or failed). */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /**
   * Bytes on their way to Redis now: PUBLISH commands not yet answered (each counted with
   * `PUBLISH_OVERHEAD`) and what is written to the socket and not yet flushed. At most `maxQueuedBytes`.
   */
  get queuedBytes(): number {
    return this.awaitingReply + (this.pub.stream?.writableLength ?? 0);
  }

  /** The topics this process receives from Redis (those with local subscribers). */
  get topics(): ReadonlySet<string> {
    return this.wanted;
  }

  // ------------------------------------------------------------------------------------- TopicBroker

  attach(deliver: (topic: string, message: Message) => void): void {
    if (this.deliver) throw new Error("a RedisBroker serves one server: create one per server");
    this.deliver = deliver;
  }

  subscribe(topic: string): void {
    if (this.closed || this.wanted.has(topic)) return;
    this.wanted.add(topic);
    if (this.sub.status === "ready") this.track(this.sub.subscribe(this.prefix + topic));
    // else: subscribed once the connection is (back) up
  }

  unsubscribe(topic: string): void {
    if (!this.wanted.delete(topic) || this.closed) return;
    if (this.sub.status === "ready") this.track(this.sub.unsubscribe(this.prefix + topic));
  }

  /**
   * Publishes to the other processes, at most once: dropped (counted) when Redis is unreachable or
   * `maxQueuedBytes` are already on their way to it. Throws a RangeError for a message over `maxMessageSize`.
   */
  publish(topic: string, message: Message): void {
    if (this.closed) return;
    const size = typeof message === "string" ? Buffer.byteLength(message, "utf8") : message.byteLength;
    if (size > this.maxMessageSize) {
      this.stats.dropped++;
      throw new RangeError(
        `redis broker: a message of ${size} bytes is over maxMessageSize (${this.maxMessageSize} bytes); not published to Redis (local subscribers got it)`,
      );
    }
    if (this.pub.status !== "ready") {
      this.stats.dropped++;
      return;
    }
    const channel = this.prefix + topic;
    // what this PUBLISH adds at most: its serialized bytes until written, its arguments and command until answered
    const wire = HEADER + size + Buffer.byteLength(channel, "utf8") + RESP_FRAMING;
    const cost = wire + PUBLISH_OVERHEAD;
    const queued = this.queuedBytes;
    if (queued > 0 && queued + cost + wire > this.maxQueuedBytes) {
      this.full();
      return;
    }
    this.awaitingReply += cost;
    const answered = () => {
      this.awaitingReply -= cost;
      if (this.droppedWhileFull >= 0 && this.queuedBytes <= this.maxQueuedBytes / 2) this.notFull();
    };
    this.pub.publish(channel, this.envelope(message)).then(
      () => {
        this.stats.published++;
        answered();
      },
      () => {
        this.stats.dropped++;
        answered();
      },
    );
  }

  /** A message dropped because `maxQueuedBytes` are on their way: one warning when that starts. */
  private full(): void {
    this.stats.dropped++;
    if (this.droppedWhileFull < 0) {
      this.droppedWhileFull = 0;
      this.logger.warn(
        {},
        `redis broker: ${this.queuedBytes} bytes wait for Redis (maxQueuedBytes ${this.maxQueuedBytes}); published messages reach local subscribers only until it answers`,
      );
    }
    this.droppedWhileFull++;
  }

  /** Half of `maxQueuedBytes` answered since `full()`: one line with what was dropped meanwhile. */
  private notFull(): void {
    this.logger.info({}, `redis broker: under half of maxQueuedBytes again; ${this.droppedWhileFull} published messages were dropped for the other processes meanwhile`);
    this.droppedWhileFull = -1;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wanted.clear();
    await Promise.allSettled([quit(this.pub), quit(this.sub)]);
  }

  // ---------------------------------------------------------------------------------------- envelope

  private envelope(message: Message): Buffer {
    if (typeof message === "string") {
      const out = Buffer.allocUnsafe(HEADER + Buffer.byteLength(message, "utf8"));
      this.header(out, TEXT);
      out.write(message, HEADER, "utf8");
      return out;
    }
    const out = Buffer.allocUnsafe(HEADER + message.byteLength);
    this.header(out, BINARY);
    out.set(message, HEADER);
    return out;
  }

  private header(out: Buffer, type: number): void {
    out[0] = MAGIC;
    out[1] = type;
    out.set(this.origin, 2);
  }

  private onMessage(channel: Buffer, envelope: Buffer): void {
    if (this.closed || !this.deliver) return;
    const name = channel.toString("utf8");
    if (!name.startsWith(this.prefix)) return;
    const topic = name.slice(this.prefix.length);
    if (!this.wanted.has(topic)) return; // an UNSUBSCRIBE still on its way
    if (envelope.length < HEADER || envelope[0] !== MAGIC || (envelope[1] !== TEXT && envelope[1] !== BINARY)) {
      this.stats.malformed++;
      return;
    }
    if (this.isOwn(envelope)) return;
    const payload = new Uint8Array(envelope.buffer, envelope.byteOffset + HEADER, envelope.length - HEADER);
    this.stats.received++;
    this.deliver(topic, envelope[1] === TEXT ? decoder.decode(payload) : payload);
  }

  private isOwn(envelope: Buffer): boolean {
    for (let i = 0; i < ORIGIN_BYTES; i++) if (envelope[2 + i] !== this.origin[i]) return false;
    return true;
  }

  // ----------------------------------------------------------------------------------- connectivity

  private resubscribe(): void {
    if (this.closed || this.wanted.size === 0) return;
    this.track(this.sub.subscribe(...[...this.wanted].map((t) => this.prefix + t)));
  }

  private track(command: Promise<unknown>): void {
    const p = command.catch((error: unknown) => {
      // the connection went away mid-command: `resubscribe` runs again when it is back
      if (!this.closed) this.logger.warn({ err: error }, `redis broker: ${error instanceof Error ? error.message : String(error)}`);
    });
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private lost(which: string, error?: Error): void {
    if (this.closed || this.down) return;
    this.down = true;
    if (this.everReady) this.stats.disconnects++;
    const why = error ? ` (${error.message})` : "";
    this.logger.warn(
      { err: error },
      this.everReady
        ? `redis broker: ${which} connection lost${why}; reconnecting (meanwhile, published messages reach local subscribers only)`
        : `redis broker: cannot reach Redis yet${why}; retrying`,
    );
  }

  private back(): void {
    if (this.pub.status !== "ready" || this.sub.status !== "ready") return;
    if (this.down && this.everReady && !this.closed) this.logger.info({}, "redis broker: connected again; topics subscribed again");
    this.down = false;
    this.everReady = true;
  }
}

function positive(option: string, value: number): number {
  if (typeof value !== "number" || Number.isNaN(value) || value <= 0) {
    throw new InvalidOptionError(`RedisBroker ${option}`, value, "a positive number of bytes (Infinity for no limit)");
  }
  return value;
}

/** QUIT (answered, or 1 s), then close the socket for good. */
async function quit(client: Redis): Promise<void> {
  if (client.status === "ready") {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([client.quit().catch(() => {}), new Promise((resolve) => (timer = setTimeout(resolve, 1000)))]);
    clearTimeout(timer);
  }
  client.disconnect();
}
