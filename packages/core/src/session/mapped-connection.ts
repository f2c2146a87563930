/**
 * The "runtime engine": a runtime's own built-in WebSocket (Bun.serve's ServerWebSocket, Deno.upgradeWebSocket's
 * WebSocket, a Workers WebSocketPair) mapped onto the public surface of `Connection`. The runtime does the
 * framing; this keeps the Connection API's behaviour on top of it: handlers, pull reading with read
 * backpressure, the close handshake's timeout, keepalive, the send-buffer limit, topics.
 *
 * What the runtime's socket cannot do throws `UnsupportedError`; nothing is silently ignored. Each adapter
 * supplies a `RuntimeSocket` over its runtime's socket; `MappedServer` (server/mapped-server.ts) is the server side,
 * `RuntimeHub` (server/runtime-hub.ts) its topics.
 */
import { connectionId } from "./id.ts";
import { CloseCode, isValidWireCloseCode } from "../wire/close-codes.ts";
import type { Connection } from "./connection.ts";
import { CONNECTION_EVENTS, toBytes, type Fragment, type Message, type MessageWriter, type ReadyState, type SendData } from "./message.ts";
import { BackpressureError, UnsupportedError, type Logger } from "./errors.ts";
import type { UpgradeRequest } from "../wire/handshake.ts";
import { Listeners } from "./listeners.ts";
import { ReadQueue } from "./read-queue.ts";
import type { CloseInfo } from "../protocol/protocol.ts";
import { decodeUtf8Strict } from "../wire/utf8.ts";

/** The public surface of core's Connection (its methods and properties, without its private state). */
export type ConnectionApi<Data = unknown> = { [K in keyof Connection<Data>]: Connection<Data>[K] };

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
  /** topics: native where the runtime has them, else RuntimeHub */
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  /** to every subscriber but this one; returns how many got it */
  publish(topic: string, message: SendData): number;
}

/** Per-connection settings, resolved from the service and the server options. */
export interface MappedSettings {
  maxMessageSize: number;
  /** seconds; 0 = off. The adapter decides whether the runtime does it natively (then `keepaliveNative`) */
  connectionTimeout: number;
  keepaliveNative: boolean;
  closeTimeout: number;
  maxBufferedAmount: number;
  backpressure: "close" | "reject";
  readHighWaterMark: number;
}

type Timer = ReturnType<typeof setTimeout>;

const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();

let nextSerial = 0;

/**
 * A Connection over a runtime's built-in WebSocket. Same methods as core's Connection; the ones the runtime
 * cannot do throw UnsupportedError.
 */
export class MappedConnection<Data = unknown> implements ConnectionApi<Data> {
  readonly id: string = connectionId();
  readonly role = "server" as const;
  readonly request: UpgradeRequest;
  readonly protocol: string | null;
  /** the runtime negotiates extensions internally and does not report them: always "" */
  readonly extensions: string = "";
  data: Data = undefined as Data;
  readonly closed: Promise<CloseInfo>;
  readonly topicSet = new Set<string>();
  /** a serial number, for logs */
  readonly serial = ++nextSerial;

  private readonly socket: RuntimeSocket;
  private readonly settings: MappedSettings;
  private readonly logger: Logger;
  private resolveClosed!: (info: CloseInfo) => void;
  private state: ReadyState = "connecting";
  private finalized = false;
  private sentClose: { code: number; reason: string } | null = null;
  private readonly listeners: Listeners<(typeof CONNECTION_EVENTS)[number]>;
  private readonly reading: ReadQueue;
  private drainWaiters: Array<() => void> = [];
  private drainPoll: Timer | null = null;
  private closeTimer: Timer | null = null;
  private keepaliveTimer: Timer | null = null;
  private heardFromPeer = false;
  private pingOutstanding = false;

