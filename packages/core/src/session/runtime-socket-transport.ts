/**
 * The runtime engine's transport: a runtime's own built-in WebSocket (Bun.serve's ServerWebSocket,
 * Deno.upgradeWebSocket's WebSocket, a Workers WebSocketPair) under the one public `Connection`. The runtime
 * does the framing; each adapter wraps its socket as a `RuntimeSocket` and calls the `handle*` methods from
 * the runtime's events. What the runtime's socket cannot do is declared in `capabilities` (the Connection
 * raises `UnsupportedError` for it); the rest of the Connection API behaves as on the core engine.
 */
import { CloseCode, MAX_CLOSE_REASON_BYTES } from "../wire/close-codes.ts";
import { utf8Length } from "../wire/frame.ts";
import { decodeUtf8Strict } from "../wire/utf8.ts";
import type { CloseInfo } from "../protocol/protocol.ts";
import { ProtocolViolationError, type Logger } from "./errors.ts";
import type { Message, MessageWriter } from "./message.ts";
import { NO_TRANSPORT_EVENTS, type MessageType, type Transport, type TransportCapabilities, type TransportEvents } from "./transport.ts";
import { NO_WAITERS } from "./send-queue.ts";

/** What an adapter provides over its runtime's socket. Optional members are capabilities the runtime may lack. */
export interface RuntimeSocket {
  /** the engine's name in error messages: "Bun.serve", "Deno.upgradeWebSocket" */
  readonly engineName: string;
  /** false: the message could not be queued (socket closed or buffer limit) */
  sendText(text: string): boolean;
  sendBinary(bytes: Uint8Array): boolean;
  close(code: number, reason: string): void;
  /** closes the TCP connection at once */
  terminate(): void;
  readonly bufferedAmount: number;
  /** the runtime emits drain (else it is polled) */
  readonly hasDrainEvent: boolean;
  ping?(data: Uint8Array): void;
  pong?(data: Uint8Array): void;
  /** stop / restart reading from the peer (read backpressure) */
  pause?(): void;
  resume?(): void;
}

/** What the runtime socket transport needs to know of its connection's settings. */
export interface RuntimeSocketSettings {
  /** larger messages close with 1009 (the runtime delivers whole messages; this is checked on delivery) */
  maxMessageSize: number;
  /** the runtime runs the heartbeat itself (Deno's idleTimeout) */
  keepaliveNative: boolean;
  logger: Logger;
  /** names the connection in log lines */
  label: string;
}

type Timer = ReturnType<typeof setTimeout>;

/** What a runtime's socket can do, by [ping] + 2 × [keepaliveNative]: shared by the connections of each kind. */
const RUNTIME_CAPABILITIES: TransportCapabilities[] = [0, 1, 2, 3].map((k) => ({
  fragmentedReceive: false,
  fragmentedSend: false,
  ping: (k & 1) !== 0,
  rawFrames: false,
  nativeKeepalive: (k & 2) !== 0,
}));



/**
 * The runtime engine's transport: a runtime's own WebSocket, wrapped as a `RuntimeSocket`, under the one public
 * Connection. The adapter calls its `handle*` methods from the runtime's events.
 *
 * @example
 * ```ts
 * import { RuntimeSocketTransport, type RuntimeSocket } from "@ws/core/adapter";
 *
 * // RuntimeServer.connection(socket, req, verdict) makes one with its Connection; standing alone:
 * const socket: RuntimeSocket = {
 *   engineName: "MyRuntime",
 *   sendText: (text) => (console.log("out:", text), true),
 *   sendBinary: () => true,
 *   close: (code, reason) => console.log("close frame", code, reason),
 *   terminate() {},
 *   bufferedAmount: 0,
 *   hasDrainEvent: false,
 * };
 * const transport = new RuntimeSocketTransport(socket, { maxMessageSize: 1024, keepaliveNative: false, logger: console, label: "conn-1" });
 * // the runtime's events:
 * transport.handleMessage("hello"); // a whole message, as the runtime delivers it
 * transport.handleMessage(new Uint8Array(2048)); // over maxMessageSize: closes with 1009
 * transport.handleClose(1009, "message too big"); // the runtime reports the socket closed
 * ```
 */
export class RuntimeSocketTransport implements Transport {
  private readonly socket: RuntimeSocket;
  private readonly settings: RuntimeSocketSettings;
  readonly capabilities: TransportCapabilities;
  private events: TransportEvents = NO_TRANSPORT_EVENTS;
  private finalized = false;
  private sentClose = false;
  /** the close a limit started: what to report if the runtime reports an abnormal end */
  private policyClose: CloseInfo | null = null;
  /** who waits for the runtime's buffer to drain (the shared empty list until someone does) */
  private drainWaiters: Array<() => void> = NO_WAITERS;
  private drainPoll: Timer | null = null;

  constructor(socket: RuntimeSocket, settings: RuntimeSocketSettings) {
    this.socket = socket;
    this.settings = settings;
    // one of four shared objects, not one per connection
    this.capabilities = RUNTIME_CAPABILITIES[(socket.ping !== undefined ? 1 : 0) + (settings.keepaliveNative ? 2 : 0)]!;
  }

  get engineName(): string {
    return this.socket.engineName;
  }

  get readFlow(): RuntimeSocket {
    return this.socket;
  }

  get bufferedAmount(): number {
    return this.finalized ? 0 : this.socket.bufferedAmount;
  }

  get writable(): boolean {
    return !this.finalized && !this.sentClose;
  }

  attach(events: TransportEvents): void {
    this.events = events;
  }

  feed(): void {
    // the runtime consumed the handshake; nothing arrives with it
  }

