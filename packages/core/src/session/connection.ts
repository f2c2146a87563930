/**
 * The public Connection, the same on every runtime and engine, over a `Transport` (transport.ts): the RFC 6455
 * state machine over a byte stream (ProtocolTransport), or a runtime's own WebSocket (RuntimeSocketTransport).
 * It carries the three styles of use the project descends from: a service object (Kitura), per-connection
 * handlers and a `closed` promise (Vapor), and pull reading with fragment streaming (Perfect); and what is the
 * same whatever carries the bytes: the send-buffer policy, the heartbeat, the close timeout, topics.
 */
import { connectionId } from "./id.ts";
import type { ByteStream } from "./byte-stream.ts";
import { CloseCode, isValidWireCloseCode } from "../wire/close-codes.ts";
import { BackpressureError, ConnectionClosedError, consoleLogger, UnsupportedError, type Logger, type ProtocolViolationError } from "./errors.ts";
import { utf8Length } from "../wire/frame.ts";
import type { UpgradeRequest } from "../wire/handshake.ts";
import { HANDLER_FAILED, Listeners } from "./listeners.ts";
import { asError, meter, type MetricsHooks } from "./metrics.ts";
import { ReadQueue } from "./read-queue.ts";
import {
  CONNECTION_EVENTS,
  toBytes,
  type ConnectionEvent,
  type ConnectionHub,
  type Fragment,
  type Message,
  type MessageWriter,
  type ReadyState,
  type SendData,
} from "./message.ts";
import { DEFAULT_READ_HIGH_WATER_MARK } from "../protocol/limits.ts";
import { resolveSettings, type Settings } from "../settings/resolve.ts";
import type { ClientSettings } from "../settings/options.generated.ts";
import type { CloseInfo, Role } from "../protocol/protocol.ts";
import { encodeUtf8 } from "../wire/utf8.ts";
import type { Transport, TransportCapabilities, TransportEvents } from "./transport.ts";
import { ProtocolTransport, type ProtocolTransportOptions } from "./protocol-transport.ts";
import { HeartbeatQueue, type HeartbeatMember } from "./heartbeat.ts";

export type { Fragment, Message, MessageWriter, ReadyState, SendData } from "./message.ts";

/**
 * What a Connection is configured with: its settings (`settings`, resolved once by the server or the client
 * for all the connections of a service; or given here one by one, as in `ClientSettings`, and resolved from
 * the table's defaults), and what the connection belongs to.
 */
export interface SessionOptions extends ClientSettings {
  role: Role;
  request: UpgradeRequest;
  protocol?: string | null;
  /** the negotiated Sec-WebSocket-Extensions value ("" when none) */
  extensions?: string;
  id?: string;
  /** the settings, resolved (settings/resolve.ts); when given, the settings given one by one are not read */
  settings?: Settings;
  /** bytes of received messages queued for `read()` before reading from the peer pauses. Default 1 MiB. */
  readHighWaterMark?: number;
  logger?: Logger;
  /**
   * called with the Error each time a handler throws or rejects, and when the peer breaks the protocol
   * (`ProtocolViolationError`, once). What it throws or rejects with is logged, never reported to it again.
   */
  onError?: (error: Error, conn: Connection) => unknown;
  /** metrics hooks (metrics.ts); unset: nothing is measured */
  metrics?: Partial<MetricsHooks>;
  /** topics, when the connection belongs to a server */
  hub?: ConnectionHub<Connection>;
  /**
   * where the keepalive waits: a queue shared by the connections with the same interval (a server passes its
   * own: one timer for all of them). Default: a queue of its own. Its interval must be idleTimeout / 2 ms.
   */
  heartbeat?: HeartbeatQueue;
}

/** A Connection over the core's protocol transport: its own options and the transport's. */
export interface ConnectionOptions extends SessionOptions, Omit<ProtocolTransportOptions, "role" | "logger" | "label" | "settings"> {}

/** The settings of a connection made from `options`: the resolved ones, else those given resolved once. */
function settingsOf(options: SessionOptions, logger: Logger): Settings {
  return options.settings ?? resolveSettings(options.role === "client" ? "client" : "server", [options], (m) => logger.warn({}, m));
}

type Timer = ReturnType<typeof setTimeout>;

/** The transport-events class (declared in Connection's body: see there). */
let SessionEvents: new (conn: Connection<unknown>) => TransportEvents;

const EMPTY = new Uint8Array(0);

