/**
 * The seam under the one public `Connection`: a transport carries whole messages (and, where it can, frames)
 * to and from the peer; the Connection above it holds everything that is the same whatever carries the bytes
 * (handlers, pull reading, topics, the heartbeat, the close timeout, the send-buffer policy).
 *
 * Two transports exist: `ProtocolTransport` (protocol-transport.ts) runs the RFC 6455 state machine over a
 * `ByteStream`; `RuntimeSocketTransport` (runtime-socket-transport.ts) drives a runtime's own WebSocket
 * (Bun.serve's, Deno.upgradeWebSocket's, a Workers WebSocketPair) through a small `RuntimeSocket`. What a
 * transport cannot do is declared in `capabilities`, and the Connection raises `UnsupportedError` for it in one
 * place.
 */
import type { CloseInfo } from "../protocol/protocol.ts";
import type { ProtocolViolationError } from "./errors.ts";
import type { Fragment, Message, MessageWriter } from "./message.ts";
import type { ReadFlow } from "./read-queue.ts";

/** What a transport can do beyond sending and receiving whole messages. */
export interface TransportCapabilities {
  /** receive a message as it arrives, frame by frame (`onFragment`) */
  readonly fragmentedReceive: boolean;
  /** send one message as several frames (`stream()`) */
  readonly fragmentedSend: boolean;
  /** send pings and pongs, and report the peer's (`ping`, `pong`, `onPing`, `onPong`) */
  readonly ping: boolean;
  /** write a frame encoded elsewhere (a broadcast encodes once for every subscriber) */
  readonly rawFrames: boolean;
  /** the transport runs the heartbeat itself (the runtime pings the peer and closes a silent one) */
  readonly nativeKeepalive: boolean;
}

/** What a transport reports to its Connection. */
export interface TransportEvents {
  message(message: Message): void;
  fragment(fragment: Fragment): void;
  ping(payload: Uint8Array): void;
  pong(payload: Uint8Array): void;
  /** anything arrived from the peer: the heartbeat's evidence that it is alive */
  heard(): void;
  /**
   * The close handshake is under way (our close frame sent, or the peer's received): no more messages may be
   * sent. `waitFor`: start the close timeout now; "restart": the handshake is done, wait as long again for the
   * transport to end.
   */
  closing(waitFor: "none" | "start" | "restart"): void;
  /** the peer broke the protocol or a limit; the transport is closing with `error.code` (once) */
  violation(error: ProtocolViolationError): void;
  /** the send buffer emptied after it was full */
  drain(): void;
  /** whether the Connection has someone waiting for drain (a transport without a drain event polls only then) */
  wantsDrain(): boolean;
  /** the transport is closed, for good; `info` is how (reported to the user exactly once) */
  closed(info: CloseInfo): void;
}

/** A message's type, as the transport sends it. */
export type MessageType = "text" | "binary";

export interface Transport {
  /** the engine's name in error messages: "@ws/core", "Bun.serve", "Deno.upgradeWebSocket" */
  readonly engineName: string;
  readonly capabilities: TransportCapabilities;
  /** where reading from the peer is paused while unread messages pile up */
  readonly readFlow: ReadFlow;
  /** bytes queued for the peer and not yet handed to the operating system */
  readonly bufferedAmount: number;
  /** false once our close frame is on its way (or the transport is done): nothing more may be sent */
  readonly writable: boolean;

  /**
   * Starts delivering events. `hold`: process what arrives only from the next macrotask on (a client's
   * opener attaches its handlers after the handshake resolves).
   */
  attach(events: TransportEvents, hold: boolean): void;
  /** Bytes that arrived with the handshake, processed once the opener has run. */
  feed(head: Uint8Array): void;
  /** Receive frame by frame (`onFragment`) or whole messages. */
  setStreaming(on: boolean): void;

  /** Sends a text message; resolves once handed on (false: not sent). */
  sendText(text: string): Promise<boolean>;
  /** Sends bytes as a message: as binary, or as text (then they must be UTF-8). */
  sendBytes(type: MessageType, bytes: Uint8Array): Promise<boolean>;
  /** Writes an already encoded frame (capability `rawFrames`). */
  sendFrame(frame: Uint8Array): Promise<boolean>;
  /**
   * As `sendFrame`, for a caller that does not wait (a broadcast's frame to each subscriber): no promise is made.
   * Optional; without it the Connection calls `sendFrame` and drops its promise.
   */
  queueFrame?(frame: Uint8Array): void;
  /** Control frames (capability `ping`). */
  sendPing(payload: Uint8Array): Promise<boolean>;
  sendPong(payload: Uint8Array): Promise<boolean>;
  /** One message as a sequence of frames (capability `fragmentedSend`). */
  stream(type: MessageType, highWaterMark: number): MessageWriter;
  /** Resolves once everything queued has been handed to the operating system's buffer. */
  drained(): Promise<void>;

  /** Starts the close handshake with `code` and `reason`. */
  close(code: number, reason: string): void;
  /**
   * Closes because a limit was hit: the close frame goes out behind what is queued (where the transport
   * still accepts it) and `code` is what the connection reports if the peer never answers.
   */
  closeForPolicy(code: number, reason: string): void;
  /** Closes at once; with a code, a close frame is attempted first. Reports `closed` with the given code or 1006. */
  drop(code: number | undefined, reason: string): void;
  /** The close timeout expired: drop without a word and report how the handshake stood. */
  abandon(): void;
  /** Keeps a timer from holding the process open, where the runtime supports that. */
  unrefTimer(timer: unknown): void;
  /** What the Connection's read queue holds now, for a server-wide bound (the core engine's transport counts it). */
  unreadBytes?(bytes: number): void;
}

/** The events of a transport no Connection has attached to yet: nothing happens. */
export const NO_TRANSPORT_EVENTS: TransportEvents = {
  message() {},
  fragment() {},
  ping() {},
  pong() {},
  heard() {},
  closing() {},
  violation() {},
  drain() {},
  wantsDrain: () => false,
  closed() {},
};
