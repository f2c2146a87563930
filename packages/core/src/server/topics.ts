/**
 * Topics (publish/subscribe). `TopicRegistry` keeps who is subscribed to what, applies the send-buffer policy
 * for published messages and talks to an optional `TopicBroker` that carries messages to other processes;
 * `TopicHub` is it for core's Connection: a published message is framed once and the same bytes are written to
 * every subscriber (compressed once per compression context where permessage-deflate has no context takeover).
 * The runtime engine's `RuntimeHub` (mapped-connection.ts) is the same registry over a runtime's own WebSocket.
 */
import { DEFAULT_SETTINGS, type Settings } from "../settings/resolve.ts";
import type { Connection, Message, SendData } from "../session/connection.ts";
import type { PerMessageDeflate } from "../wire/deflate.ts";
import { CloseCode } from "../wire/close-codes.ts";
import { consoleLogger, type Logger } from "../session/errors.ts";
import { allocateUint8Array, encodeFrame, Opcode, type Allocate } from "../wire/frame.ts";
import { encodeUtf8 } from "../wire/utf8.ts";
import { toBytes } from "../session/message.ts";

/**
 * Carries published messages between the topic layers of several processes (e.g. @ws/redis). A hub calls
 * `subscribe` when a topic gets its first local subscriber and `unsubscribe` when it loses its last, `publish`
 * for every message published locally (after delivering it locally), and delivers what the broker receives
 * from other processes to its local subscribers. A broker must not hand a process its own messages back.
 * One broker serves one server (one hub).
 */
export interface TopicBroker {
  /** Called once by the hub that uses the broker, with the function that delivers a remote message locally. */
  attach(deliver: (topic: string, message: Message) => void): void;
  /** `topic` has its first local subscriber: receive it from now on. */
  subscribe(topic: string): void;
  /** `topic` has lost its last local subscriber. */
  unsubscribe(topic: string): void;
  /** A message published in this process (a string is text, bytes are binary): send it to the others. */
  publish(topic: string, message: Message): void;
  /** The server is closing: stop. */
  close(): Promise<void>;
}

/** What happens to a published message for a subscriber whose send buffer is over the limit. */
export type PublishBackpressure = "skip" | "close";

export interface TopicOptions {
  /** carries published messages to other processes and theirs to this one */
  broker?: TopicBroker;
  /**
   * the server's settings: `publishBackpressure` and `maxPublishBufferedAmount` (the per-subscriber policy for
   * published messages), `publishCompression`. Default: the table's defaults.
   */
  settings?: Settings;
  logger?: Logger;
}

/** What the registry needs of a subscriber (core's Connection, over either transport). */
export interface TopicSubscriber {
  readonly topicSet: Set<string>;
  readonly bufferedAmount: number;
  drop(code?: number, reason?: string): void;
}

/**
 * A message as it crosses a broker: text as a string, binary as bytes.
 *
 * @internal
 */
export function toMessage(message: SendData): Message {
  return typeof message === "string" ? message : toBytes(message);
}

/**
 * Subscriptions, the publish policy and the broker; subclasses deliver (`fanOut`).
 *
 * @example
 * ```ts
 * import { TopicRegistry, type TopicSubscriber } from "@ws/core/adapter";
 *
 * // a subscriber of an engine of your own (the core's Connection is one too)
 * class Peer implements TopicSubscriber {
 *   readonly topicSet = new Set<string>();
 *   bufferedAmount = 0;
 *   constructor(readonly name: string) {}
 *   drop(code?: number): void {
 *     console.log(this.name, "dropped", code);
 *   }
 * }
 *
 * class PeerTopics extends TopicRegistry<Peer> {
 *   protected fanOut(topic: string, message: string | Uint8Array, except: Peer | undefined): number {
 *     let count = 0;
 *     for (const peer of this.topics.get(topic) ?? []) {
 *       if (peer === except || !this.admit(peer, message.length)) continue; // the publish policy (skip or close)
 *       console.log(`to ${peer.name}:`, message);
 *       count++;
 *     }
 *     return count;
 *   }
 * }
 *
 * const topics = new PeerTopics();
 * const [a, b] = [new Peer("a"), new Peer("b")];
 * topics.subscribe(a, "news");
 * topics.subscribe(b, "news");
 * console.log(topics.publish("news", "hello", a)); // to b: hello, then 1
 * ```
 */