/** the loggers that have had the "nothing consumes the messages" warning (`warnUnconsumed`) */
const warnedLoggers = new WeakSet<Logger>();

/**
 * One WebSocket connection, the same on every runtime and engine, server or client side: send (`send`,
 * `sendOrReject`, `stream`), receive in the style you prefer (a service's `received`, `onText` / `onBinary` /
 * `onMessage` listeners, or `read()` and `for await`), topics (`subscribe`, `publish`) and the close
 * (`close`, `drop`, `closed`).
 *
 * @example
 * ```ts
 * import { defineService } from "@ws/core";
 *
 * export const echo = defineService({
 *   async connected(conn) {
 *     // pull reading: each message in turn, null once closed
 *     for await (const message of conn) {
 *       const sent = await conn.send(message); // false if it could not be sent; never rejects
 *       if (!sent) break;
 *     }
 *   },
 *   disconnected(conn, code, reason) {
 *     console.log(conn.id, code, reason);
 *   },
 * });
 * ```
 */
export class Connection<Data = unknown> implements AsyncIterable<Message>, HeartbeatMember {
  readonly id: string;
  readonly role: Role;
  readonly request: UpgradeRequest;
  readonly protocol: string | null;
  readonly extensions: string;
  /** application data attached by the upgrade gate (or by you) */
  data: Data = undefined as Data;
  /** how the connection closed, once it has */
  private closeResult: CloseInfo | null = null;
  private closedPromise: Promise<CloseInfo> | null = null;
  private resolveClosed: ((info: CloseInfo) => void) | null = null;

  private readonly transport: Transport;
  private readonly logger: Logger;
  /** the settings (the same frozen object for all the connections of a service) */
  readonly settings: Settings;
  private readonly hub: ConnectionHub<Connection> | undefined;
  private readyStateValue: ReadyState = "connecting";
  /** sends refused by the "reject" policy since the last one was logged */
  private refusedSends = 0;
  private readonly onError: ((error: Error, conn: Connection) => unknown) | undefined;
  private readonly metrics: Partial<MetricsHooks> | undefined;
  /** with metrics: the send buffer's high-water */
  private peakBuffered = 0;
  /** who started the close: 0 not yet, 1 this side, 2 the peer */
  private closeStarter = 0;

  private readonly listeners: Listeners<ConnectionEvent>;
  /** messages no handler took, for read() (created on first use) */
  private readingQueue: ReadQueue | null = null;
  /** a push handler was attached while messages waited: they go to it in a microtask (`replayQueued`) */
  private replayScheduled = false;
  private readonly readHighWaterMark: number;

  /** the keepalive's queue (null: no keepalive) and this connection's place in it (heartbeat.ts) */
  private readonly heartbeat: HeartbeatQueue | null;
  /** @internal */ heartbeatNext: HeartbeatMember | null = null;
  /** @internal */ heartbeatPrev: HeartbeatMember | null = null;
  /** @internal */ heartbeatDue = -1;
  private heardFromPeer = false;
  private pingOutstanding = false;
  private closeTimer: Timer | null = null;

  /** topics this connection is subscribed to (kept by the hub) */
  get topicSet(): Set<string> {
    return (this.topicSetValue ??= new Set<string>());
  }
  /** created on the first subscribe (most connections of a plain echo or RPC service never subscribe) */
  private topicSetValue: Set<string> | null = null;

  /** `id`: the connection's id, over `options.id` (default: a fresh one) */
  constructor(transport: Transport, options: SessionOptions, id: string = options.id ?? connectionId()) {
    this.transport = transport;
    this.id = id;
    this.role = options.role;
    this.request = options.request;
    this.protocol = options.protocol ?? null;
    this.extensions = options.extensions ?? "";
    this.logger = options.logger ?? consoleLogger;
    const settings = (this.settings = settingsOf(options, this.logger));
    const keepaliveMs = settings.idleTimeout && !transport.capabilities.nativeKeepalive ? settings.idleTimeout / 2 : 0;
    this.heartbeat = keepaliveMs > 0 ? (options.heartbeat?.interval === keepaliveMs ? options.heartbeat : new HeartbeatQueue(keepaliveMs)) : null;
    this.hub = options.hub;
    this.onError = options.onError;
    this.metrics = options.metrics;
    this.listeners = new Listeners(CONNECTION_EVENTS, this, this.logger, this.id);
    this.readHighWaterMark = options.readHighWaterMark ?? DEFAULT_READ_HIGH_WATER_MARK;
  }

