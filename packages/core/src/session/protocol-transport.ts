/**
 * The core engine's transport: the RFC 6455 state machine (`ProtocolState`) over a `ByteStream`. Received bytes
 * go through the parser and come out as the events of `TransportEvents`; what is sent is framed by the state
 * machine and written in batches, one write per event-loop turn. The glue of the modules that each hold one
 * concern: the output batch (send-queue.ts, its base class), the fragmented-send writer and its lock
 * (message-writer.ts), the inflate-rate limiter (inflate-rate.ts); here are what is left of a frame-level
 * transport: deferred pongs, the read pause while the peer does not read what it is sent, and the time limit on
 * a message once it has started (`messageTimeout`).
 */
import type { ByteStream, ByteStreamEvents } from "./byte-stream.ts";
import { CloseCode } from "../wire/close-codes.ts";
import type { PerMessageDeflate } from "../wire/deflate.ts";
import { Opcode } from "../wire/frame.ts";
import { encodeUtf8 } from "../wire/utf8.ts";
import type { ReceiveBudget } from "../protocol/limits.ts";
import { ProtocolState, type CloseInfo, type ProtocolHandler, type Role } from "../protocol/protocol.ts";
import type { Settings } from "../settings/resolve.ts";
import type { BufferBudget, BufferHolder, BufferShare } from "./buffer-budget.ts";
import { ProtocolViolationError, type Logger } from "./errors.ts";
import type { MessageWriter } from "./message.ts";
import { ReadGate } from "./read-queue.ts";
import { SendQueue } from "./send-queue.ts";
import { InflateRate } from "./inflate-rate.ts";
import { messageWriter, SendLock, type MessageWriterHost } from "./message-writer.ts";
import { NO_TRANSPORT_EVENTS, type MessageType, type Transport, type TransportCapabilities, type TransportEvents } from "./transport.ts";

export interface ProtocolTransportOptions {
  role: Role;
  /**
   * the connection's settings, resolved once (settings/resolve.ts): the protocol limits, `maxBufferedAmount`
   * (automatic pongs wait while the send buffer is full; a server stops reading from its peer while more than
   * half of it is queued), `messageTimeout`, `inflateRate`
   */
  settings: Settings;
  /** permessage-deflate state, when negotiated */
  deflate?: PerMessageDeflate;
  /** memory shared by a server's connections for the messages they are receiving (see ReceiveBudget) */
  budget?: ReceiveBudget;
  /** what a server's connections together hold for their peers, send buffers and read queues (see BufferBudget) */
  bufferBudget?: BufferBudget;
  logger: Logger;
  /** names the connection in log lines */
  label: string;
  /** the peer's address, for log lines */
  remoteAddress?: string;
}

type Timer = ReturnType<typeof setTimeout>;

/** The byte-stream-events class (declared in ProtocolTransport's body: see there). */
let StreamEvents: new (transport: ProtocolTransport) => ByteStreamEvents;

const CAPABILITIES: TransportCapabilities = {
  fragmentedReceive: true,
  fragmentedSend: true,
  ping: true,
  rawFrames: true,
  nativeKeepalive: false,
};


/**
 * The core engine's transport under a Connection: the RFC 6455 state machine (`ProtocolState`) over a `ByteStream`,
 * with the output batched (one write per event-loop turn), deferred pongs, read backpressure, the message timeout
 * and the inflate-rate limit.
 *
 * @example
 * ```ts
 * import { resolveSettings } from "@ws/core";
 * import { ProtocolTransport, type TransportEvents } from "@ws/core/adapter";
 * import { memoryStreamPair } from "@ws/core/testing";
 *
 * // ServerCore and connectOverStream make one under each Connection; here it is driven by hand
 * const [socket] = memoryStreamPair(); // any ByteStream: a socket after the 101
 * const transport = new ProtocolTransport(socket, {
 *   role: "server",
 *   settings: resolveSettings("server", [{ maxMessageSize: 1 << 20 }]),
 *   logger: console,
 *   label: "conn-1",
 * });
 * const events: TransportEvents = {
 *   message: (message) => void transport.sendText(`echo: ${String(message)}`),
 *   fragment() {},
 *   ping() {},
 *   pong() {},
 *   heard() {},
 *   closing() {},
 *   violation: (error) => console.log("closing with", error.code), // e.g. 1009 for a message over 1 MiB
 *   drain() {},
 *   wantsDrain: () => false,
 *   closed: (info) => console.log("closed", info.code, info.reason),
 * };
 * transport.attach(events, false);
 * ```
 */
