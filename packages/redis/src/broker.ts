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
 */
import { Redis, type RedisOptions } from "ioredis";
import { consoleLogger, type Logger, type Message, type TopicBroker } from "@ws/core";

export interface RedisBrokerOptions {
  /** redis://[user:password@]host:port[/db] (rediss:// for TLS). Default redis://127.0.0.1:6379 */
  url?: string;
  /** further ioredis options for both connections (host, port, password, tls, …) */
  redis?: RedisOptions;
  /** prefix of the Redis channel names. Default "ws:" */
  prefix?: string;
  /** longest wait between two reconnection attempts, ms. Default 2000 */
  maxReconnectDelay?: number;
  logger?: Logger;
}

/** What a broker has done since it started. */
export interface RedisBrokerStats {
  /** messages handed to Redis */
  published: number;
  /** messages not handed to Redis because it was unreachable (delivered locally only) */
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
  private down = false;
  private everReady = false;
  private closed = false;
  private readonly readyPromise: Promise<void>;

  constructor(options: RedisBrokerOptions = {}) {
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

  publish(topic: string, message: Message): void {
    if (this.closed) return;
    if (this.pub.status !== "ready") {
      this.stats.dropped++;
      return;
    }
    const envelope = this.envelope(message);
    this.pub.publish(this.prefix + topic, envelope).then(
      () => void this.stats.published++,
      () => void this.stats.dropped++,
    );
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

/** QUIT (answered, or 1 s), then close the socket for good. */
async function quit(client: Redis): Promise<void> {
  if (client.status === "ready") {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([client.quit().catch(() => {}), new Promise((resolve) => (timer = setTimeout(resolve, 1000)))]);
    clearTimeout(timer);
  }
  client.disconnect();
}