  /** A connection over the core's protocol transport (the RFC 6455 state machine on `stream`). */
  static overStream<Data = unknown>(stream: ByteStream, options: ConnectionOptions): Connection<Data> {
    const id = options.id ?? connectionId();
    const logger = options.logger ?? consoleLogger;
    const settings = settingsOf(options, logger);
    const transport = new ProtocolTransport(stream, {
      role: options.role,
      settings,
      deflate: options.deflate,
      budget: options.budget,
      bufferBudget: options.bufferBudget,
      logger,
      label: id,
      remoteAddress: options.request.remoteAddress,
    });
    return new Connection<Data>(transport, options.settings === settings ? options : { ...options, settings }, id);
  }

  /** Resolves once, when the connection has closed, with the close code and reason. */
  get closed(): Promise<CloseInfo> {
    if (!this.closedPromise) {
      this.closedPromise = this.closeResult
        ? Promise.resolve(this.closeResult)
        : new Promise((resolve) => (this.resolveClosed = resolve));
    }
    return this.closedPromise;
  }

  private get reading(): ReadQueue {
    if (!this.readingQueue) {
      const transport = this.transport;
      const report = transport.unreadBytes ? (bytes: number) => transport.unreadBytes!(bytes) : undefined;
      this.readingQueue = new ReadQueue(this.readHighWaterMark, transport.readFlow, () => this.warnUnconsumed(), report);
      if (this.finalized) this.readingQueue.end(); // first read after the close: nothing will come
    }
    return this.readingQueue;
  }

  /**
   * Reading paused the first time while nothing has ever taken a message from the read queue: the messages
   * have no consumer. One warning per logger (a server's connections share one), naming the fix.
   */
  private warnUnconsumed(): void {
    if (warnedLoggers.has(this.logger)) return;
    warnedLoggers.add(this.logger);
    const q = this.readingQueue!;
    this.logger.warn(
      { conn: this.id },
      `connection ${this.id}: reading from the peer paused: ${q.size} received messages wait and nothing consumes them; ` +
        "give the service a received(message, conn) hook, add a handler (conn.onMessage, onText, onBinary), or call conn.read()",
    );
  }

  /**
   * What waits in the read queue: how many received messages no handler took and `read()` has not returned
   * yet, and their size as `readHighWaterMark` counts it (payloads plus `QUEUED_MESSAGE_OVERHEAD` each).
   */
  get unread(): { messages: number; bytes: number } {
    const q = this.readingQueue;
    return { messages: q?.size ?? 0, bytes: q?.bytes ?? 0 };
  }

  private get finalized(): boolean {
    return this.readyStateValue === "closed";
  }

  // ------------------------------------------------------------------------------------------ lifecycle

  /**
   * Opens the connection and starts reading. `opened` runs once the connection can send and before any
   * message is delivered (the service's `connected`); `head` holds bytes that arrived with the handshake;
   * `holdData` processes what arrives only from the next macrotask on (see connectOverStream).
   */
  start(head?: Uint8Array, opened?: () => void, holdData = false): void {
    if (this.readyStateValue !== "connecting") return;
    this.readyStateValue = "open";
    this.transport.attach(new SessionEvents(this as Connection<unknown>), holdData);
    this.heartbeat?.add(this);
    if (this.metrics !== undefined) meter(this.metrics, "opened", this);
    if (opened) this.listeners.call(opened);
    if (head && head.length > 0 && !this.finalized) this.transport.feed(head);
  }

  get readyState(): ReadyState {
    return this.readyStateValue;
  }

  /** Bytes queued for the peer and not yet handed to the operating system. */
  get bufferedAmount(): number {
    return this.transport.bufferedAmount;
  }

  /** Topics this connection is subscribed to. */
  get topics(): ReadonlySet<string> {
    return this.topicSet;
  }

  /** What this connection's transport can do beyond whole messages (else `UnsupportedError`). */
  get capabilities(): TransportCapabilities {
    return this.transport.capabilities;
  }

  private requireCapability(capability: keyof TransportCapabilities, what: string): void {
    if (!this.transport.capabilities[capability]) throw new UnsupportedError(`${this.transport.engineName}: ${what} needs the core engine`);
  }

  // ------------------------------------------------------------------------------------------- sending