export abstract class TopicRegistry<C extends TopicSubscriber> {
  protected readonly topics: Map<string, Set<C>> = new Map();
  readonly broker: TopicBroker | undefined;
  protected readonly logger: Logger;
  private readonly policy: PublishBackpressure | undefined;
  private readonly publishLimit: number;
  private skippedTotal = 0;
  private readonly skippedBy = new WeakMap<C, number>();
  private closing = false;

  constructor(options: TopicOptions = {}) {
    this.broker = options.broker;
    this.logger = options.logger ?? consoleLogger;
    const settings = options.settings ?? DEFAULT_SETTINGS;
    this.policy = settings.publishBackpressure;
    this.publishLimit = settings.maxPublishBufferedAmount;
    this.broker?.attach((topic, message) => {
      if (this.closing) return;
      try {
        this.fanOut(topic, message, undefined);
      } catch (e) {
        this.logger.error({ err: e }, `delivering a message from the broker on ${topic} failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    });
  }

  subscribe(conn: C, topic: string): void {
    let set = this.topics.get(topic);
    if (!set) {
      this.topics.set(topic, (set = new Set()));
      if (!this.closing) this.broker?.subscribe(topic);
    }
    set.add(conn);
    conn.topicSet.add(topic);
  }

  unsubscribe(conn: C, topic: string): void {
    this.leave(conn, topic);
    conn.topicSet.delete(topic);
  }

  /** Forgets a closed connection's subscriptions. */
  removeConnection(conn: C): void {
    for (const topic of conn.topicSet) this.leave(conn, topic);
    conn.topicSet.clear();
  }

  private leave(conn: C, topic: string): void {
    const set = this.topics.get(topic);
    if (set?.delete(conn) && set.size === 0) {
      this.topics.delete(topic);
      if (!this.closing) this.broker?.unsubscribe(topic);
    }
  }

  /**
   * Sends to every local subscriber of `topic` but `except`, and through the broker to the other processes.
   * Returns how many local subscribers it was written to (skipped ones not counted).
   */
  publish(topic: string, message: SendData, except?: C): number {
    const m = toMessage(message);
    const count = this.fanOut(topic, m, except);
    if (this.broker && !this.closing) {
      try {
        this.broker.publish(topic, m);
      } catch (e) {
        this.logger.error({ err: e }, `publishing on ${topic} through the broker failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    return count;
  }

  /** Delivers to the local subscribers of `topic` (but `except`); returns how many got it. */
  protected abstract fanOut(topic: string, message: Message, except: C | undefined): number;

  /**
   * The publish policy for one subscriber: true when the message may be written to it. A subscriber with an
   * empty buffer always gets it (as with maxBufferedAmount, a message larger than the limit is not refused).
   */
  protected admit(conn: C, size: number): boolean {
    if (this.policy === undefined) return true;
    const buffered = conn.bufferedAmount;
    if (buffered === 0 || buffered + size <= this.publishLimit) return true;
    if (this.policy === "close") {
      this.logger.warn({}, `a subscriber's send buffer is over the publish limit (${buffered} bytes); closing it with 1008`);
      conn.drop(CloseCode.PolicyViolation, "send buffer limit exceeded");
      return false;
    }
    this.skippedTotal++;
    this.skippedBy.set(conn, (this.skippedBy.get(conn) ?? 0) + 1);
    return false;
  }

  /** Whether a policy applies to published messages (a runtime with native publish can then not use it). */
  get hasPublishPolicy(): boolean {
    return this.policy !== undefined;
  }

  /** Published messages left out under the "skip" policy: for one subscriber, or in all. */
  skipped(conn?: C): number {
    return conn ? (this.skippedBy.get(conn) ?? 0) : this.skippedTotal;
  }

  subscriberCount(topic: string): number {
    return this.topics.get(topic)?.size ?? 0;
  }

  get topicNames(): string[] {
    return [...this.topics.keys()];
  }

  /** The server is closing: no more broker traffic; closes the broker. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.broker?.close();
  }
}

/**
 * How published messages are compressed for subscribers with permessage-deflate: "shared" (default) compresses
 * a message once per window size for the subscribers without context takeover and sends it uncompressed to
 * those with context takeover (whose LZ77 windows all differ); "per-connection" also compresses it for each
 * subscriber with context takeover, with its own window — as `send` would, at the cost of one deflate per
 * subscriber per message.
 */
export type PublishCompression = "shared" | "per-connection";

/**
 * Topics for core's Connection. A published message is framed once and the same bytes written to every
 * subscriber; with permessage-deflate, see `PublishCompression`.
 *
 * @example
 * ```ts
 * import { defineService } from "@ws/core";
 * import { ServerCore } from "@ws/core/adapter";
 *
 * const core = new ServerCore({ services: { "/news": defineService({ connected: (conn) => conn.subscribe("news") }) } });
 * // core.hub is the server's TopicHub: conn.subscribe / conn.publish / server.publish go through it
 * const sent = core.hub.publish("news", "hello"); // framed once, the same bytes written to every subscriber
 * console.log(sent, core.hub.subscriberCount("news"), core.hub.topicNames); // 0 0 []: nobody connected yet
 * ```
 */
export class TopicHub extends TopicRegistry<Connection> {
  private readonly deflates = new WeakMap<Connection, PerMessageDeflate>();
  private readonly compressEach: boolean;
  private readonly allocate: Allocate;

  /** `allocate`: where the frames written to every subscriber are allocated (the runtime's preference) */
  constructor(options: TopicOptions & { allocate?: Allocate } = {}) {
    super(options);
    this.compressEach = options.settings?.publishCompression === "per-connection";
    this.allocate = options.allocate ?? allocateUint8Array;
  }

  /** The server registers each connection's permessage-deflate state, so published messages can be compressed. */
  setDeflate(conn: Connection, deflate: PerMessageDeflate): void {
    this.deflates.set(conn, deflate);
  }

  protected fanOut(topic: string, message: Message, except: Connection | undefined): number {
    const set = this.topics.get(topic);
    if (!set || set.size === 0 || (set.size === 1 && except && set.has(except))) return 0;
    const text = typeof message === "string";
    const payload = text ? encodeUtf8(message) : message;
    const opcode = text ? Opcode.Text : Opcode.Binary;
    let plain: Uint8Array | undefined;
    let compressed: Map<number, Uint8Array> | undefined; // per window size, for no context takeover
    let count = 0;
    for (const conn of set) {
      if (conn === except) continue;
      if (!this.admit(conn, payload.length)) continue;
      const deflate = this.deflates.get(conn);
      if (deflate && deflate.shouldCompress(payload.length) && (deflate.agreement.sendNoContextTakeover || this.compressEach)) {
        if (deflate.agreement.sendNoContextTakeover) {
          const bits = deflate.agreement.sendWindowBits;
          let frame = compressed?.get(bits);
          if (!frame) {
            frame = encodeFrame(opcode, deflate.compress(payload), { rsv1: true, allocate: this.allocate });
            (compressed ??= new Map()).set(bits, frame);
          }
          conn.publishFrame(frame);
        } else {
          void (text ? conn.sendText(payload) : conn.sendBinary(payload));
        }
      } else {
        conn.publishFrame((plain ??= encodeFrame(opcode, payload, { allocate: this.allocate })));
      }
      count++;
    }
    return count;
  }
}

/**
 * An unmasked (server-role) frame for a whole message.
 *
 * @example
 * ```ts
 * import { encodeMessageFrame } from "@ws/core/adapter";
 *
 * const frame = encodeMessageFrame("hello"); // a text frame, unmasked (a server's): 81 05 68 65 6c 6c 6f
 * console.log(frame.length); // 7: write it to many connections as it is (conn.sendFrame)
 * ```
 */
export function encodeMessageFrame(message: SendData): Uint8Array {
  if (typeof message === "string") return encodeFrame(Opcode.Text, encodeUtf8(message));
  return encodeFrame(Opcode.Binary, toBytes(message));
}
