/**
 * The WHATWG WebSocket (WebSockets Standard, "The WebSocket interface") over the one `Connection`, written once
 * for every runtime: an adapter subclasses `WebSocketBase` with its own `connect()` (and, on Node, the
 * "nodebuffer" binary type). Section names below are the standard's.
 *
 * Where this differs from a browser (documented in the repository README, "Client"):
 * - close() without a code sends 1000, not an empty close frame (the server reports 1000, not 1005);
 * - a clean close reports the code of whichever side started the closing handshake (the peer's echo normally
 *   carries the same code);
 * - several messages that arrive in one read are dispatched in the same task (no microtask checkpoint between
 *   their `message` events), as the runtime's socket delivers them;
 * - the `error` event is a plain Event with the cause, where there is one, as a non-standard `error` property, and
 *   its message as a non-standard `message` property (a refused handshake's says the status:
 *   `unexpected HTTP status 401 Unauthorized: missing or bad token`; the `error` is the HandshakeError).
 */
import type { Connection } from "../session/connection.ts";
import type { Message } from "../session/message.ts";
import type { CloseInfo } from "../protocol/protocol.ts";
import type { ClientOptions } from "./handshake.ts";
import { resolveSettings } from "../settings/resolve.ts";
import { checkCloseArguments, checkProtocols, parseWebSocketUrl, sizeOfData, toUSVString, type WebSocketData } from "./arguments.ts";
import { CloseEvent, EventHandlers, MessageEvent, type EventHandler } from "./events.ts";

/** The standard's binary types; an adapter may add its own (Node: "nodebuffer"). */
export type BinaryType = "blob" | "arraybuffer";

/** What an adapter gives its WebSocket: how to open a connection, and any binary types of its own. */
export interface WebSocketRuntime<Options, Extra extends string> {
  connect(url: string, options: Options & { protocols: string[] }): Promise<Connection>;
  binaryTypes?: Record<Extra, (bytes: Uint8Array) => unknown>;
}

/** The third constructor argument: the adapter's client options (subprotocols come from the second). */
export type WebSocketOptions<Options> = Omit<Options, "protocols">;

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/** A message waiting to be sent behind a Blob that is still being read (send() keeps the order). */
type Outgoing = { data: string | Uint8Array | null; size: number };

/** How a connection that never opened, or was failed, is reported (WebSockets Standard: code 1006, not clean). */
const ABNORMAL: CloseInfo = { code: 1006, reason: "", wasClean: false };

/**
 * The WHATWG `WebSocket` (the WebSockets Standard) over a Connection: each adapter subclasses it with its own
 * `connect()` (its `WebSocket` export); events, `readyState`, `bufferedAmount`, `binaryType`, Blob sends.
 *
 * @example
 * ```ts
 * import type { ClientOptions } from "@ws/core";
 * import { WebSocketBase, connectWith, type ClientRuntime, type WebSocketRuntime } from "@ws/core/adapter";
 *
 * declare const runtime: ClientRuntime<never>; // how your runtime dials (see connectWith)
 * const client: WebSocketRuntime<ClientOptions, never> = { connect: (url, options) => connectWith(url, options, runtime) };
 *
 * export class WebSocket extends WebSocketBase<ClientOptions> {
 *   constructor(url: string | URL, protocols?: string | string[], options?: Omit<ClientOptions, "protocols">) {
 *     super(url, protocols, options, client);
 *   }
 * }
 * // const ws = new WebSocket("ws://localhost:8080/chat"); ws.onmessage = (event) => console.log(event.data);
 * ```
 */
export class WebSocketBase<Options extends object = ClientOptions, Extra extends string = never> extends EventTarget {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSING = CLOSING;
  static readonly CLOSED = CLOSED;
  // the same constants on every instance (defined once on the prototype below, as WebIDL constants are)
  declare readonly CONNECTING: 0;
  declare readonly OPEN: 1;
  declare readonly CLOSING: 2;
  declare readonly CLOSED: 3;

  readonly #url: URL;
  readonly #binaryTypes: Partial<Record<string, (bytes: Uint8Array) => unknown>>;
  readonly #handlers = new EventHandlers(this);
  readonly #maxBufferedAmount: number;
  #readyState = CONNECTING;
  #protocol = "";
  #extensions = "";
  #binaryType: BinaryType | Extra = "blob";
  #conn: Connection | null = null;
  /** "fail the WebSocket connection" happened here: an `error` event goes before `close` */
  #failed = false;
  /** the cause of a failure, for the error event */
  #cause: unknown = undefined;
  /** bytes handed to the connection and not yet written out (clamped to what the transport holds) */
  #inFlight = 0;
  /** bytes of the messages waiting behind a Blob being read */
  #queued = 0;
  /** bytes of sends that came too late (closing or closed): they count for good, as the standard says */
  #unsent = 0;
  readonly #outbox: Outgoing[] = [];

