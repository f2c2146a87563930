/**
 * The public Connection: the protocol state machine over a ByteStream, with the three styles of use the
 * project carries over: a service object (Kitura), per-connection handlers and a `closed` promise (Vapor),
 * and pull reading with fragment streaming (Perfect).
 */
import { connectionId } from "./id.ts";
import type { ByteStream } from "./byte-stream.ts";
import { CloseCode, isValidWireCloseCode } from "../wire/close-codes.ts";
import { BackpressureError, consoleLogger, type Logger } from "./errors.ts";
import { concatChunks, COPY_THRESHOLD, Opcode, utf8Length } from "../wire/frame.ts";
import type { UpgradeRequest } from "../wire/handshake.ts";
import { Listeners } from "./listeners.ts";
import { ReadGate, ReadQueue } from "./read-queue.ts";
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
import { DEFAULT_CLOSE_TIMEOUT, DEFAULT_READ_HIGH_WATER_MARK, type ReceiveBudget } from "../protocol/limits.ts";
import { ProtocolState, type CloseInfo, type ProtocolHandler, type ProtocolLimits, type Role } from "../protocol/protocol.ts";
import type { PerMessageDeflate } from "../wire/deflate.ts";
import { encodeUtf8 } from "../wire/utf8.ts";


export interface ConnectionOptions extends ProtocolLimits {
  role: Role;
  request: UpgradeRequest;
  protocol?: string | null;
  /** the negotiated Sec-WebSocket-Extensions value ("" when none) */
  extensions?: string;
  id?: string;
  /** seconds without anything from the peer before a ping; as long again without an answer drops (1006) */
  connectionTimeout?: number;
  /** ms to wait for the peer's close frame (and then for the transport to close) before dropping. Default 5000. */
  closeTimeout?: number;
  /**
   * bytes the send buffer may hold; beyond it the backpressure policy applies. A server connection also stops
   * reading from its peer while its send buffer holds more than half of it. Default: no limit (a server's
   * connections get the server's default, 16 MiB).
   */
  maxBufferedAmount?: number;
  /**
   * what happens beyond maxBufferedAmount: "close" (default) closes the connection with 1008 (the close frame
   * goes out behind what is queued; the close timeout bounds the wait), "reject" refuses the send
   */
  backpressure?: "close" | "reject";
  /**
   * ms within which a message must be complete once its first byte has arrived (a frame, in streaming
   * mode); else the connection closes with 1008. 0: no limit (the default of a bare Connection; a server's
   * connections get 60000).
   */
  messageTimeout?: number;
  /** memory shared by a server's connections for the messages they are receiving (see ReceiveBudget) */
  budget?: ReceiveBudget;
  /** bytes of received messages queued for `read()` before reading from the peer pauses. Default 1 MiB. */
  readHighWaterMark?: number;
  logger?: Logger;
  /** topics, when the connection belongs to a server */
  hub?: ConnectionHub<Connection>;
  /** permessage-deflate state, when negotiated */
  deflate?: PerMessageDeflate;
}


type Timer = ReturnType<typeof setTimeout>;


const EMPTY = new Uint8Array(0);



export type { Fragment, Message, MessageWriter, ReadyState, SendData } from "./message.ts";

export class Connection<Data = unknown> implements AsyncIterable<Message> {
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

  private readonly transport: ByteStream;
  private readonly state: ProtocolState;
  private readonly logger: Logger;
  private readonly closeTimeout: number;
  private readonly maxBufferedAmount: number;
  private readonly backpressure: "close" | "reject";
  private readonly hub: ConnectionHub<Connection> | undefined;
  private resolveClosed: ((info: CloseInfo) => void) | null = null;
  private readyStateValue: ReadyState = "connecting";
  private finalized = false;
  private dropInfo: CloseInfo | null = null;
  /** the close the send-buffer policy started: what to report if the peer never answers it */
  private policyClose: CloseInfo | null = null;
  /** sends refused by the "reject" policy since the last one was logged */
  private refusedSends = 0;