export class ProtocolTransport extends SendQueue implements Transport, ProtocolHandler, BufferHolder, MessageWriterHost {
  readonly engineName = "@ws/core";
  private readonly state: ProtocolState;
  private readonly logger: Logger;
  /** names the connection in log lines */
  readonly label: string;
  private readonly remoteAddress: string | undefined;
  private readonly settings: Settings;
  /** a server stops reading while its send buffer holds more than half of maxBufferedAmount */
  private readonly server: boolean;
  private events: TransportEvents = NO_TRANSPORT_EVENTS;
  /** a server stops reading while its send buffer holds more than this (half of maxBufferedAmount) */
  private get sendPauseAt(): number {
    return this.server ? this.settings.maxBufferedAmount / 2 : Infinity;
  }
  private dropInfo: CloseInfo | null = null;
  /** the close a limit started: what to report if the peer never answers it */
  private policyClose: CloseInfo | null = null;

  // output (the batch itself: SendQueue)
  private readonly bufferBudget: BufferBudget | undefined;
  /** @internal what bufferBudget counts for this connection (null: nothing) */
  bufferShare: BufferShare | null = null;
  /** the turn of data frames while a fragmented message is sent: created by the first `stream()` */
  private lock: SendLock | null = null;

  // input
  /** why reading from the peer is paused (created on first pause) */
  private gate: ReadGate | null = null;
  /** the stream's events held back until the opener's handlers are attached */
  private held: Array<() => void> | null = null;
  private messageTimer: Timer | null = null;
  /** `state.progress` when the message timer was set */
  private progressAtTimer = 0;
  /** the inflate-rate limiter: created on the first inflated message (most connections never compress) */
  private inflateRate: InflateRate | null = null;

  constructor(stream: ByteStream, options: ProtocolTransportOptions) {
    super(stream);
    this.logger = options.logger;
    this.label = options.label;
    this.remoteAddress = options.remoteAddress;
    const settings = (this.settings = options.settings);
    this.server = options.role === "server";
    this.bufferBudget = options.bufferBudget;
    this.state = new ProtocolState(
      {
        role: options.role,
        maxMessageSize: settings.maxMessageSize,
        maxFrameSize: settings.maxFrameSize,
        maxFragments: settings.maxFragments,
        deflate: options.deflate,
        budget: options.budget,
        allocate: stream.allocate,
        allocateMessage: stream.allocateMessage,
        asciiText: stream.asciiText,
      },
      this,
    );
  }

  get capabilities(): TransportCapabilities {
    return CAPABILITIES;
  }

  get readFlow(): ReadGate {
    return (this.gate ??= new ReadGate(this.bytes));
  }

  get bufferedAmount(): number {
    return this.outBytes + this.bytes.bufferedAmount;
  }

  get writable(): boolean {
    return !this.finalized && !this.state.closeSent;
  }

  // ------------------------------------------------------------------------------------------ lifecycle

  attach(events: TransportEvents, hold: boolean): void {
    this.events = events;
    if (hold) {
      // the stream's end and close wait behind the held data, or a close frame held back would be lost (1006)
      const held: Array<() => void> = [];
      this.held = held;
      setTimeout(() => {
        this.held = null;
        for (const event of held) if (!this.finalized) event();
      }, 0);
    }
    this.bytes.start(new StreamEvents(this));
  }

  feed(head: Uint8Array): void {
    if (this.held) this.held.push(() => this.onData(head));
    else if (!this.finalized) this.onData(head);
  }

  setStreaming(on: boolean): void {
    this.state.streaming = on;
  }

  unrefTimer(timer: unknown): void {
    this.bytes.unrefTimer?.(timer);
  }

  // ------------------------------------------------------------------------------------------- sending

  sendText(text: string): Promise<boolean> {
    if (this.lock?.busy) return this.sendBytes("text", encodeUtf8(text));
    this.state.sendText(text);
    return this.flushed();
  }

  sendBytes(type: MessageType, payload: Uint8Array): Promise<boolean> {
    const opcode = type === "text" ? Opcode.Text : Opcode.Binary;
    return this.inTurn(() => this.state.sendMessage(opcode, payload));
  }

  sendFrame(frame: Uint8Array): Promise<boolean> {
    if (this.lock?.busy) return this.inTurn(() => this.enqueueOne(frame, true));
    this.enqueueOne(frame, true);
    return this.flushed();
  }

  queueFrame(frame: Uint8Array): void {
    if (this.lock?.busy) void this.sendFrame(frame);
    else this.enqueueOne(frame, true);
  }

