import type { Connection } from "../session/connection.ts";
import type { Message } from "../session/message.ts";
import { TopicRegistry, type TopicOptions } from "./topics.ts";

/**
 * Topics for the runtime engine: subscriptions, the publish policy and the broker (TopicRegistry), each message
 * sent to each subscriber — or, with `native`, handed to the runtime's own publish (Bun's, which frames once),
 * as long as no publish policy is set (a runtime's publish cannot skip or count per subscriber).
 *
 * @example
 * ```ts
 * import { RuntimeServer } from "@ws/core/adapter";
 *
 * const server = new RuntimeServer({ services: {} }, "MyRuntime");
 * // server.hub: the topics of the runtime engine's connections (conn.subscribe / conn.publish)
 * declare function runtimePublish(topic: string, message: string | Uint8Array): void; // a runtime's own, framing once
 * server.hub.native = (topic, message) => runtimePublish(topic, message); // where the runtime can publish itself
 * server.hub.nativeSubscription = (conn, topic, subscribed) => console.log(conn.id, subscribed ? "joins" : "leaves", topic);
 * ```
 */
export class RuntimeHub extends TopicRegistry<Connection> {
  /**
   * The runtime's own publish, when it has one: `except` is the sender (to leave out) or undefined (to every
   * subscriber, e.g. a message from the broker or server.publish).
   */
  native: ((topic: string, message: Message, except: Connection | undefined) => void) | undefined;

  /**
   * The runtime's own subscription of a connection's socket, when it has topics (Bun's, which its native
   * publish needs): called on every subscribe and unsubscribe.
   */
  nativeSubscription: ((conn: Connection, topic: string, subscribed: boolean) => void) | undefined;

  constructor(options: TopicOptions = {}) {
    super(options);
  }

  override subscribe(conn: Connection, topic: string): void {
    if (conn.topicSet.has(topic)) return;
    super.subscribe(conn, topic);
    this.nativeSubscription?.(conn, topic, true);
  }

  override unsubscribe(conn: Connection, topic: string): void {
    if (!conn.topicSet.has(topic)) return;
    super.unsubscribe(conn, topic);
    this.nativeSubscription?.(conn, topic, false);
  }

  protected fanOut(topic: string, message: Message, except: Connection | undefined): number {
    const set = this.topics.get(topic);
    if (!set || set.size === 0) return 0;
    if (this.native && !this.hasPublishPolicy) {
      const count = set.size - (except && set.has(except) ? 1 : 0);
      if (count > 0) this.native(topic, message, except);
      return count;
    }
    const size = typeof message === "string" ? message.length : message.byteLength;
    let count = 0;
    for (const conn of set) {
      if (conn === except) continue;
      if (!this.admit(conn, size)) continue;
      void conn.send(message);
      count++;
    }
    return count;
  }
}