  /**
   * Sends a message: a string as text, bytes as binary. Resolves true once the frame is handed to the
   * transport, false when it could not be sent (the connection is closing, or the send buffer is over its
   * limit). It never rejects, so a send whose result is ignored cannot crash the process.
   *
   * @example
   * ```ts
   * import { defineService } from "@ws/core";
   *
   * defineService({
   *   async received(message, conn) {
   *     if (!(await conn.send(typeof message === "string" ? message.toUpperCase() : message))) console.log("not sent: closing");
   *   },
   * });
   * ```
   */
  send(data: SendData): Promise<boolean> {
    if (typeof data === "string") return this.sendString(data);
    return this.sendBytes("binary", toBytes(data));
  }

  private sendString(text: string): Promise<boolean> {
    if (!this.canSend()) return Promise.resolve(false);
    // a UTF-16 unit is at most 3 UTF-8 bytes: the exact length is counted only when that bound does not fit
    if (!this.fits(text.length * 3) && !this.admit(utf8Length(text))) return Promise.resolve(false);
    const sent = this.transport.sendText(text);
    if (this.metrics !== undefined) this.sent("text", utf8Length(text));
    return sent;
  }

  /** Whether `size` more bytes fit the send-buffer limit without applying its policy. */
  private fits(size: number): boolean {
    const buffered = this.transport.bufferedAmount;
    return buffered === 0 || buffered + size <= this.settings.maxBufferedAmount;
  }

  /** Sends bytes as a text message (they must be valid UTF-8). */
  sendText(text: string | Uint8Array): Promise<boolean> {
    return typeof text === "string" ? this.sendString(text) : this.sendBytes("text", text);
  }

  sendBinary(data: Uint8Array | ArrayBuffer | ArrayBufferView): Promise<boolean> {
    return this.sendBytes("binary", toBytes(data));
  }

  private sendBytes(type: "text" | "binary", payload: Uint8Array): Promise<boolean> {
    if (!this.canSend() || !this.admit(payload.length)) return Promise.resolve(false);
    const sent = this.transport.sendBytes(type, payload);
    if (this.metrics !== undefined) this.sent(type, payload.length);
    return sent;
  }

  /** Metrics of a message handed to the transport: messageOut and the send buffer's high-water. */
  private sent(type: "text" | "binary", bytes: number): void {
    const buffered = this.transport.bufferedAmount;
    if (buffered > this.peakBuffered) this.peakBuffered = buffered;
    meter(this.metrics!, "messageOut", this, type, bytes);
  }

  /**
   * Sends like `send()`, but tells why a message was not sent: rejects with `ConnectionClosedError` (with the
   * close code and reason once closed) when the connection is closing or closed, or closes before the message
   * is handed on, and with `BackpressureError` when the send buffer is over `maxBufferedAmount` (under the
   * "close" policy the connection is then closing with 1008 too). Resolves once handed to the transport.
   *
   * @example
   * ```ts
   * import { BackpressureError, ConnectionClosedError, defineService } from "@ws/core";
   *
   * defineService({
   *   backpressure: "reject", // a full send buffer rejects instead of closing with 1008
   *   async received(message, conn) {
   *     try {
   *       await conn.sendOrReject(message);
   *     } catch (error) {
   *       if (error instanceof BackpressureError) console.log(`slow peer: ${error.bufferedAmount} of ${error.limit} bytes`);
   *       else if (error instanceof ConnectionClosedError) console.log(`closed with ${error.code}`);
   *     }
   *   },
   * });
   * ```
   */
  sendOrReject(data: SendData): Promise<void> {
    if (!this.canSend()) return Promise.reject(this.closedError());
    const text = typeof data === "string" ? data : null;
    const bytes = text === null ? toBytes(data as Exclude<SendData, string>) : null;
    const size = text !== null ? utf8Length(text) : bytes!.length;
    const buffered = this.transport.bufferedAmount;
    if (!this.admit(size)) return Promise.reject(new BackpressureError(buffered, this.settings.maxBufferedAmount));
    const sent = text !== null ? this.transport.sendText(text) : this.transport.sendBytes("binary", bytes!);
    if (this.metrics !== undefined) this.sent(text !== null ? "text" : "binary", size);
    return sent.then((ok) => {
      if (!ok) throw this.closedError();
    });
  }

  private closedError(): ConnectionClosedError {
    const info = this.closeResult;
    return info
      ? new ConnectionClosedError(`the connection is closed (${info.code}${info.reason ? `: ${info.reason}` : ""})`, info)
      : new ConnectionClosedError("the connection is closing");
  }