  setStreaming(): void {
    // never on: the Connection checks `capabilities.fragmentedReceive` first
  }

  unrefTimer(timer: unknown): void {
    (timer as { unref?: () => void }).unref?.();
  }

  // ------------------------------------------------------------------------------------------- sending

  sendText(text: string): Promise<boolean> {
    return Promise.resolve(this.afterSend(this.socket.sendText(text)));
  }

  sendBytes(type: MessageType, bytes: Uint8Array): Promise<boolean> {
    if (type === "binary") return Promise.resolve(this.afterSend(this.socket.sendBinary(bytes)));
    // the runtime takes text as a string: bytes that are not UTF-8 cannot be sent as text
    const text = decodeUtf8Strict(bytes);
    if (text === null) {
      this.settings.logger.warn({ conn: this.settings.label }, `connection ${this.settings.label}: sendText with bytes that are not UTF-8; not sent`);
      return Promise.resolve(false);
    }
    return this.sendText(text);
  }

  sendFrame(): Promise<boolean> {
    return Promise.resolve(false); // capability rawFrames is off: the Connection never calls this
  }

  sendPing(payload: Uint8Array): Promise<boolean> {
    this.socket.ping?.(payload);
    return Promise.resolve(true);
  }

  sendPong(payload: Uint8Array): Promise<boolean> {
    this.socket.pong?.(payload);
    return Promise.resolve(true);
  }

  stream(): MessageWriter {
    throw new Error("fragmented sends need the core engine"); // capability fragmentedSend is off
  }

  drained(): Promise<void> {
    if (this.finalized || this.socket.bufferedAmount === 0) return Promise.resolve();
    return new Promise((resolve) => {
      if (this.drainWaiters === NO_WAITERS) this.drainWaiters = [];
      this.drainWaiters.push(resolve);
      this.watchDrain();
    });
  }

  private afterSend(ok: boolean): boolean {
    if (ok && this.socket.bufferedAmount > 0 && (this.events.wantsDrain() || this.drainWaiters.length > 0)) this.watchDrain();
    return ok;
  }

  /** Runtimes without a drain event are polled while someone waits for one. */
  private watchDrain(): void {
    if (this.socket.hasDrainEvent || this.drainPoll !== null) return;
    const poll = () => {
      this.drainPoll = null;
      if (this.finalized) return;
      if (this.socket.bufferedAmount === 0) this.handleDrain();
      else this.drainPoll = setTimeout(poll, 5);
    };
    this.drainPoll = setTimeout(poll, 5);
  }

  // ------------------------------------------------------------------------------------------- closing

  close(code: number, reason: string): void {
    if (this.finalized || this.sentClose) return;
    if (utf8Length(reason) > MAX_CLOSE_REASON_BYTES) throw new RangeError(`close reason longer than ${MAX_CLOSE_REASON_BYTES} bytes`);
    this.sentClose = true;
    this.socket.close(code, reason);
    this.events.closing("start");
  }

  closeForPolicy(code: number, reason: string): void {
    if (this.finalized || this.sentClose) return;
    this.policyClose = { code, reason, wasClean: false };
    this.close(code, reason);
  }

  drop(code: number | undefined, reason: string): void {
    if (this.finalized) return;
    if (code !== undefined && !this.sentClose) {
      try {
        this.socket.close(code, reason); // best effort: the close frame, then the TCP connection goes
      } catch {
        // a reason too long for a close frame: drop without one
      }
    }
    this.socket.terminate();
    this.finish({ code: code ?? CloseCode.AbnormalClosure, reason, wasClean: false });
  }

  abandon(): void {
    if (this.finalized) return;
    this.socket.terminate();
    this.finish(this.policyClose ?? { code: CloseCode.AbnormalClosure, reason: "no close frame received", wasClean: false });
  }

  private finish(info: CloseInfo): void {
    if (this.finalized) return;
    this.finalized = true;
    if (this.drainPoll !== null) clearTimeout(this.drainPoll);
    this.drainPoll = null;
    const waiters = this.drainWaiters;
    this.drainWaiters = NO_WAITERS;
    for (const w of waiters) w();
    this.events.closed(info);
  }

  // ------------------------------------------------------------------- the runtime's events (the adapter calls)

  /** A message from the runtime. */
  handleMessage(message: Message): void {
    this.events.heard();
    if (this.finalized || this.sentClose) return;
    const size = typeof message === "string" ? utf8Length(message) : message.byteLength;
    if (size > this.settings.maxMessageSize) {
      const err = new ProtocolViolationError(CloseCode.MessageTooBig, `message of ${size} bytes is over the limit of ${this.settings.maxMessageSize}`);
      this.settings.logger.warn({ err, conn: this.settings.label, code: err.code }, `closing connection ${this.settings.label} with 1009: ${err.message}`);
      this.events.violation(err);
      this.close(CloseCode.MessageTooBig, "message too big");
      return;
    }
    this.events.message(message);
  }

  handlePing(payload: Uint8Array): void {
    this.events.heard();
    if (!this.finalized) this.events.ping(payload);
  }

  handlePong(payload: Uint8Array): void {
    this.events.heard();
    if (!this.finalized) this.events.pong(payload);
  }

  /** The runtime's drain event. */
  handleDrain(): void {
    this.events.drain();
    if (this.socket.bufferedAmount === 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = NO_WAITERS;
      for (const w of waiters) w();
    }
  }

  /** The runtime's close event: the connection is closed (1005: the peer's close frame had no code). */
  handleClose(code: number, reason: string): void {
    const clean = code !== CloseCode.AbnormalClosure;
    if (!clean && this.policyClose) return this.finish(this.policyClose);
    this.finish({ code, reason, wasClean: clean });
  }
}