  constructor(socket: RuntimeSocket, request: UpgradeRequest, protocol: string | null, settings: MappedSettings, logger: Logger) {
    this.socket = socket;
    this.request = request;
    this.protocol = protocol;
    this.settings = settings;
    this.logger = logger;
    this.listeners = new Listeners(CONNECTION_EVENTS, this, logger, this.id);
    this.reading = new ReadQueue(settings.readHighWaterMark, socket);
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  /** The adapter calls this from the runtime's open event; `opened` is the service's `connected`. */
  start(_head?: Uint8Array, opened?: () => void): void {
    if (this.state !== "connecting") return;
    this.state = "open";
    if (this.settings.connectionTimeout > 0 && !this.settings.keepaliveNative) this.scheduleKeepalive();
    if (opened) this.listeners.call(opened);
  }

  get readyState(): ReadyState {
    return this.state;
  }

  get bufferedAmount(): number {
    return this.finalized ? 0 : this.socket.bufferedAmount;
  }

  get topics(): ReadonlySet<string> {
    return this.topicSet;
  }

  // ------------------------------------------------------------------------------------------- sending

  send(data: SendData): Promise<boolean> {
    if (typeof data === "string") return this.sendText(data);
    return this.sendBinary(data);
  }

  sendText(text: string | Uint8Array): Promise<boolean> {
    let value: string;
    if (typeof text === "string") value = text;
    else {
      const decoded = decodeUtf8Strict(text);
      if (decoded === null) {
        this.logger.warn(`connection ${this.id}: sendText with bytes that are not UTF-8; not sent`);
        return Promise.resolve(false);
      }
      value = decoded;
    }
    if (!this.canSend() || !this.admit(value.length)) return Promise.resolve(false);
    return Promise.resolve(this.afterSend(this.socket.sendText(value)));
  }

  sendBinary(data: Uint8Array | ArrayBuffer | ArrayBufferView): Promise<boolean> {
    const bytes = toBytes(data);
    if (!this.canSend() || !this.admit(bytes.byteLength)) return Promise.resolve(false);
    return Promise.resolve(this.afterSend(this.socket.sendBinary(bytes)));
  }

  /** Pre-encoded frames need the raw socket: the core engine has it, a runtime's WebSocket does not. */
  sendFrame(_frame: Uint8Array): Promise<boolean> {
    throw new UnsupportedError(`${this.socket.engineName}: sending a pre-encoded frame needs the core engine`);
  }

  ping(data: SendData = EMPTY): Promise<boolean> {
    if (!this.socket.ping) throw new UnsupportedError(`${this.socket.engineName} has no API to send a ping`);
    if (!this.canSend()) return Promise.resolve(false);
    this.socket.ping(typeof data === "string" ? encoder.encode(data) : toBytes(data));
    return Promise.resolve(true);
  }

  pong(data: SendData = EMPTY): Promise<boolean> {
    if (!this.socket.pong) throw new UnsupportedError(`${this.socket.engineName} has no API to send a pong`);
    if (!this.canSend()) return Promise.resolve(false);
    this.socket.pong(typeof data === "string" ? encoder.encode(data) : toBytes(data));
    return Promise.resolve(true);
  }

  /** Fragmented sends need frame-level access, which the runtime's WebSocket does not give. */
  stream(_type?: "text" | "binary", _options?: { highWaterMark?: number }): MessageWriter {
    throw new UnsupportedError(`${this.socket.engineName}: fragmented sends (conn.stream()) need the core engine`);
  }

  drained(): Promise<void> {
    if (this.finalized || this.socket.bufferedAmount === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.drainWaiters.push(resolve);
      this.watchDrain();
    });
  }

  private canSend(): boolean {
    return this.state === "open";
  }

  private afterSend(ok: boolean): boolean {
    if (ok && this.socket.bufferedAmount > 0 && (this.listeners.count("drain") > 0 || this.drainWaiters.length > 0)) this.watchDrain();
    return ok;
  }

