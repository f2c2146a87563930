/**
 * The vocabulary of a session, below the Connection and everything that deals with one (read queue,
 * listeners, topics): messages, fragments, ready states, the connection's events, and what a connection needs
 * of the server's topics.
 */

/** A received message: a string for text, bytes for binary. */
export type Message = string | Uint8Array;
/** What `send` takes: a string is sent as text, bytes as binary. */
export type SendData = string | Uint8Array | ArrayBuffer | ArrayBufferView;

export type ReadyState = "connecting" | "open" | "closing" | "closed";

/** A chunk of a message received in streaming mode. */
export interface Fragment {
  /** "text" or "binary": the type of the message this chunk belongs to */
  type: "text" | "binary";
  data: Uint8Array;
  /** true on the message's last chunk */
  fin: boolean;
}

/** Writes the pieces of one fragmented message: `write` sends a frame, `end` sends the final one. */
export interface MessageWriter {
  write(chunk: SendData): Promise<boolean>;
  end(chunk?: SendData): Promise<boolean>;
}

/** The events a connection reports to its listeners (onText, onClose, …). */
export const CONNECTION_EVENTS = ["text", "binary", "message", "fragment", "ping", "pong", "close", "drain"] as const;
export type ConnectionEvent = (typeof CONNECTION_EVENTS)[number];

/** Bytes of any binary view, without a copy. */
export function toBytes(data: Uint8Array | ArrayBuffer | ArrayBufferView): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * What a connection needs of its server's topics (server/topics.ts implements it): the connection stays
 * free of the server layer.
 */
export interface ConnectionHub<C> {
  subscribe(conn: C, topic: string): void;
  unsubscribe(conn: C, topic: string): void;
  publish(topic: string, message: SendData, except?: C): number;
  removeConnection(conn: C): void;
}
