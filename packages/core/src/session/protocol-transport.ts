/**
 * The core engine's transport: the RFC 6455 state machine (`ProtocolState`) over a `ByteStream`. Received bytes
 * go through the parser and come out as the events of `TransportEvents`; what is sent is framed by the state
 * machine and written in batches, one write per event-loop turn. It also holds what only a frame-level
 * transport can do: the fragmented-send lock (`stream()`), deferred pongs, the read pause while the peer does
 * not read what it is sent, and the time limit on a message once it has started (`messageTimeout`).
 */
import type { ByteStream, ByteStreamEvents } from "./byte-stream.ts";
import { CloseCode } from "../wire/close-codes.ts";
import type { PerMessageDeflate } from "../wire/deflate.ts";
import { concatChunks, COPY_THRESHOLD, Opcode, utf8Length } from "../wire/frame.ts";
import { encodeUtf8 } from "../wire/utf8.ts";
import type { ReceiveBudget } from "../protocol/limits.ts";
import { ProtocolState, type CloseInfo, type ProtocolHandler, type Role } from "../protocol/protocol.ts";
import type { Settings } from "../settings/resolve.ts";
import type { BufferBudget, BufferHolder, BufferShare } from "./buffer-budget.ts";
import { ProtocolViolationError, type Logger } from "./errors.ts";
import { toBytes, type MessageWriter, type SendData } from "./message.ts";
import { ReadGate } from "./read-queue.ts";
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

interface InflateAccount {
  /** bytes that may still be inflated now (negative: the debt that holds reading) */
  credit: number;
  /** ms of the last update */
  at: number;
  /** pending resume of reading */
  timer: Timer | null;
  /** the one log line per connection has been written */
  logged: boolean;
}

/** The empty list of waiters an idle transport points at: replaced on first use, never pushed to. */
const NO_WAITERS: Array<() => void> = Object.freeze([]) as unknown as Array<() => void>;

/** The byte-stream-events class (declared in ProtocolTransport's body: see there). */
let StreamEvents: new (transport: ProtocolTransport) => ByteStreamEvents;

/** Credits what `rate` bytes per second earned since the last update, up to one second's worth. */
function refill(account: InflateAccount, rate: number): void {
  const now = Date.now();
  account.credit = Math.min(rate, account.credit + ((now - account.at) * rate) / 1000);
  account.at = now;
}

/**
 * Frames written to several connections (a broadcast) of this size or more are handed to the stream as they
 * are, never copied into a connection's write batch, so one buffer serves every receiver however many frames
 * go out in a turn. Smaller ones are copied together with their neighbours: a copy of so few bytes costs less
 * than the stream's bookkeeping of one more buffer.
 */
export const SHARED_FRAME_MIN = 256;

const CAPABILITIES: TransportCapabilities = {
  fragmentedReceive: true,
  fragmentedSend: true,
  ping: true,
  rawFrames: true,
  nativeKeepalive: false,
};


export class ProtocolTransport implements Transport, ProtocolHandler, BufferHolder {
  readonly engineName = "@ws/core";
  private readonly bytes: ByteStream;
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
  private finalized = false;
  private dropInfo: CloseInfo | null = null;
  /** the close a limit started: what to report if the peer never answers it */
  private policyClose: CloseInfo | null = null;

  // output
  private out: Uint8Array[] = [];
  private outBytes = 0;
  /** a queued chunk is a large payload passed on without a copy: keep it that way (writev) */
  private outHasLarge = false;
  /** a queued chunk is a frame shared with other connections (sendFrame): pass it on by reference */
  private outHasShared = false;
  private readonly bufferBudget: BufferBudget | undefined;
  /** @internal what bufferBudget counts for this connection (null: nothing) */
  bufferShare: BufferShare | null = null;
  private flushScheduled = false;
  private batch: { promise: Promise<boolean>; resolve: (ok: boolean) => void } | null = null;
  /** who waits for the send buffer to drain (the shared empty list until someone does) */
  private drainWaiters: Array<() => void> = NO_WAITERS;
  /** the stream's last write returned false and no drain has come since */
  private streamFull = false;
  private writerActive = false;
  /** sends waiting for a fragmented message to end (the shared empty list until one does) */
  private waitingData: Array<() => void> = NO_WAITERS;