  // output
  private out: Uint8Array[] = [];
  private outBytes = 0;
  /** a queued chunk is a large payload passed on without a copy: keep it that way (writev) */
  private outHasLarge = false;
  private flushScheduled = false;
  private batch: { promise: Promise<boolean>; resolve: (ok: boolean) => void } | null = null;
  private drainWaiters: Array<() => void> = [];
  /** the transport's last write returned false and no drain has come since */
  private transportFull = false;
  private writerActive = false;
  private waitingData: Array<() => void> = [];

  // input
  private readonly listeners: Listeners<ConnectionEvent>;
  /** messages no handler took, for read() (created on first use) */
  private readingQueue: ReadQueue | null = null;
  private readonly readHighWaterMark: number;
  /** why reading from the peer is paused (created on first pause) */
  private readGateValue: ReadGate | null = null;
  /** a server stops reading while its send buffer holds more than this (half of maxBufferedAmount) */
  private readonly sendPauseAt: number;
  /** the transport's events (received bytes, then its end and close) held back until the opener's handlers are attached */
  private held: Array<() => void> | null = null;

  // timers
  private readonly keepaliveMs: number;
  private keepaliveTimer: Timer | null = null;
  private heardFromPeer = false;
  private pingOutstanding = false;
  private closeTimer: Timer | null = null;
  private readonly messageTimeout: number;
  private messageTimer: Timer | null = null;
  /** `state.progress` when the message timer was set */
  private progressAtTimer = 0;

  /** topics this connection is subscribed to (kept by the hub) */
  get topicSet(): Set<string> {
    return (this.topicSetValue ??= new Set<string>());
  }
  /** created on the first subscribe (most connections of a plain echo or RPC service never subscribe) */
  private topicSetValue: Set<string> | null = null;

  constructor(stream: ByteStream, options: ConnectionOptions) {
    this.transport = stream;
    this.id = options.id ?? connectionId();
    this.role = options.role;
    this.request = options.request;
    this.protocol = options.protocol ?? null;
    this.extensions = options.extensions ?? "";
    this.logger = options.logger ?? consoleLogger;
    this.closeTimeout = options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT;
    this.maxBufferedAmount = options.maxBufferedAmount ?? Infinity;
    this.backpressure = options.backpressure ?? "close";
    this.sendPauseAt = options.role === "server" ? this.maxBufferedAmount / 2 : Infinity;
    this.messageTimeout = options.messageTimeout ?? 0;
    this.keepaliveMs = options.connectionTimeout ? (options.connectionTimeout * 1000) / 2 : 0;
    this.hub = options.hub;
    this.listeners = new Listeners(CONNECTION_EVENTS, this, this.logger, this.id);
    this.readHighWaterMark = options.readHighWaterMark ?? DEFAULT_READ_HIGH_WATER_MARK;
    this.state = new ProtocolState(
      {
        role: options.role,
        maxMessageSize: options.maxMessageSize,
        maxFrameSize: options.maxFrameSize,
        maxFragments: options.maxFragments,
        deflate: options.deflate,
        budget: options.budget,
        allocate: stream.allocate,
      },
      new ProtocolEvents(this as Connection<unknown>),
    );
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
    return (this.readingQueue ??= new ReadQueue(this.readHighWaterMark, this.readGate));
  }

  private get readGate(): ReadGate {
    return (this.readGateValue ??= new ReadGate(this.transport));
  }

  // ------------------------------------------------------------------------------------------ lifecycle

  /**
   * Opens the connection and starts reading. `opened` runs once the connection can send and before any
   * message is delivered (the service's `connected`); `head` holds bytes that arrived with the handshake.
   */
  start(head?: Uint8Array, opened?: () => void, holdData = false): void {
    if (this.readyStateValue !== "connecting") return;
    this.readyStateValue = "open";
    if (holdData) {
      // `holdData`: process received bytes only from the next macrotask on (see connectOverStream); the
      // transport's end and close wait behind them, or a close frame held back would be lost (1006)
      const held: Array<() => void> = [];
      if (head && head.length > 0) {
        const first = head;
        held.push(() => this.onData(first));
      }
      head = undefined;
      this.held = held;
      setTimeout(() => {
        this.held = null;
        for (const event of held) if (!this.finalized) event();
      }, 0);
    }
    this.transport.start({
      data: (chunk) => (this.held ? void this.held.push(() => this.onData(chunk)) : this.onData(chunk)),
      drain: () => this.handleDrain(),
      end: () => (this.held ? void this.held.push(() => this.onTransportEnd()) : this.onTransportEnd()),
      close: (error) => (this.held ? void this.held.push(() => this.finalize(error)) : this.finalize(error)),
    });
    if (this.keepaliveMs > 0) this.scheduleKeepalive();
    if (opened) this.listeners.call(opened);
    if (head && head.length > 0 && !this.finalized) this.onData(head);
  }