  /** Writes an already encoded frame (a broadcast encodes once for every receiver). */
  sendFrame(frame: Uint8Array): Promise<boolean> {
    this.requireCapability("rawFrames", "sending a pre-encoded frame");
    if (!this.canSend() || !this.admit(frame.length)) return Promise.resolve(false);
    const sent = this.transport.sendFrame(frame);
    if (this.metrics !== undefined) this.sent((frame[0]! & 0x0f) === 1 ? "text" : "binary", frame.length);
    return sent;
  }

  /**
   * @internal As `sendFrame`, for a broadcast (TopicHub), which does not wait for each subscriber: no promise
   * per subscriber. False when not sent (closing, or the send-buffer limit).
   */
  publishFrame(frame: Uint8Array): boolean {
    this.requireCapability("rawFrames", "sending a pre-encoded frame");
    if (!this.canSend() || !this.admit(frame.length)) return false;
    if (this.transport.queueFrame !== undefined) this.transport.queueFrame(frame);
    else void this.transport.sendFrame(frame);
    if (this.metrics !== undefined) this.sent((frame[0]! & 0x0f) === 1 ? "text" : "binary", frame.length);
    return true;
  }

  /** Sends a ping (payload of at most 125 bytes); the answer arrives through `onPong`. */
  ping(data: SendData = EMPTY): Promise<boolean> {
    this.requireCapability("ping", "sending a ping");
    if (!this.canSend()) return Promise.resolve(false);
    return this.transport.sendPing(typeof data === "string" ? encodeUtf8(data) : toBytes(data));
  }

  /** Sends an unsolicited pong (a heartbeat that needs no answer). */
  pong(data: SendData = EMPTY): Promise<boolean> {
    this.requireCapability("ping", "sending a pong");
    if (!this.canSend()) return Promise.resolve(false);
    return this.transport.sendPong(typeof data === "string" ? encodeUtf8(data) : toBytes(data));
  }

  /**
   * Sends one message as a sequence of frames (RFC 6455 §5.4): each `write` is one frame, `end` the final
   * one. Other messages wait until it ends; control frames may go between its frames. `write` waits for the
   * send buffer to drain below `highWaterMark` bytes, so a message of any size streams in bounded memory.
   *
   * @example
   * ```ts
   * import { defineService } from "@ws/core";
   *
   * defineService({
   *   async connected(conn) {
   *     const writer = conn.stream("binary"); // one message, sent as several frames
   *     for (let i = 0; i < 4; i++) await writer.write(new Uint8Array(64 * 1024));
   *     await writer.end();
   *   },
   * });
   * ```
   */
  stream(type: "text" | "binary" = "binary", options: { highWaterMark?: number } = {}): MessageWriter {
    this.requireCapability("fragmentedSend", "fragmented sends (conn.stream())");
    return this.transport.stream(type, options.highWaterMark ?? 1024 * 1024);
  }

  private canSend(): boolean {
    return this.readyStateValue === "open" && this.transport.writable;
  }

  /** Applies the send-buffer limit; false when the send must not go ahead. */
  private admit(size: number): boolean {
    if (this.settings.maxBufferedAmount === Infinity) return true;
    const buffered = this.transport.bufferedAmount;
    if (buffered + size <= this.settings.maxBufferedAmount || buffered === 0) return true;
    if (this.settings.backpressure === "reject") {
      // one line per episode (until the buffer drains), not one per refused send
      if (this.refusedSends++ === 0) {
        this.logger.warn({ conn: this.id }, `connection ${this.id}: ${new BackpressureError(buffered, this.settings.maxBufferedAmount).message}; messages not sent until it drains`);
      }
      return false;
    }
    this.logger.warn({ conn: this.id, code: CloseCode.PolicyViolation }, `connection ${this.id}: send buffer over its limit (${buffered} bytes); closing with 1008`);
    this.transport.closeForPolicy(CloseCode.PolicyViolation, "send buffer limit exceeded");
    return false;
  }

  /** Resolves once everything queued has been handed to the operating system's buffer. */
  drained(): Promise<void> {
    return this.finalized ? Promise.resolve() : this.transport.drained();
  }

  // ------------------------------------------------------------------------------------------- closing