  /** The send-buffer limit, as in core: "reject" refuses the send, "close" drops with 1008. */
  private admit(size: number): boolean {
    const limit = this.settings.maxBufferedAmount;
    if (limit === Infinity) return true;
    const buffered = this.socket.bufferedAmount;
    if (buffered + size <= limit || buffered === 0) return true;
    if (this.settings.backpressure === "reject") {
      this.logger.warn(`connection ${this.id}: ${new BackpressureError(buffered, limit).message}; message not sent`);
      return false;
    }
    this.logger.warn(`connection ${this.id}: send buffer over its limit (${buffered} bytes); closing with 1008`);
    this.drop(CloseCode.PolicyViolation, "send buffer limit exceeded");
    return false;
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

  /** The adapter calls this on the runtime's drain event. */
  handleDrain(): void {
    this.listeners.emit("drain");
    if (this.socket.bufferedAmount === 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  // ------------------------------------------------------------------------------------------- closing

  close(code: number = CloseCode.NormalClosure, reason = ""): Promise<CloseInfo> {
    if (!isValidWireCloseCode(code)) throw new RangeError(`close code ${code} may not be sent`);
    if (encoder.encode(reason).length > 123) throw new RangeError("close reason longer than 123 bytes");
    if (this.finalized || this.sentClose) return this.closed;
    if (this.state === "connecting") this.state = "open";
    this.sentClose = { code, reason };
    this.state = "closing";
    this.socket.close(code, reason);
    this.closeTimer = setTimeout(() => {
      this.closeTimer = null;
      if (this.finalized) return;
      this.logger.info(`connection ${this.id}: no close answer within ${this.settings.closeTimeout} ms; dropping`);
      this.socket.terminate();
      this.finish({ code: CloseCode.AbnormalClosure, reason: "no close frame received", wasClean: false });
    }, this.settings.closeTimeout);
    return this.closed;
  }

  drop(code?: number, reason = ""): void {
    if (this.finalized) return;
    if (code !== undefined && isValidWireCloseCode(code) && !this.sentClose) {
      try {
        this.socket.close(code, reason); // best effort: the close frame, then the TCP connection goes
      } catch {
        // a reason too long for a close frame: drop without one
      }
    }
    this.socket.terminate();
    this.finish({ code: code ?? CloseCode.AbnormalClosure, reason, wasClean: false });
  }

  /** The adapter calls this from the runtime's close event. */
  handleClose(code: number, reason: string): void {
    const clean = code !== CloseCode.AbnormalClosure && code !== 1005;
    if (code === 1005) {
      // the peer's close frame had no code: core reports that as 1005 too
      this.finish({ code, reason, wasClean: true });
      return;
    }
    this.finish({ code, reason, wasClean: clean });
  }

  private finish(info: CloseInfo): void {
    if (this.finalized) return;
    this.finalized = true;
    this.state = "closed";
    for (const t of [this.closeTimer, this.keepaliveTimer, this.drainPoll]) if (t !== null) clearTimeout(t);
    this.closeTimer = this.keepaliveTimer = this.drainPoll = null;
    for (const topic of [...this.topicSet]) this.unsubscribe(topic);
    for (const w of this.drainWaiters.splice(0)) w();
    this.reading.end();
    this.resolveClosed(info);
    this.listeners.emit("close", info.code, info.reason);
    this.listeners.flushErrors();
  }

  // ------------------------------------------------------------------------------------------ receiving

  /** The adapter calls this for each message from the runtime. */
  handleMessage(message: Message): void {
    this.heardFromPeer = true;
    if (this.finalized || this.state === "closing") return;
    const size = typeof message === "string" ? encoder.encode(message).length : message.byteLength;
    if (size > this.settings.maxMessageSize) {
      this.logger.warn(`closing connection ${this.id} with 1009: message of ${size} bytes is over the limit of ${this.settings.maxMessageSize}`);
      void this.close(CloseCode.MessageTooBig, "message too big");
      return;
    }
    const typed = typeof message === "string" ? "text" : "binary";
    if (this.listeners.count(typed) === 0 && this.listeners.count("message") === 0) {
      this.reading.push(message);
      return;
    }
    this.listeners.emit(typed, message);
    this.listeners.emit("message", message);
  }

  handlePing(payload: Uint8Array): void {
    this.heardFromPeer = true;
    this.listeners.emit("ping", payload);
  }

  handlePong(payload: Uint8Array): void {
    this.heardFromPeer = true;
    this.pingOutstanding = false;
    this.listeners.emit("pong", payload);
  }

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
  /** Fragment-level receive needs frame-level access, which the runtime's WebSocket does not give. */
  onFragment(_fn: (fragment: Fragment, conn: Connection<Data>) => unknown): () => void {
    throw new UnsupportedError(`${this.socket.engineName}: fragment streaming (conn.onFragment()) needs the core engine`);
  }
  onPing(fn: (payload: Uint8Array, conn: Connection<Data>) => unknown): () => void {
    if (!this.socket.ping) throw new UnsupportedError(`${this.socket.engineName} does not report pings`);
    return this.listeners.add("ping", fn);
  }
  onPong(fn: (payload: Uint8Array, conn: Connection<Data>) => unknown): () => void {
    if (!this.socket.ping) throw new UnsupportedError(`${this.socket.engineName} does not report pongs`);
    return this.listeners.add("pong", fn);
  }
  onClose(fn: (code: number, reason: string, conn: Connection<Data>) => unknown): () => void {
    if (this.finalized) {
      void this.closed.then((info) => this.listeners.call(() => fn(info.code, info.reason, this as unknown as Connection<Data>)));
      return () => {};
    }
    return this.listeners.add("close", fn);
  }
  onDrain(fn: (conn: Connection<Data>) => unknown): () => void {
    return this.listeners.add("drain", fn);
  }

  // --------------------------------------------------------------------------------------------- topics

  subscribe(topic: string): void {
    if (this.finalized || this.topicSet.has(topic)) return;
    this.topicSet.add(topic);
    this.socket.subscribe(topic);
  }
  unsubscribe(topic: string): void {
    if (!this.topicSet.delete(topic)) return;
    this.socket.unsubscribe(topic);
  }
  isSubscribed(topic: string): boolean {
    return this.topicSet.has(topic);
  }
  publish(topic: string, message: SendData): number {
    return this.socket.publish(topic, message);
  }

  // ------------------------------------------------------------------------------------------ keepalive

  private scheduleKeepalive(): void {
    this.keepaliveTimer = setTimeout(() => this.keepaliveTick(), (this.settings.connectionTimeout * 1000) / 2);
    (this.keepaliveTimer as { unref?: () => void }).unref?.();
  }

  /** As in core: silence for half the timeout → ping; silence for the other half → drop (1006). */
  private keepaliveTick(): void {
    this.keepaliveTimer = null;
    if (this.finalized) return;
    if (this.heardFromPeer) {
      this.heardFromPeer = false;
      this.pingOutstanding = false;
    } else if (this.pingOutstanding || this.state === "closing") {
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