  get readyState(): ReadyState {
    return this.readyStateValue;
  }

  /** Bytes queued for the peer and not yet handed to the operating system. */
  get bufferedAmount(): number {
    return this.outBytes + this.transport.bufferedAmount;
  }

  /** Topics this connection is subscribed to. */
  get topics(): ReadonlySet<string> {
    return this.topicSet;
  }

  // ------------------------------------------------------------------------------------------- sending

  /**
   * Sends a message: a string as text, bytes as binary. Resolves true once the frame is handed to the
   * transport, false when it could not be sent (the connection is closing, or the send buffer is over its
   * limit). It never rejects, so a send whose result is ignored cannot crash the process.
   */
  send(data: SendData): Promise<boolean> {
    if (typeof data === "string") return this.sendString(data);
    return this.sendData(Opcode.Binary, toBytes(data));
  }

  private sendString(text: string): Promise<boolean> {
    if (!this.canSend()) return Promise.resolve(false);
    if (this.writerActive || this.waitingData.length > 0) return this.sendData(Opcode.Text, encodeUtf8(text));
    const byteLength = utf8Length(text);
    if (!this.admit(byteLength)) return Promise.resolve(false);
    this.state.sendText(text, byteLength);
    return this.flushed();
  }

  /** Sends bytes as a text message (they must be valid UTF-8). */
  sendText(text: string | Uint8Array): Promise<boolean> {
    return typeof text === "string" ? this.sendString(text) : this.sendData(Opcode.Text, text);
  }

  sendBinary(data: Uint8Array | ArrayBuffer | ArrayBufferView): Promise<boolean> {
    return this.sendData(Opcode.Binary, toBytes(data));
  }

  private sendData(opcode: number, payload: Uint8Array): Promise<boolean> {
    if (!this.canSend()) return Promise.resolve(false);
    if (!this.admit(payload.length)) return Promise.resolve(false);
    if (this.writerActive || this.waitingData.length > 0) {
      return new Promise((resolve) => {
        this.waitingData.push(() => {
          if (!this.canSend()) return resolve(false);
          this.state.sendMessage(opcode, payload);
          this.flushed().then(resolve);
        });
      });
    }
    this.state.sendMessage(opcode, payload);
    return this.flushed();
  }

  /** Writes an already encoded frame (a broadcast encodes once for every receiver). */
  sendFrame(frame: Uint8Array): Promise<boolean> {
    if (!this.canSend()) return Promise.resolve(false);
    if (!this.admit(frame.length)) return Promise.resolve(false);
    const write = () => this.enqueue([frame]);
    if (this.writerActive || this.waitingData.length > 0) {
      return new Promise((resolve) => this.waitingData.push(() => (this.canSend() ? (write(), this.flushed().then(resolve)) : resolve(false))));
    }
    write();
    return this.flushed();
  }

  /** Sends a ping (payload of at most 125 bytes); the answer arrives through `onPong`. */
  ping(data: SendData = EMPTY): Promise<boolean> {
    if (!this.canSend()) return Promise.resolve(false);
    this.state.ping(typeof data === "string" ? encodeUtf8(data) : toBytes(data));
    return this.flushed();
  }

  /** Sends an unsolicited pong (a heartbeat that needs no answer). */
  pong(data: SendData = EMPTY): Promise<boolean> {
    if (!this.canSend()) return Promise.resolve(false);
    this.state.pong(typeof data === "string" ? encodeUtf8(data) : toBytes(data));
    return this.flushed();
  }