  /**
   * Starts the close handshake (RFC 6455 §7.1.2) and resolves when the connection has closed. A peer that
   * does not answer within the close timeout is dropped.
   *
   * @example
   * ```ts
   * import { CloseCode, defineService } from "@ws/core";
   *
   * defineService({
   *   async received(message, conn) {
   *     if (message === "bye") {
   *       const { code, wasClean } = await conn.close(CloseCode.NormalClosure, "see you"); // the closing handshake
   *       console.log(code, wasClean);
   *     }
   *   },
   * });
   * ```
   */
  close(code: number = CloseCode.NormalClosure, reason = ""): Promise<CloseInfo> {
    if (!isValidWireCloseCode(code)) throw new RangeError(`close code ${code} may not be sent`);
    if (this.readyStateValue === "connecting") this.readyStateValue = "open";
    if (!this.finalized) this.transport.close(code, reason);
    return this.closed;
  }

  /**
   * Closes at once, without waiting for the peer (Kitura's drop). With a code, a close frame is sent first
   * (best effort); `disconnected` reports the code given, or 1006.
   */
  drop(code?: number, reason = ""): void {
    if (this.finalized) return;
    this.closeStarter ||= 1;
    this.transport.drop(code !== undefined && isValidWireCloseCode(code) ? code : undefined, reason);
  }

  /** The close handshake is under way: the close timeout bounds the wait (`restart`: a fresh wait for the end). */
  private handshakeClosing(waitFor: "none" | "start" | "restart"): void {
    if (this.readyStateValue === "open") this.readyStateValue = "closing";
    this.closeStarter ||= waitFor === "none" ? 2 : 1;
    if (waitFor === "none") return;
    if (waitFor === "restart" && this.closeTimer !== null) {
      clearTimeout(this.closeTimer);
      this.closeTimer = null;
    }
    if (this.closeTimer !== null || this.finalized) return;
    this.closeTimer = setTimeout(() => {
      this.closeTimer = null;
      if (this.finalized) return;
      this.logger.info({ conn: this.id }, `connection ${this.id}: no close answer within ${this.settings.closeTimeout} ms; dropping`);
      this.transport.abandon();
    }, this.settings.closeTimeout);
    this.transport.unrefTimer(this.closeTimer);
  }

  private finalize(info: CloseInfo): void {
    if (this.finalized) return;
    this.readyStateValue = "closed";
    this.heartbeat?.remove(this);
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    this.closeTimer = null;
    this.hub?.removeConnection(this as Connection);
    this.readingQueue?.end();
    this.closeResult = info;
    this.resolveClosed?.(info);
    if (this.metrics !== undefined) {
      const close = { ...info, initiatedBy: this.closeStarter === 1 ? ("local" as const) : ("peer" as const), peakBufferedAmount: this.peakBuffered };
      meter(this.metrics, "closed", this, close);
    }
    this.listeners.emit("close", info.code, info.reason);
    this.listeners.flushErrors();
  }

  // ---------------------------------------------------------------------------------------------- errors

  /** A handler threw or rejected (Listeners reports it here, then logs it under its bound). */
  [HANDLER_FAILED](error: Error): void {
    if (this.metrics !== undefined) meter(this.metrics, "handlerError", this, error);
    this.callErrorHook(error);
  }

  /** The peer broke the protocol: the transport has logged it and is closing. */
  private violated(error: ProtocolViolationError): void {
    if (this.metrics !== undefined) meter(this.metrics, "protocolError", this, error);
    this.callErrorHook(error);
  }

  /** The error hook, guarded: what it throws or rejects with is logged (bounded), never reported to it again. */
  private callErrorHook(error: Error): void {
    if (this.onError === undefined) return;
    try {
      const r = this.onError(error, this as Connection);
      if (r instanceof Promise) r.catch((e: unknown) => this.listeners.log(asError(e), "error hook failed"));
    } catch (e) {
      this.listeners.log(asError(e), "error hook failed");
    }
  }

  // ------------------------------------------------------------------------------------------ receiving

  private deliver(message: Message): void {
    if (this.finalized) return; // dropped while the rest of a chunk was being parsed
    if (this.metrics !== undefined) {
      if (typeof message === "string") meter(this.metrics, "messageIn", this, "text", utf8Length(message));
      else meter(this.metrics, "messageIn", this, "binary", message.byteLength);
    }
    // while queued messages wait for their replay, newer ones queue behind them: order is kept
    if (this.replayScheduled || !this.handles(message)) {
      this.reading.push(message);
      return;
    }
    this.emitMessage(message);
  }