  /** Sends now, or — while a fragmented message is being sent — once it has ended. */
  private inTurn(send: () => void): Promise<boolean> {
    const lock = this.lock;
    if (lock?.busy) {
      return new Promise((resolve) => {
        lock.wait(() => {
          if (!this.writable) return resolve(false);
          send();
          void this.flushed().then(resolve);
        });
      });
    }
    send();
    return this.flushed();
  }

  sendPing(payload: Uint8Array): Promise<boolean> {
    this.state.ping(payload);
    return this.flushed();
  }

  sendPong(payload: Uint8Array): Promise<boolean> {
    this.state.pong(payload);
    return this.flushed();
  }

  /**
   * One message as a sequence of frames (RFC 6455 §5.4): other messages wait until it ends; control frames may
   * go between its frames; each `write` waits for the send buffer to drain below `highWaterMark`.
   */
  stream(type: MessageType, highWaterMark: number): MessageWriter {
    return messageWriter(this, (this.lock ??= new SendLock()), type, highWaterMark);
  }

  /** @internal MessageWriterHost: one frame of a fragmented message, in the current write batch. */
  sendDataFrame(opcode: Opcode, payload: Uint8Array, fin: boolean): Promise<boolean> {
    this.state.writeFrame(opcode, payload, fin);
    return this.flushed();
  }

  /** ProtocolHandler: the state machine's bytes for the peer, in order. */
  write(chunks: Uint8Array[]): void {
    this.enqueue(chunks);
  }

  /** SendQueue: a batch was handed to the stream. */
  protected written(ok: boolean): void {
    // a server stops reading while its peer does not read what it is sent (echoes, pongs, inflated data)
    if (!ok && this.bytes.bufferedAmount > this.sendPauseAt && !this.state.closeSent) this.readFlow.hold(ReadGate.SEND_BUFFER);
    if (this.bufferBudget !== undefined) this.reportSend(this.bytes.bufferedAmount);
  }

  /** What the send buffer holds now, to the server's budget (when it changed). */
  private reportSend(bytes: number): void {
    if (this.finalized || (this.bufferShare === null ? bytes === 0 : this.bufferShare.send === bytes)) return;
    this.bufferBudget!.send(this, bytes);
  }

  /** What the Connection's read queue holds now (its unread messages), to the server's budget. */
  unreadBytes(bytes: number): void {
    if (!this.finalized) this.bufferBudget?.read(this, bytes);
  }

  private onDrain(): void {
    this.streamDrained();
    if (this.bufferBudget !== undefined) this.reportSend(this.bytes.bufferedAmount);
    if (this.gate?.isHeld(ReadGate.SEND_BUFFER) && this.bytes.bufferedAmount <= this.sendPauseAt) {
      this.gate.let(ReadGate.SEND_BUFFER);
    }
    this.state.sendDeferredPong();
    this.events.drain();
    if (this.outBytes === 0) this.releaseDrainWaiters();
  }

  // ------------------------------------------------------------------------------------------- closing

  close(code: number, reason: string): void {
    if (!this.finalized && !this.state.closeSent && !this.state.done) this.state.close(code, reason);
  }

  closeForPolicy(code: number, reason: string): void {
    if (this.finalized || this.state.closeSent || this.state.done) return;
    this.policyClose = { code, reason, wasClean: false };
    this.state.close(code, reason);
    // reading goes on: what the peer sends now is ignored, but its close frame ends the handshake
    this.gate?.let(ReadGate.SEND_BUFFER);
  }

  drop(code: number | undefined, reason: string): void {
    if (this.finalized) return;
    if (code !== undefined && !this.state.closeSent && !this.state.done) {
      try {
        this.state.close(code, reason);
      } catch {
        // a reason too long for a close frame: drop without one
      }
    }
    this.dropInfo = { code: code ?? CloseCode.AbnormalClosure, reason, wasClean: false };
    this.flush();
    this.bytes.destroy();
    this.finalize();
  }

  abandon(): void {
    if (this.finalized) return;
    this.bytes.destroy();
    this.finalize();
  }

  private onStreamEnd(): void {
    // EOF from the peer. After a completed handshake this is the expected end; before, the peer vanished.
    if (!this.state.done) {
      this.bytes.destroy();
      this.finalize();
    }
  }

  private finalize(error?: Error): void {
    if (this.finalized) return;
    this.finalized = true;
    if (this.messageTimer !== null) clearTimeout(this.messageTimer);
    this.messageTimer = null;
    this.inflateRate?.stop();
    this.state.release(); // an unfinished message's memory goes back to the server's budget
    this.bufferBudget?.release(this);
    let info = this.dropInfo ?? this.state.closeInfo();
    if (this.policyClose && !info.wasClean && !this.dropInfo) info = this.policyClose;
    if (error && !this.dropInfo && !this.state.done) info.reason ||= error.message;
    const drainWaiters = this.endBatch();
    const waitingData = this.lock?.takeAll();
    for (const w of drainWaiters) w();
    if (waitingData) for (const w of waitingData) w();
    this.events.closed(info);
  }