  /**
   * Sends one message as a sequence of frames (RFC 6455 §5.4): each `write` is one frame, `end` the final
   * one. Other messages wait until it ends; control frames may go between its frames. `write` waits for the
   * send buffer to drain below `highWaterMark` bytes, so a message of any size streams in bounded memory.
   */
  stream(type: "text" | "binary" = "binary", options: { highWaterMark?: number } = {}): MessageWriter {
    const highWaterMark = options.highWaterMark ?? 1024 * 1024;
    let started = false;
    let ended = false;
    let turn: Promise<void> | null = null;
    const acquire = (): Promise<void> => {
      if (turn) return turn;
      if (!this.writerActive && this.waitingData.length === 0) {
        this.writerActive = true;
        turn = Promise.resolve();
      } else {
        turn = new Promise((resolve) => this.waitingData.push(() => { this.writerActive = true; resolve(); }));
      }
      return turn;
    };
    const frame = async (chunk: SendData | undefined, fin: boolean): Promise<boolean> => {
      if (ended) throw new Error("this message has already ended");
      if (fin) ended = true;
      await acquire();
      if (!this.canSend()) {
        if (fin) this.releaseWriter();
        return false;
      }
      const payload = chunk === undefined ? EMPTY : typeof chunk === "string" ? encodeUtf8(chunk) : toBytes(chunk);
      const opcode = started ? Opcode.Continuation : type === "text" ? Opcode.Text : Opcode.Binary;
      started = true;
      this.state.writeFrame(opcode, payload, fin);
      const ok = await this.flushed();
      if (fin) this.releaseWriter();
      else if (this.bufferedAmount > highWaterMark) await this.drained();
      return ok;
    };
    return { write: (chunk) => frame(chunk, false), end: (chunk) => frame(chunk, true) };
  }

  private releaseWriter(): void {
    this.writerActive = false;
    while (!this.writerActive && this.waitingData.length > 0) this.waitingData.shift()!();
  }

  private canSend(): boolean {
    return this.readyStateValue === "open" && !this.state.closing;
  }

  /** Applies the send-buffer limit; false when the send must not go ahead. */
  private admit(size: number): boolean {
    if (this.maxBufferedAmount === Infinity) return true;
    const buffered = this.bufferedAmount;
    if (buffered + size <= this.maxBufferedAmount || buffered === 0) return true;
    if (this.backpressure === "reject") {
      // one line per episode (until the buffer drains), not one per refused send
      if (this.refusedSends++ === 0) {
        this.logger.warn(`connection ${this.id}: ${new BackpressureError(buffered, this.maxBufferedAmount).message}; messages not sent until it drains`);
      }
      return false;
    }
    this.logger.warn(`connection ${this.id}: send buffer over its limit (${buffered} bytes); closing with 1008`);
    this.closeForPolicy(CloseCode.PolicyViolation, "send buffer limit exceeded");
    return false;
  }

  /**
   * Closes because a limit was hit: the close frame goes out behind what is already queued (the peer sees it
   * once it reads that far) and the close timeout bounds the wait; `code` is reported either way.
   */
  private closeForPolicy(code: number, reason: string): void {
    if (this.finalized || this.state.closing || this.state.done) return;
    this.policyClose = { code, reason, wasClean: false };
    this.state.close(code, reason);
    // reading goes on: what the peer sends now is ignored, but its close frame ends the handshake
    this.readGateValue?.let(ReadGate.SEND_BUFFER);
  }