  /** Whether a push handler (onText/onBinary/onMessage) takes `message`. */
  private handles(message: Message): boolean {
    return this.listeners.count("message") > 0 || this.listeners.count(typeof message === "string" ? "text" : "binary") > 0;
  }

  private emitMessage(message: Message): void {
    this.listeners.emitOne(typeof message === "string" ? "text" : "binary", message);
    this.listeners.emitOne("message", message);
  }

  /**
   * The early-message trap: messages that arrived before any push handler wait in the read queue; a handler
   * attached later (after a further `await`, say) gets those of the types it takes, in order and exactly once,
   * in a microtask (not inside the on*() call, so it has its unsubscribe function first). Messages received
   * before the close are replayed even once the connection has closed, as `read()` would still return them.
   */
  private pushHandlerAdded(): void {
    if (this.replayScheduled || this.readingQueue === null || this.readingQueue.size === 0) return;
    this.replayScheduled = true;
    queueMicrotask(() => {
      this.replayScheduled = false;
      this.readingQueue!.drain(
        (m) => this.handles(m),
        (m) => this.emitMessage(m),
      );
    });
  }

  /**
   * Pull reading (Perfect's readStringMessage/readBytesMessage): the next message that no handler consumed.
   * Resolves null once the connection has closed and nothing is left; rejects with ReadTimeoutError when
   * `timeout` ms pass first. Reading pauses the peer while unread messages exceed `readHighWaterMark`.
   *
   * @example
   * ```ts
   * import { defineService, ReadTimeoutError } from "@ws/core";
   *
   * defineService({
   *   async connected(conn) {
   *     try {
   *       const hello = await conn.read({ timeout: 5_000 }); // ms; null once the connection has closed
   *       if (hello !== "hello") await conn.close(1008, "say hello first");
   *     } catch (error) {
   *       if (error instanceof ReadTimeoutError) await conn.close(1008, "too slow");
   *     }
   *   },
   * });
   * ```
   */
  read(options: { timeout?: number } = {}): Promise<Message | null> {
    return this.reading.read(options);
  }

  [Symbol.asyncIterator](): AsyncIterator<Message> {
    return this.reading.messages();
  }

  // ------------------------------------------------------------------------------------------- handlers

  /**
   * Text messages; those already waiting in the read queue come first (see `pushHandlerAdded`).
   *
   * @example
   * ```ts
   * import { connect } from "@ws/node";
   *
   * const conn = await connect("ws://localhost:8080/chat");
   * const off = conn.onText((text) => console.log(text)); // also gets what arrived before it was attached
   * off(); // removes the listener
   * ```
   */
  onText(fn: (text: string, conn: Connection<Data>) => unknown): () => void {
    return this.addPushHandler("text", fn);
  }
  /** Binary messages; those already waiting in the read queue come first. */
  onBinary(fn: (data: Uint8Array, conn: Connection<Data>) => unknown): () => void {
    return this.addPushHandler("binary", fn);
  }
  /** Every message; those already waiting in the read queue come first. */
  onMessage(fn: (message: Message, conn: Connection<Data>) => unknown): () => void {
    return this.addPushHandler("message", fn);
  }
  private addPushHandler(event: "text" | "binary" | "message", fn: (...args: never[]) => unknown): () => void {
    const off = this.listeners.add(event, fn);
    this.pushHandlerAdded();
    return off;
  }
  /** Streaming receive: chunks of each message as they arrive, with `fin` on the last. Messages are then
   *
   * @example
   * ```ts
   * import { defineService } from "@ws/core";
   *
   * defineService({
   *   maxMessageSize: Infinity, // streamed: never held whole
   *   connected(conn) {
   *     let bytes = 0;
   *     conn.onFragment((fragment) => {
   *       bytes += fragment.data.byteLength;
   *       if (fragment.fin) console.log(`a ${fragment.type} message of ${bytes} bytes`), (bytes = 0);
   *     });
   *   },
   * });
   * ```
   * no longer assembled (nor given to onText/onBinary/read) and maxMessageSize no longer applies. */
  onFragment(fn: (fragment: Fragment, conn: Connection<Data>) => unknown): () => void {
    this.requireCapability("fragmentedReceive", "fragment streaming (conn.onFragment())");
    this.transport.setStreaming(true);
    const off = this.listeners.add("fragment", fn);
    return () => {
      off();
      if (this.listeners.count("fragment") === 0) this.transport.setStreaming(false);
    };
  }
  onPing(fn: (payload: Uint8Array, conn: Connection<Data>) => unknown): () => void {
    this.requireCapability("ping", "reporting pings");
    return this.listeners.add("ping", fn);
  }
  onPong(fn: (payload: Uint8Array, conn: Connection<Data>) => unknown): () => void {
    this.requireCapability("ping", "reporting pongs");
    return this.listeners.add("pong", fn);
  }
  /** Called once, when the connection has closed (Vapor's onClose). */
  onClose(fn: (code: number, reason: string, conn: Connection<Data>) => unknown): () => void {
    if (this.finalized) {
      void this.closed.then((info) => this.listeners.call(() => fn(info.code, info.reason, this)));
      return () => {};
    }
    return this.listeners.add("close", fn);
  }
  /** Called when the transport's buffer has drained after being full. */
  onDrain(fn: (conn: Connection<Data>) => unknown): () => void {
    return this.listeners.add("drain", fn);
  }