  // input
  /** why reading from the peer is paused (created on first pause) */
  private gate: ReadGate | null = null;
  /** the stream's events held back until the opener's handlers are attached */
  private held: Array<() => void> | null = null;
  private messageTimer: Timer | null = null;
  /** `state.progress` when the message timer was set */
  private progressAtTimer = 0;
  /** the inflate-rate account: created on the first inflated message (most connections never compress) */
  private inflateAccount: InflateAccount | null = null;

  constructor(stream: ByteStream, options: ProtocolTransportOptions) {
    this.bytes = stream;
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
    if (this.writerActive || this.waitingData.length > 0) return this.sendBytes("text", encodeUtf8(text));
    this.state.sendText(text, utf8Length(text));
    return this.flushed();
  }

  sendBytes(type: MessageType, payload: Uint8Array): Promise<boolean> {
    const opcode = type === "text" ? Opcode.Text : Opcode.Binary;
    return this.inTurn(() => this.state.sendMessage(opcode, payload));
  }

  sendFrame(frame: Uint8Array): Promise<boolean> {
    return this.inTurn(() => this.enqueue([frame], true));
  }

  /** Sends now, or — while a fragmented message is being sent — once it has ended. */
  private inTurn(send: () => void): Promise<boolean> {
    if (this.writerActive || this.waitingData.length > 0) {
      return new Promise((resolve) => {
        this.waitQueue().push(() => {
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
    let started = false;
    let ended = false;
    let turn: Promise<void> | null = null;
    const acquire = (): Promise<void> => {
      if (turn) return turn;
      if (!this.writerActive && this.waitingData.length === 0) {
        this.writerActive = true;
        turn = Promise.resolve();
      } else {
        turn = new Promise((resolve) =>
          this.waitQueue().push(() => {
            this.writerActive = true;
            resolve();
          }),
        );
      }
      return turn;
    };
    const frame = async (chunk: SendData | undefined, fin: boolean): Promise<boolean> => {
      if (ended) throw new Error("this message has already ended");
      if (fin) ended = true;
      await acquire();
      if (!this.writable) {
        if (fin) this.releaseWriter();
        return false;
      }
      const payload = chunk === undefined ? new Uint8Array(0) : typeof chunk === "string" ? encodeUtf8(chunk) : toBytes(chunk);
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

  private waitQueue(): Array<() => void> {
    if (this.waitingData === NO_WAITERS) this.waitingData = [];
    return this.waitingData;
  }

  private releaseWriter(): void {
    this.writerActive = false;
    while (!this.writerActive && this.waitingData.length > 0) this.waitingData.shift()!();
  }

  /**
   * Resolves when everything queued has been handed to the stream and the stream is not full (its last write
   * was accepted, or it has drained since). A stream that never filled up never emits drain, so waiting for
   * its byte count to reach 0 could wait forever.
   */
  drained(): Promise<void> {
    if (this.finalized || (this.outBytes === 0 && !this.streamFull)) return Promise.resolve();
    if (this.drainWaiters === NO_WAITERS) this.drainWaiters = [];
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** ProtocolHandler: the state machine's bytes for the peer, in order. */
  write(chunks: Uint8Array[]): void {
    this.enqueue(chunks);
  }

  /** `shared`: the chunks are written to other connections too (a broadcast frame) */
  private enqueue(chunks: Uint8Array[], shared = false): void {
    for (const c of chunks) {
      this.out.push(c);
      this.outBytes += c.length;
      if (c.length >= COPY_THRESHOLD) this.outHasLarge = true;
      if (shared && c.length >= SHARED_FRAME_MIN) this.outHasShared = true;
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

  /** Hands everything queued in this event-loop turn to the stream in one write. */
  private flush(): void {
    this.flushScheduled = false;
    const batch = this.batch;
    this.batch = null;
    if (this.out.length > 0 && !this.finalized) {
      const chunks = this.out;
      const total = this.outBytes;
      const large = this.outHasLarge;
      const shared = this.outHasShared;
      this.out = [];
      this.outBytes = 0;
      this.outHasLarge = false;
      this.outHasShared = false;
      const stream = this.bytes;
      let ok: boolean;
      if (chunks.length === 1) ok = stream.write(chunks[0]!);
      // a broadcast frame stays one buffer for all its receivers: only the small chunks around it are copied
      else if (shared) ok = writeKeepingShared(stream, chunks);
      // small frames of one turn: one buffer, one write (cheaper than a vectored write of many pieces);
      // large payloads (passed on uncopied) go out with a vectored write
      else if ((!large && total <= 64 * 1024) || !stream.writev) ok = stream.write(concatChunks(chunks, total, stream.allocate));
      else ok = stream.writev(chunks);
      // backpressure shows in bufferedAmount; after a false return the stream's drain event follows
      this.streamFull = !ok;
      // a server stops reading while its peer does not read what it is sent (echoes, pongs, inflated data)
      if (!ok && stream.bufferedAmount > this.sendPauseAt && !this.state.closeSent) this.readFlow.hold(ReadGate.SEND_BUFFER);
      if (this.bufferBudget !== undefined) this.reportSend(stream.bufferedAmount);
    }
    batch?.resolve(!this.finalized);
    if (!this.streamFull && this.outBytes === 0) this.releaseDrainWaiters();
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
    this.streamFull = false;
    if (this.bufferBudget !== undefined) this.reportSend(this.bytes.bufferedAmount);
    if (this.gate?.isHeld(ReadGate.SEND_BUFFER) && this.bytes.bufferedAmount <= this.sendPauseAt) {
      this.gate.let(ReadGate.SEND_BUFFER);
    }
    this.state.sendDeferredPong();
    this.events.drain();
    if (this.outBytes === 0) this.releaseDrainWaiters();
  }

  private releaseDrainWaiters(): void {
    if (this.drainWaiters.length === 0) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = NO_WAITERS;
    for (const w of waiters) w();
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
    if (this.inflateAccount?.timer) clearTimeout(this.inflateAccount.timer);
    this.state.release(); // an unfinished message's memory goes back to the server's budget
    this.bufferBudget?.release(this);
    let info = this.dropInfo ?? this.state.closeInfo();
    if (this.policyClose && !info.wasClean && !this.dropInfo) info = this.policyClose;
    if (error && !this.dropInfo && !this.state.done) info.reason ||= error.message;
    this.batch?.resolve(false);
    this.batch = null;
    const drainWaiters = this.drainWaiters;
    const waitingData = this.waitingData;
    this.drainWaiters = this.waitingData = NO_WAITERS;
    for (const w of drainWaiters) w();
    for (const w of waitingData) w();
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
  /**
   * A token bucket of `inflateRate` bytes per second, holding at most one second's worth: a message that
   * takes it below zero holds reading until the debt is paid back (no message is dropped or delayed once
   * read; the peer just gets read more slowly).
   */
  inflated(bytes: number): void {
    const rate = this.settings.inflateRate;
    if (rate === Infinity) return;
    const account = (this.inflateAccount ??= { credit: rate, at: Date.now(), timer: null, logged: false });
    refill(account, rate);
    account.credit -= bytes;
    if (account.credit >= 0 || account.timer !== null || this.finalized) return;
    if (!account.logged) {
      account.logged = true;
      this.logger.warn(
        { conn: this.label, remoteAddress: this.remoteAddress },
        `connection ${this.label}: reading paused: the peer sends compressed data faster than inflateRate (${rate} bytes/s of inflated data)`,
      );
    }
    this.readFlow.hold(ReadGate.INFLATE_RATE);
    const wait = () => {
      account.timer = setTimeout(() => {
        account.timer = null;
        if (this.finalized) return;
        refill(account, rate);
        if (account.credit < 0) return wait();
        this.gate?.let(ReadGate.INFLATE_RATE);
      }, Math.max(1, Math.ceil((-account.credit / rate) * 1000)));
      this.bytes.unrefTimer?.(account.timer);
    };
    wait();
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

/**
 * Writes one turn's chunks with the frames shared with other connections (SHARED_FRAME_MIN bytes or more)
 * passed on as they are: runs of smaller chunks between them are copied together, and all go out in one
 * vectored write where the stream has one. False when any write was refused (a drain follows).
 */
function writeKeepingShared(stream: ByteStream, chunks: Uint8Array[]): boolean {
  const pieces: Uint8Array[] = [];
  let run: Uint8Array[] = [];
  let runBytes = 0;
  const endRun = () => {
    if (run.length === 1) pieces.push(run[0]!);
    else if (run.length > 1) pieces.push(concatChunks(run, runBytes, stream.allocate));
    run = [];
    runBytes = 0;
  };
  for (const c of chunks) {
    if (c.length < SHARED_FRAME_MIN) {
      run.push(c);
      runBytes += c.length;
      continue;
    }
    endRun();
    pieces.push(c);
  }
  endRun();
  if (pieces.length === 1) return stream.write(pieces[0]!);
  if (stream.writev) return stream.writev(pieces);
  let ok = true;
  for (const p of pieces) ok = stream.write(p) && ok;
  return ok;
}