  /**
   * Resolves when everything queued has been handed to the transport and the transport is not full (its last
   * write was accepted, or it has drained since). A transport that never filled up never emits drain, so
   * waiting for its byte count to reach 0 could wait forever.
   */
  drained(): Promise<void> {
    if (this.finalized || (this.outBytes === 0 && !this.transportFull)) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private enqueue(chunks: Uint8Array[]): void {
    for (const c of chunks) {
      this.out.push(c);
      this.outBytes += c.length;
      if (c.length >= COPY_THRESHOLD) this.outHasLarge = true;
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** A promise for the end of the current write batch. */
  private flushed(): Promise<boolean> {
    if (!this.batch) {
      let resolve!: (ok: boolean) => void;
      const promise = new Promise<boolean>((r) => (resolve = r));
      this.batch = { promise, resolve };
    }
    return this.batch.promise;
  }

  /** Hands everything queued in this event-loop turn to the transport in one write. */
  private flush(): void {
    this.flushScheduled = false;
    const batch = this.batch;
    this.batch = null;
    if (this.out.length > 0 && !this.finalized) {
      const chunks = this.out;
      const total = this.outBytes;
      const large = this.outHasLarge;
      this.out = [];
      this.outBytes = 0;
      this.outHasLarge = false;
      let ok: boolean;
      if (chunks.length === 1) ok = this.transport.write(chunks[0]!);
      // small frames of one turn: one buffer, one write (cheaper than a vectored write of many pieces);
      // large payloads (passed on uncopied) go out with a vectored write
      else if ((!large && total <= 64 * 1024) || !this.transport.writev) ok = this.transport.write(concatChunks(chunks, total, this.transport.allocate));
      else ok = this.transport.writev(chunks);
      // backpressure shows in bufferedAmount; after a false return the transport's drain event follows
      this.transportFull = !ok;
      // a server stops reading while its peer does not read what it is sent (echoes, pongs, inflated data)
      if (!ok && this.transport.bufferedAmount > this.sendPauseAt && !this.state.closing) this.readGate.hold(ReadGate.SEND_BUFFER);
    }
    batch?.resolve(!this.finalized);
    if (!this.transportFull && this.outBytes === 0) this.releaseDrainWaiters();
  }

  private handleDrain(): void {
    this.transportFull = false;
    this.refusedSends = 0;
    if (this.readGateValue?.isHeld(ReadGate.SEND_BUFFER) && this.transport.bufferedAmount <= this.sendPauseAt) {
      this.readGateValue.let(ReadGate.SEND_BUFFER);
    }
    this.state.sendDeferredPong();
    this.listeners.emit("drain");
    if (this.outBytes === 0) this.releaseDrainWaiters();
  }

  /** Whether the automatic answer to a ping may be queued now (else only the latest one waits for drain). */
  private mayPong(): boolean {
    return this.bufferedAmount < this.maxBufferedAmount;
  }

  private releaseDrainWaiters(): void {
    if (this.drainWaiters.length === 0) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  // ------------------------------------------------------------------------------------------- closing

  /**
   * Starts the close handshake (RFC 6455 §7.1.2) and resolves when the connection has closed. A peer that
   * does not answer within the close timeout is dropped.
   */
  close(code: number = CloseCode.NormalClosure, reason = ""): Promise<CloseInfo> {
    if (!isValidWireCloseCode(code)) throw new RangeError(`close code ${code} may not be sent`);
    if (this.readyStateValue === "connecting") this.readyStateValue = "open";
    if (!this.finalized && !this.state.closing && !this.state.done) {
      this.state.close(code, reason);
    }
    return this.closed;
  }

  /**
   * Closes at once, without waiting for the peer (Kitura's drop). With a code, a close frame is sent first
   * (best effort); `disconnected` reports the code given, or 1006.
   */
  drop(code?: number, reason = ""): void {
    if (this.finalized) return;
    if (code !== undefined && isValidWireCloseCode(code) && !this.state.closing && !this.state.done) {
      try {
        this.state.close(code, reason);
      } catch {
        // a reason too long for a close frame: drop without one
      }
    }
    this.dropInfo = { code: code ?? CloseCode.AbnormalClosure, reason, wasClean: false };
    this.flush();
    this.transport.destroy();
    this.finalize();
  }

  private startCloseTimer(): void {
    if (this.closeTimer !== null) return;
    this.closeTimer = setTimeout(() => {
      this.closeTimer = null;
      if (this.finalized) return;
      this.logger.info(`connection ${this.id}: no close answer within ${this.closeTimeout} ms; dropping`);
      this.transport.destroy();
      this.finalize();
    }, this.closeTimeout);
    this.transport.unrefTimer?.(this.closeTimer);
  }

  /** The handshake is over (or the connection failed): flush, half-close, and bound the wait for EOF. */
  private endTransport(): void {
    this.readyStateValue = "closing";
    this.flush();
    this.transport.end();
    if (this.closeTimer !== null) {
      clearTimeout(this.closeTimer);
      this.closeTimer = null;
    }
    this.startCloseTimer();
  }

  private onTransportEnd(): void {
    // EOF from the peer. After a completed handshake this is the expected end; before, the peer vanished.
    if (!this.state.done) {
      this.transport.destroy();
      this.finalize();
    }
  }

  private finalize(error?: Error): void {
    if (this.finalized) return;
    this.finalized = true;
    this.readyStateValue = "closed";
    if (this.keepaliveTimer !== null) clearTimeout(this.keepaliveTimer);
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    if (this.messageTimer !== null) clearTimeout(this.messageTimer);
    this.keepaliveTimer = this.closeTimer = this.messageTimer = null;
    this.state.release(); // an unfinished message's memory goes back to the server's budget
    let info = this.dropInfo ?? this.state.closeInfo();
    if (this.policyClose && !info.wasClean && !this.dropInfo) info = this.policyClose;
    if (error && !this.dropInfo && !this.state.done) info.reason ||= error.message;
    this.hub?.removeConnection(this as Connection);
    this.batch?.resolve(false);
    this.batch = null;
    for (const w of this.drainWaiters.splice(0)) w();
    this.readingQueue?.end();
    for (const w of this.waitingData.splice(0)) w();
    this.closeResult = info;
    this.resolveClosed?.(info);
    this.listeners.emit("close", info.code, info.reason);
    this.listeners.flushErrors();
  }

  // ------------------------------------------------------------------------------------------ receiving

  private onData(chunk: Uint8Array): void {
    this.heardFromPeer = true;
    this.state.receive(chunk);
    if (this.messageTimeout > 0 && !this.finalized) {
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
      this.logger.warn(`closing connection ${this.id} with 1008: a message was not completed within ${this.messageTimeout} ms`, {
        code: CloseCode.PolicyViolation,
        remoteAddress: this.request.remoteAddress,
      });
      this.closeForPolicy(CloseCode.PolicyViolation, "message not completed in time");
    }, this.messageTimeout);
    this.transport.unrefTimer?.(this.messageTimer);
  }

  private deliver(message: Message): void {
    if (this.finalized) return; // dropped while the rest of a chunk was being parsed
    const typed = typeof message === "string" ? "text" : "binary";
    if (this.listeners.count(typed) === 0 && this.listeners.count("message") === 0) {
      this.reading.push(message);
      return;
    }
    this.listeners.emit(typed, message);
    this.listeners.emit("message", message);
  }

  private deliverFragment(fragment: Fragment): void {
    if (this.finalized) return;
    this.listeners.emit("fragment", fragment);
  }

  /**
   * Pull reading (Perfect's readStringMessage/readBytesMessage): the next message that no handler consumed.
   * Resolves null once the connection has closed and nothing is left; rejects with ReadTimeoutError when
   * `timeout` ms pass first. Reading pauses the peer while unread messages exceed `readHighWaterMark`.
   */
  read(options: { timeout?: number } = {}): Promise<Message | null> {
    return this.reading.read(options);
  }

  [Symbol.asyncIterator](): AsyncIterator<Message> {
    return this.reading.messages();
  }

  // ------------------------------------------------------------------------------------------- handlers

  onText(fn: (text: string, conn: Connection<Data>) => unknown): () => void {
    return this.listeners.add("text", fn);
  }
  onBinary(fn: (data: Uint8Array, conn: Connection<Data>) => unknown): () => void {
    return this.listeners.add("binary", fn);
  }
  onMessage(fn: (message: Message, conn: Connection<Data>) => unknown): () => void {
    return this.listeners.add("message", fn);
  }
  /** Streaming receive: chunks of each message as they arrive, with `fin` on the last. Messages are then
   * no longer assembled (nor given to onText/onBinary/read) and maxMessageSize no longer applies. */
  onFragment(fn: (fragment: Fragment, conn: Connection<Data>) => unknown): () => void {
    this.state.streaming = true;
    const off = this.listeners.add("fragment", fn);
    return () => {
      off();
      if (this.listeners.count("fragment") === 0) this.state.streaming = false;
    };
  }
  onPing(fn: (payload: Uint8Array, conn: Connection<Data>) => unknown): () => void {
    return this.listeners.add("ping", fn);
  }
  onPong(fn: (payload: Uint8Array, conn: Connection<Data>) => unknown): () => void {
    return this.listeners.add("pong", fn);
  }
  /** Called once, when the connection has closed (Vapor's onClose). */
  onClose(fn: (code: number, reason: string, conn: Connection<Data>) => unknown): () => void {
    if (this.finalized) {
      void this.closed.then((info) => fn(info.code, info.reason, this));
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
    this.requireHub().subscribe(this as Connection, topic);
  }
  unsubscribe(topic: string): void {
    this.requireHub().unsubscribe(this as Connection, topic);
  }
  isSubscribed(topic: string): boolean {
    return this.topicSet.has(topic);
  }
  /** Sends `message` to every subscriber of `topic` except this connection. Returns how many got it. */
  publish(topic: string, message: SendData): number {
    return this.requireHub().publish(topic, message, this as Connection);
  }
  private requireHub(): ConnectionHub<Connection> {
    if (!this.hub) throw new Error("topics need a server: this connection has no topic hub");
    return this.hub;
  }

  // ------------------------------------------------------------------------------------------ keepalive

  private scheduleKeepalive(): void {
    this.keepaliveTimer = setTimeout(() => this.keepaliveTick(), this.keepaliveMs);
    this.transport.unrefTimer?.(this.keepaliveTimer);
  }

  /** Kitura's connectionTimeout: silence for half the timeout → ping; silence for the other half → drop (1006). */
  private keepaliveTick(): void {
    this.keepaliveTimer = null;
    if (this.finalized) return;
    if (this.heardFromPeer) {
      this.heardFromPeer = false;
      this.pingOutstanding = false;
    } else if (this.pingOutstanding || this.state.closing) {
      this.logger.info(`connection ${this.id}: no answer within the connection timeout; dropping`);
      this.drop();
      return;
    } else {
      this.pingOutstanding = true;
      void this.ping();
    }
    this.scheduleKeepalive();
  }
}

/**
 * What the protocol state machine reports, delivered to its Connection: one small object per connection with
 * its methods on the prototype, instead of a closure per event (an idle connection is mostly overhead).
 * Bracket access reaches the Connection's private members: this class is part of its implementation.
 */
class ProtocolEvents implements ProtocolHandler {
  private readonly c: Connection<unknown>;
  constructor(connection: Connection<unknown>) {
    this.c = connection;
  }
  write(chunks: Uint8Array[]): void {
    this.c["enqueue"](chunks);
  }
  text(text: string): void {
    this.c["deliver"](text);
  }
  binary(bytes: Uint8Array): void {
    this.c["deliver"](bytes);
  }
  fragment(data: Uint8Array, isText: boolean, fin: boolean): void {
    this.c["deliverFragment"]({ type: isText ? "text" : "binary", data, fin });
  }
  // once the connection is finalized (a handler dropped it mid-chunk), nothing more reaches the user
  ping(payload: Uint8Array): void {
    if (!this.c["finalized"]) this.c["listeners"].emit("ping", payload);
  }
  pong(payload: Uint8Array): void {
    this.c["pingOutstanding"] = false;
    if (!this.c["finalized"]) this.c["listeners"].emit("pong", payload);
  }
  closeReceived(): void {
    if (this.c["readyStateValue"] === "open") this.c["readyStateValue"] = "closing";
  }
  closeSent(): void {
    this.c["readyStateValue"] = "closing";
    this.c["startCloseTimer"]();
  }
  end(): void {
    this.c["endTransport"]();
  }
  mayPong(): boolean {
    return this.c["mayPong"]();
  }
  violation(code: number, message: string): void {
    this.c["logger"].warn(`closing connection ${this.c.id} with ${code}: ${message}`, {
      code,
      remoteAddress: this.c.request.remoteAddress,
    });
  }
}