  // --------------------------------------------------------------------------------------------- topics

  subscribe(topic: string): void {
    if (this.finalized) return;
    this.requireHub().subscribe(this as Connection, topic);
  }
  unsubscribe(topic: string): void {
    this.requireHub().unsubscribe(this as Connection, topic);
  }
  isSubscribed(topic: string): boolean {
    return this.topicSet.has(topic);
  }
  /**
   * Sends `message` to every subscriber of `topic` except this connection. Returns how many got it.
   *
   * @example
   * ```ts
   * import { defineService } from "@ws/core";
   *
   * defineService({
   *   connected: (conn) => conn.subscribe("news"),
   *   received(message, conn) {
   *     const reached = conn.publish("news", message); // every subscriber of "news" but conn
   *     console.log(`sent to ${reached}`);
   *   },
   * });
   * ```
   */
  publish(topic: string, message: SendData): number {
    return this.requireHub().publish(topic, message, this as Connection);
  }
  private requireHub(): ConnectionHub<Connection> {
    if (!this.hub) throw new Error("topics need a server: this connection has no topic hub");
    return this.hub;
  }

  // ------------------------------------------------------------------------------------------ keepalive

  /** @internal the heartbeat queue's timer, unref'd by this connection's runtime */
  heartbeatUnref(timer: unknown): void {
    this.transport.unrefTimer(timer);
  }

  /**
   * @internal the keepalive (idleTimeout; Kitura's connectionTimeout), called by the heartbeat queue every half timeout: silence for half
   * the timeout → ping; silence for the other half → drop (1006).
   */
  heartbeatTick(): void {
    if (this.finalized) return;
    if (this.heardFromPeer) {
      this.heardFromPeer = false;
      this.pingOutstanding = false;
    } else if (this.pingOutstanding || this.readyStateValue === "closing") {
      this.logger.info({ conn: this.id }, `connection ${this.id}: no answer within the connection timeout; dropping`);
      this.drop();
      return;
    } else {
      this.pingOutstanding = true;
      if (this.transport.capabilities.ping) void this.ping();
    }
    if (!this.finalized) this.heartbeat!.add(this);
  }

  /**
   * The transport's events, delivered to their Connection: one small object per connection with its methods
   * on the prototype (an idle connection is mostly overhead). Declared inside the class body, it may use the
   * Connection's private steps; nothing else can.
   */
  static {
    SessionEvents = class implements TransportEvents {
      private readonly conn: Connection<unknown>;
      constructor(conn: Connection<unknown>) {
        this.conn = conn;
      }
      message(message: Message): void {
        this.conn.deliver(message);
      }
      fragment(fragment: Fragment): void {
        if (!this.conn.finalized) this.conn.listeners.emit("fragment", fragment);
      }
      ping(payload: Uint8Array): void {
        this.conn.listeners.emit("ping", payload);
      }
      pong(payload: Uint8Array): void {
        this.conn.pingOutstanding = false;
        this.conn.listeners.emit("pong", payload);
      }
      heard(): void {
        this.conn.heardFromPeer = true;
      }
      closing(waitFor: "none" | "start" | "restart"): void {
        this.conn.handshakeClosing(waitFor);
      }
      violation(error: ProtocolViolationError): void {
        this.conn.violated(error);
      }
      drain(): void {
        this.conn.refusedSends = 0;
        this.conn.listeners.emit("drain");
      }
      wantsDrain(): boolean {
        return this.conn.listeners.count("drain") > 0;
      }
      closed(info: CloseInfo): void {
        this.conn.finalize(info);
      }
    };
  }
}