  // ------------------------------------------------------------------------------------------ receiving

  private onData(chunk: Uint8Array): void {
    this.events.heard();
    this.state.receive(chunk);
    if (this.settings.messageTimeout > 0 && !this.finalized) {
      if (!this.state.receiving) {
        if (this.messageTimer !== null) {
          clearTimeout(this.messageTimer);
          this.messageTimer = null;
        }
      } else if (this.messageTimer === null) {
        this.startMessageTimer();
      }
    }
  }

  /**
   * A message has begun: it must end within messageTimeout. When the timer fires with a later message in
   * progress (the stream never paused between messages), that one gets its own full timeout.
   */
  private startMessageTimer(): void {
    this.progressAtTimer = this.state.progress;
    this.messageTimer = setTimeout(() => {
      this.messageTimer = null;
      if (this.finalized || !this.state.receiving) return;
      if (this.state.progress !== this.progressAtTimer) return this.startMessageTimer();
      this.violation(CloseCode.PolicyViolation, `a message was not completed within ${this.settings.messageTimeout} ms`);
      this.closeForPolicy(CloseCode.PolicyViolation, "message not completed in time");
    }, this.settings.messageTimeout);
    this.bytes.unrefTimer?.(this.messageTimer);
  }

  // ------------------------------------------------------------ ProtocolHandler: the state machine's events

  text(text: string): void {
    if (!this.finalized) this.events.message(text); // not once dropped while the rest of a chunk was parsed
  }
  binary(bytes: Uint8Array): void {
    if (!this.finalized) this.events.message(bytes);
  }
  fragment(data: Uint8Array, isText: boolean, fin: boolean): void {
    if (!this.finalized) this.events.fragment({ type: isText ? "text" : "binary", data, fin });
  }
  ping(payload: Uint8Array): void {
    if (!this.finalized) this.events.ping(payload);
  }
  pong(payload: Uint8Array): void {
    if (!this.finalized) this.events.pong(payload);
  }
  closeReceived(): void {
    this.events.closing("none");
  }
  closeSent(): void {
    this.events.closing("start");
  }
  /** the handshake is over (or the connection failed): flush, half-close, and bound the wait for EOF */
  end(): void {
    this.flush();
    this.bytes.end();
    this.events.closing("restart");
  }
  mayPong(): boolean {
    return this.bufferedAmount < this.settings.maxBufferedAmount;
  }
  /** Charges inflated bytes to the inflate-rate limiter (inflate-rate.ts), which may hold reading. */
  inflated(bytes: number): void {
    const rate = this.settings.inflateRate;
    if (rate === Infinity || this.finalized) return;
    if ((this.inflateRate ??= new InflateRate(rate, this)).charge(bytes)) {
      this.logger.warn(
        { conn: this.label, remoteAddress: this.remoteAddress },
        `connection ${this.label}: reading paused: the peer sends compressed data faster than inflateRate (${rate} bytes/s of inflated data)`,
      );
    }
  }
  violation(code: number, message: string): void {
    const err = new ProtocolViolationError(code, message);
    this.logger.warn({ err, conn: this.label, code, remoteAddress: this.remoteAddress }, `closing connection ${this.label} with ${code}: ${message}`);
    this.events.violation(err);
  }

  /**
   * The byte stream's events, delivered to their transport: one small object per connection with its methods
   * on the prototype rather than four closures (an idle connection's memory is mostly such overhead). Declared
   * in the class body, it may use the transport's private steps; nothing else can.
   */
  static {
    StreamEvents = class implements ByteStreamEvents {
      private readonly transport: ProtocolTransport;
      constructor(transport: ProtocolTransport) {
        this.transport = transport;
      }
      data(chunk: Uint8Array): void {
        const t = this.transport;
        if (t.held) t.held.push(() => t.onData(chunk));
        else t.onData(chunk);
      }
      drain(): void {
        this.transport.onDrain();
      }
      end(): void {
        const t = this.transport;
        if (t.held) t.held.push(() => t.onStreamEnd());
        else t.onStreamEnd();
      }
      close(error?: Error): void {
        const t = this.transport;
        if (t.held) t.held.push(() => t.finalize(error));
        else t.finalize(error);
      }
    };
  }
}