  /** new WebSocket(url, protocols): the constructor steps, then "establish a WebSocket connection". */
  protected constructor(
    url: string | URL,
    protocols: string | Iterable<string> | undefined,
    options: WebSocketOptions<Options> | undefined,
    runtime: WebSocketRuntime<Options, Extra>,
  ) {
    super();
    const base = (globalThis as { location?: { href?: string } }).location?.href;
    this.#url = parseWebSocketUrl(url, base);
    const list = checkProtocols(protocols);
    this.#binaryTypes = { ...runtime.binaryTypes };
    this.#maxBufferedAmount = resolveSettings("client", [options as ClientOptions | undefined]).maxBufferedAmount;
    const connectOptions = { ...options, protocols: list } as Options & { protocols: string[] };
    new Promise<Connection>((resolve) => resolve(runtime.connect(this.#url.href, connectOptions))).then(
      (conn) => this.#established(conn),
      (error: unknown) => this.#couldNotConnect(error),
    );
  }

  // ------------------------------------------------------------------------------------------ attributes

  get url(): string {
    return this.#url.href;
  }

  get readyState(): number {
    // "when the closing handshake is started" (by the server): CLOSING
    if (this.#readyState === OPEN && this.#conn !== null && this.#conn.readyState !== "open") this.#readyState = CLOSING;
    return this.#readyState;
  }

  /**
   * Bytes of application data (UTF-8 text, binary) given to send() and not yet written out: what the
   * transport still holds of them, plus messages waiting behind a Blob, plus every send made while closing or
   * closed (those are never sent and are never taken off).
   */
  get bufferedAmount(): number {
    const held = this.#conn?.bufferedAmount ?? 0;
    if (this.#inFlight > held) this.#inFlight = held;
    return this.#inFlight + this.#queued + this.#unsent;
  }

  get extensions(): string {
    return this.#extensions;
  }

  get protocol(): string {
    return this.#protocol;
  }

  get binaryType(): BinaryType | Extra {
    return this.#binaryType;
  }

  /** An unknown value is ignored (a WebIDL enumeration attribute). */
  set binaryType(value: BinaryType | Extra) {
    if (value === "blob" || value === "arraybuffer" || (typeof value === "string" && this.#binaryTypes[value])) this.#binaryType = value;
  }

  get onopen(): EventHandler<this> {
    return this.#handlers.get("open") as EventHandler<this>;
  }
  set onopen(handler: EventHandler<this>) {
    this.#handlers.set("open", handler);
  }
  get onerror(): EventHandler<this> {
    return this.#handlers.get("error") as EventHandler<this>;
  }
  set onerror(handler: EventHandler<this>) {
    this.#handlers.set("error", handler);
  }
  get onclose(): EventHandler<this, CloseEvent> {
    return this.#handlers.get("close") as EventHandler<this, CloseEvent>;
  }
  set onclose(handler: EventHandler<this, CloseEvent>) {
    this.#handlers.set("close", handler);
  }
  get onmessage(): EventHandler<this, MessageEvent> {
    return this.#handlers.get("message") as EventHandler<this, MessageEvent>;
  }
  set onmessage(handler: EventHandler<this, MessageEvent>) {
    this.#handlers.set("message", handler);
  }

  // -------------------------------------------------------------------------------------------- methods

  /**
   * send(data): InvalidStateError while CONNECTING. Text goes as a text message, an ArrayBuffer, a view or a
   * Blob as a binary one, in the order given (a Blob is read first; what is sent after it waits for it).
   * While closing or closed, nothing is sent and bufferedAmount grows by the data's size.
   */
  send(data: WebSocketData): void {
    if (this.#readyState === CONNECTING) throw new DOMException("the WebSocket is still connecting", "InvalidStateError");
    const item = normalizeData(data);
    const size = sizeOfData(item);
    if (this.readyState !== OPEN) {
      this.#unsent += size;
      return;
    }
    if (this.#outbox.length === 0 && !(item instanceof Blob)) return this.#transmit(item, size);
    const entry: Outgoing = { data: null, size };
    this.#outbox.push(entry);
    this.#queued += size;
    if (!(item instanceof Blob)) {
      entry.data = typeof item === "string" ? item : new Uint8Array(item); // a copy: the caller may reuse its buffer
      return;
    }
    item.arrayBuffer().then(
      (buffer) => {
        entry.data = new Uint8Array(buffer);
        this.#sendWaiting();
      },
      (error: unknown) => this.#fail(error),
    );
  }

  /**
   * close(code, reason): the checks (InvalidAccessError, SyntaxError), then "close the WebSocket": nothing
   * while closing or closed; while connecting, the connection is failed; else the closing handshake starts.
   */
  close(code?: number, reason?: string): void {
    const args = checkCloseArguments(code, reason);
    if (this.readyState === CLOSING || this.#readyState === CLOSED) return;
    if (this.#readyState === CONNECTING) {
      this.#failed = true;
      this.#readyState = CLOSING;
      setTimeout(() => this.#closed(ABNORMAL), 0); // a connection that opens later is dropped (#established)
      return;
    }
    this.#readyState = CLOSING;
    // with a reason but no code, the code is 1000 (and without either: see the module's notes)
    this.#conn!.close(args.code ?? 1000, args.reason ?? "");
  }

  // ------------------------------------------------------------------------------ feedback from the protocol

  /** "When the WebSocket connection is established": OPEN, extensions, protocol, then `open`. */
  #established(conn: Connection): void {
    if (this.#readyState !== CONNECTING) {
      conn.drop(); // close() was called while connecting: the connection was failed already
      return;
    }
    this.#conn = conn;
    conn.onMessage((message) => this.#received(message));
    void conn.closed.then((info) => this.#closed(info));
    this.#readyState = OPEN;
    this.#extensions = conn.extensions;
    this.#protocol = conn.protocol ?? "";
    this.dispatchEvent(new Event("open"));
  }

  /** "When a WebSocket message has been received": only while OPEN; binary data as binaryType says. */
  #received(message: Message): void {
    if (this.readyState !== OPEN) return;
    const data = typeof message === "string" ? message : this.#binaryData(message);
    this.dispatchEvent(new MessageEvent("message", { data, origin: this.#url.origin }));
  }

  #binaryData(bytes: Uint8Array): unknown {
    const type: string = this.#binaryType;
    if (type === "blob") return new Blob([bytes as Uint8Array<ArrayBuffer>]); // received bytes are never shared memory
    if (type === "arraybuffer") return exactArrayBuffer(bytes);
    return this.#binaryTypes[type]!(bytes);
  }

  /** The establishment failed (refused, unreachable, a bad handshake): `error`, then `close` with 1006. */
  #couldNotConnect(error: unknown): void {
    this.#cause = error;
    this.#failed = true;
    this.#closed(ABNORMAL);
  }

  /** Fails the connection from this side (a Blob that cannot be read, the send buffer full). */
  #fail(error: unknown): void {
    if (this.#readyState === CLOSED) return;
    this.#cause ??= error;
    this.#failed = true;
    this.#conn?.drop();
  }

  /**
   * "When the WebSocket connection is closed": CLOSED; `error` if the connection was failed (here or by the
   * protocol: `info.failed`) or flagged full; then `close` with the code, the reason ("" without a close frame,
   * RFC 6455 §7.1.6) and wasClean.
   */
  #closed(info: CloseInfo): void {
    if (this.#readyState === CLOSED) return;
    this.#readyState = CLOSED;
    if (this.#failed || info.failed) {
      const event = new Event("error");
      if (this.#cause !== undefined) {
        Object.defineProperty(event, "error", { value: this.#cause, enumerable: true });
        const message = this.#cause instanceof Error ? this.#cause.message : String(this.#cause);
        Object.defineProperty(event, "message", { value: message, enumerable: true });
      }
      this.dispatchEvent(event);
    }
    const reason = info.code === 1006 ? "" : info.reason;
    this.dispatchEvent(new CloseEvent("close", { wasClean: info.wasClean, code: info.code, reason }));
  }

  // ----------------------------------------------------------------------------------------------- sending

  /** Hands one message to the connection, unless the send buffer is full ("flag as full", then close). */
  #transmit(data: string | Uint8Array, size: number): void {
    const conn = this.#conn!;
    if (this.readyState !== OPEN) {
      this.#unsent += size;
      return;
    }
    const held = conn.bufferedAmount;
    if (held > 0 && held + size > this.#maxBufferedAmount) {
      this.#unsent += size;
      this.#fail(new Error(`send buffer full (${held} bytes, maxBufferedAmount ${this.#maxBufferedAmount})`));
      return;
    }
    this.#inFlight += size;
    void conn.send(data);
  }

  /** Sends what waited behind Blobs, in order, up to the next Blob still being read. */
  #sendWaiting(): void {
    while (this.#outbox.length > 0 && this.#outbox[0]!.data !== null) {
      const { data, size } = this.#outbox.shift()!;
      this.#queued -= size;
      this.#transmit(data!, size);
    }
  }

  static {
    for (const [name, value] of [["CONNECTING", CONNECTING], ["OPEN", OPEN], ["CLOSING", CLOSING], ["CLOSED", CLOSED]] as const) {
      Object.defineProperty(WebSocketBase.prototype, name, { value, enumerable: true });
    }
  }
}

/** send()'s argument as WebIDL converts it: a Blob, bytes (a view over an ArrayBuffer or view), or a string. */
function normalizeData(data: WebSocketData): string | Uint8Array | Blob {
  if (typeof data === "string") return data;
  if (data instanceof Blob) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return toUSVString(data);
}

/** An ArrayBuffer with exactly these bytes: the buffer itself when the view covers all of it, else a copy. */
function exactArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) return bytes.buffer;
  return new Uint8Array(bytes).buffer;
}
