/**
 * Topics (publish/subscribe inside one server). A published message is framed once and the same bytes are
 * written to every subscriber.
 */
import type { Connection, SendData } from "./connection.ts";
import { encodeFrame, Opcode } from "./frame.ts";
import { encodeUtf8 } from "./utf8.ts";

export class TopicHub {
  private readonly topics = new Map<string, Set<Connection>>();

  subscribe(conn: Connection, topic: string): void {
    let set = this.topics.get(topic);
    if (!set) this.topics.set(topic, (set = new Set()));
    set.add(conn);
    conn.topicSet.add(topic);
  }

  unsubscribe(conn: Connection, topic: string): void {
    const set = this.topics.get(topic);
    if (set?.delete(conn) && set.size === 0) this.topics.delete(topic);
    conn.topicSet.delete(topic);
  }

  /** Forgets a closed connection's subscriptions. */
  removeConnection(conn: Connection): void {
    for (const topic of conn.topicSet) {
      const set = this.topics.get(topic);
      if (set?.delete(conn) && set.size === 0) this.topics.delete(topic);
    }
    conn.topicSet.clear();
  }

  /** Sends to every subscriber of `topic` but `except`; returns how many subscribers it was written to. */
  publish(topic: string, message: SendData, except?: Connection): number {
    const set = this.topics.get(topic);
    if (!set || set.size === 0 || (set.size === 1 && except && set.has(except))) return 0;
    const frame = encodeMessageFrame(message);
    let count = 0;
    for (const conn of set) {
      if (conn === except) continue;
      void conn.sendFrame(frame);
      count++;
    }
    return count;
  }

  subscriberCount(topic: string): number {
    return this.topics.get(topic)?.size ?? 0;
  }

  get topicNames(): string[] {
    return [...this.topics.keys()];
  }
}

/** An unmasked (server-role) frame for a whole message. */
export function encodeMessageFrame(message: SendData): Uint8Array {
  if (typeof message === "string") return encodeFrame(Opcode.Text, encodeUtf8(message));
  const bytes =
    message instanceof Uint8Array
      ? message
      : message instanceof ArrayBuffer
        ? new Uint8Array(message)
        : new Uint8Array(message.buffer, message.byteOffset, message.byteLength);
  return encodeFrame(Opcode.Binary, bytes);
}
