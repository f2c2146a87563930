/**
 * The sans-I/O WebSocket state machine (RFC 6455 §5–§7): bytes in → events out, commands in → bytes out.
 * It never touches a socket or a timer: the Connection drives it and carries out what it asks for.
 */
import { CloseCode, isValidWireCloseCode, MAX_CLOSE_REASON_BYTES } from "../wire/close-codes.ts";
import { allocateUint8Array, concatChunks, applyMask, encodeAsciiTextFrame, encodeFrame, encodeFrameParts, encodeTextFrame, utf8Length, FrameParser, type Allocate, isControlOpcode, isKnownOpcode, Opcode, type FrameHeader, type FrameSink } from "../wire/frame.ts";
import { decodeUtf8, decodeUtf8Strict, encodeUtf8, isValidUtf8, Utf8Validator } from "../wire/utf8.ts";
import { MessageTooBigError, type PerMessageDeflate } from "../wire/deflate.ts";
import { DEFAULT_MAX_FRAGMENTS, DEFAULT_MAX_MESSAGE_SIZE, type ReceiveBudget } from "./limits.ts";
import { MessageBuffer } from "./message-buffer.ts";

export type Role = "server" | "client";

/** Limits on what a peer may send; each has a safe default. */
export interface ProtocolLimits {
  /** largest message (all fragments together, after inflation) accepted, in bytes; larger closes with 1009. Default 16 MiB. */
  maxMessageSize?: number;
  /** largest single frame accepted, in bytes; larger closes with 1009. Default: maxMessageSize. */
  maxFrameSize?: number;
  /** most frames one message may be split into; more closes with 1009. Default 4096. */
  maxFragments?: number;
}

export { DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_MAX_FRAGMENTS };

export interface ProtocolOptions extends ProtocolLimits {
  role: Role;
  /**
   * Deliver data as it arrives, one chunk at a time with its `fin`, instead of assembling whole messages
   * (maxMessageSize is then not applied: the receiver decides what to keep).
   */
  streaming?: boolean;
  /** permessage-deflate state, when the extension was negotiated */
  deflate?: PerMessageDeflate;
  /**
   * memory shared with other connections (a server's): the bytes of a message being assembled are reserved
   * here first, and a reservation that does not fit closes the connection with 1013 (Try Again Later)
   */
  budget?: ReceiveBudget;
  /** where outgoing frames are allocated (the transport's preference); default: a plain Uint8Array */
  allocate?: Allocate;
  /**
   * where the buffers of received messages assembled from several pieces are allocated; default: a plain
   * (zero-filled) Uint8Array. Every byte of a message is written before it is handed out, so this may return
   * memory that is not cleared (Node: `Buffer.allocUnsafeSlow`), but it must be a buffer of its own, not a view
   * into a pool shared with other data: the message is handed to the application, which may keep it.
   */
  allocateMessage?: Allocate;
  /**
   * The text of `bytes[start, end)`, known to be ASCII (every byte below 0x80), without a view of the bytes: a
   * runtime's native decoder that takes offsets (Bun: `Buffer.prototype.latin1Slice`). A small text message whole
   * in one read is then decoded with no `subarray` and no UTF-8 validation (ASCII is valid UTF-8). Default: a view
   * and the strict decoder.
   */
  asciiText?: (bytes: Uint8Array, start: number, end: number) => string;
}

/**
 * Where the close handshake stands (RFC 6455 §7.1): "open" until the first close frame is sent or received,
 * "closing" until the other side's close frame (or a failure), then "closed": nothing more is read or written.
 */
export type ClosePhase = "open" | "closing" | "closed";

/** The empty list an idle connection's control-frame buffer points at: replaced, never pushed to. */
const NO_CHUNKS: Uint8Array[] = Object.freeze([]) as unknown as Uint8Array[];

/** How the close handshake ended, as reported to the user (exactly once). */
export interface CloseInfo {
  code: number;
  reason: string;
  /** both close frames were exchanged */
  wasClean: boolean;
  /**
   * set (true) when this endpoint failed the connection (RFC 6455 §7.1.7: a protocol error, invalid UTF-8, a
   * limit): the WebSocket API reports an `error` event before `close` then
   */
  failed?: true;
}

export interface ProtocolHandler {
  /** bytes for the transport, in order */
  write(chunks: Uint8Array[]): void;
  /** a complete text message */
  text(message: string): void;
  /** a complete binary message */
  binary(message: Uint8Array): void;
  /** streaming mode: the next chunk of the current message; `fin` on its last chunk */
  fragment(data: Uint8Array, isText: boolean, fin: boolean): void;
  ping(payload: Uint8Array): void;
  pong(payload: Uint8Array): void;
  /**
   * Whether the automatic pong for a ping may be written now; false defers it (only the latest ping's
   * payload is kept, as RFC 6455 §5.5.3 allows) until `sendDeferredPong`. Absent: always.
   */
  mayPong?(): boolean;
  /** the peer sent a close frame (its code, 1005 when it gave none) */
  closeReceived(code: number, reason: string): void;
  /** we sent a close frame and are waiting for the peer's: the driver starts its close timer */
  closeSent(code: number, reason: string): void;
  /** the handshake is over: flush and half-close the transport */
  end(): void;
  /** a protocol violation by the peer, once, for the log */
  violation(code: number, message: string): void;
  /** a compressed message was inflated to `bytes` (the transport bounds the rate: see `inflateRate`) */
  inflated?(bytes: number): void;
}

const EMPTY = new Uint8Array(0);

/**
 * Payloads up to this size, whole in one read, are unmasked byte by byte in place (receiveWholeFrame); larger
 * ones go through applyMask's word and SIMD kernels, whose setup (a word view) costs more than it saves below.
 */
const WHOLE_FRAME_MAX = 256;

/**
 * The RFC 6455 state machine of one connection, sans I/O: bytes in (`receive`), events out (the handler);
 * commands in (`sendText`, `ping`, `close`, …), bytes out (`handler.write`). It validates framing, UTF-8 and the
 * limits, answers pings, runs the close handshake and assembles (or streams) messages.
 *
 * @example
 * ```ts
 * import { Opcode, ProtocolState, encodeFrame, encodeUtf8 } from "@ws/core/protocol";
 *
 * const toSocket: Uint8Array[] = [];
 * const protocol = new ProtocolState(
 *   { role: "server", maxMessageSize: 1 << 20 },
 *   {
 *     write: (chunks) => toSocket.push(...chunks), // write them to the socket, in order
 *     text: (message) => protocol.sendText(`echo: ${message}`),
 *     binary: (message) => protocol.sendBinary(message),
 *     fragment: () => {}, // only with `streaming: true`
 *     ping: () => {}, // the pong is sent already
 *     pong: () => {},
 *     closeReceived: (code, reason) => console.log("peer closes", code, reason), // the answering close frame is written
 *     closeSent: () => {}, // start a close timer here
 *     end: () => console.log("close handshake done: half-close the socket"),
 *     violation: (code, message) => console.log("closing with", code, message), // e.g. 1007 for bad UTF-8
 *   },
 * );
 * protocol.receive(encodeFrame(Opcode.Text, encodeUtf8("hi"), { mask: true })); // bytes read from the socket
 * console.log(toSocket.length); // 1: the frame of "echo: hi"
 * protocol.close(1001, "going away");
 * ```
 */
export class ProtocolState {
  readonly role: Role;
  private readonly parser: FrameParser;
  private readonly maxMessageSize: number;
  private readonly maxFrameSize: number;
  private readonly maxFragments: number;
  private readonly allocate: Allocate;
  private readonly asciiText: ((bytes: Uint8Array, start: number, end: number) => string) | undefined;
  streaming: boolean;
  /** RSV1 is in use by a negotiated extension (permessage-deflate) */
  private readonly rsv1Allowed: boolean;
  private readonly deflate: PerMessageDeflate | undefined;

  // the frame being received
  private frame: FrameHeader | null = null;
  private frameIsWholeMessage = false;
  /** a control frame's payload pieces while it arrives (an empty shared list between control frames) */
  private control: Uint8Array[] = NO_CHUNKS;
  private controlLength = 0;

  // the data message being received
  private inMessage = false;
  private messageIsText = false;
  /** the message's bytes so far (copied: a fragment costs its bytes, not a view of the input chunk) */
  private readonly message: MessageBuffer;
  /** the current data frame's payload has its room reserved in `message` */
  private frameReserved = false;
  /** counts finished data messages (data frames, in streaming mode): a message timer sees whether any ended */
  progress = 0;
  /** the payload of the latest ping whose pong is waiting for room in the send buffer */
  private deferredPong: Uint8Array | null = null;
  private messageFragments = 0;
  /** the message being received is compressed (RSV1 on its first frame) */
  private messageCompressed = false;
  /** streaming UTF-8 state of the text message being received (created for the first fragmented text) */
  private utf8: Utf8Validator | null = null;
  private get validator(): Utf8Validator {
    return (this.utf8 ??= new Utf8Validator());
  }

  // the close handshake: its phase and who started it change only in `enter`; the frames' codes and reasons
  private phase: ClosePhase = "open";
  /** who sent the first close frame (a clean close reports that side's code) */
  private initiator: "us" | "peer" | null = null;
  private sentClose: { code: number; reason: string } | null = null;
  private receivedClose: { code: number; reason: string } | null = null;
  private failure: { code: number; reason: string } | null = null;

  private readonly handler: ProtocolHandler;

  constructor(options: ProtocolOptions, handler: ProtocolHandler) {
    this.handler = handler;
    this.role = options.role;
    this.maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    this.maxFrameSize = options.maxFrameSize ?? this.maxMessageSize;
    this.maxFragments = options.maxFragments ?? DEFAULT_MAX_FRAGMENTS;
    this.allocate = options.allocate ?? allocateUint8Array;
    this.asciiText = options.asciiText;
    this.streaming = options.streaming ?? false;
    this.deflate = options.deflate;
    this.rsv1Allowed = this.deflate !== undefined;
    this.message = new MessageBuffer(options.budget, options.allocateMessage);
    this.parser = new FrameParser(new ParserEvents(this));
  }

  /**
   * Whether a frame or a message has begun and not ended: its first byte has arrived, its last not yet (in
   * streaming mode only a frame counts: the receiver holds the message, not this state).
   */
  get receiving(): boolean {
    if (this.phase === "closed") return false;
    return !this.parser.idle || (this.inMessage && (!this.streaming || this.messageCompressed));
  }

  /** Bytes this connection holds of the message being assembled (reserved in the budget). */
  get assemblingBytes(): number {
    return this.message.capacity;
  }

  /** Gives back what the connection holds of an unfinished message (the transport has closed). */
  release(): void {
    this.message.clear();
    this.deferredPong = null;
  }

  /** Whether our close frame has been sent (no more data may be sent). */
  get closeSent(): boolean {
    return this.sentClose !== null;
  }

  /** Whether the close handshake is complete (or the connection was failed). */
  get done(): boolean {
    return this.phase === "closed";
  }

  /** Where the close handshake stands. */
  get closePhase(): ClosePhase {
    return this.phase;
  }

  /**
   * The close handshake's transitions, all of them: the first close frame, sent or received, moves "open" to
   * "closing" and names the side that started it; the end of the handshake (or a failure) moves to "closed".
   */
  private enter(phase: "closing" | "closed", by: "us" | "peer" = "us"): void {
    if (phase === "closed") {
      this.phase = "closed";
    } else if (this.phase === "open") {
      this.phase = "closing";
      this.initiator = by;
    }
  }

  /** Feeds bytes received from the peer. */
  receive(chunk: Uint8Array): void {
    if (this.phase === "closed") return;
    this.parser.push(chunk);
  }

  /**
   * What to report when the transport has closed: the code of the close handshake when it completed (the
   * code of whichever side started it), otherwise 1006, with the reason we know.
   */
  closeInfo(): CloseInfo {
    if (this.sentClose && this.receivedClose) {
      const c = this.initiator === "peer" ? this.receivedClose : this.sentClose;
      return { code: c.code, reason: c.reason, wasClean: true };
    }
    if (this.receivedClose) return { ...this.receivedClose, wasClean: false };
    if (this.failure) return { code: CloseCode.AbnormalClosure, reason: this.failure.reason, wasClean: false, failed: true };
    const reason = this.sentClose ? "no close frame received" : "connection lost";
    return { code: CloseCode.AbnormalClosure, reason, wasClean: false };
  }

  // ------------------------------------------------------------------------------------------ receiving

  /** @internal the parser's frame header (ParserEvents) */
  receiveHeader(h: FrameHeader): string | void {
    if (this.phase === "closed") return "connection already closed";
    if (this.role === "server" && !h.masked) return this.reject(CloseCode.ProtocolError, "client frame is not masked");
    if (this.role === "client" && h.masked) return this.reject(CloseCode.ProtocolError, "server frame is masked");
    if (h.rsv2 || h.rsv3) return this.reject(CloseCode.ProtocolError, "RSV2/RSV3 set with no extension negotiated");
    if (!isKnownOpcode(h.opcode)) return this.reject(CloseCode.ProtocolError, `reserved opcode 0x${h.opcode.toString(16)}`);
    if (isControlOpcode(h.opcode)) {
      if (h.rsv1) return this.reject(CloseCode.ProtocolError, "RSV1 set on a control frame");
      if (!h.fin) return this.reject(CloseCode.ProtocolError, "fragmented control frame");
      if (h.payloadLength > 125) return this.reject(CloseCode.ProtocolError, "control frame payload longer than 125 bytes");
      this.frame = h;
      this.control = [];
      this.controlLength = 0;
      return;
    }
    if (h.rsv1 && !(this.rsv1Allowed && h.opcode !== Opcode.Continuation)) {
      return this.reject(CloseCode.ProtocolError, "RSV1 set with no extension negotiated");
    }
    if (h.opcode === Opcode.Continuation) {
      if (!this.inMessage) return this.reject(CloseCode.ProtocolError, "continuation frame without a message to continue");
      if (++this.messageFragments > this.maxFragments) {
        return this.reject(CloseCode.MessageTooBig, `message split into more than ${this.maxFragments} frames`);
      }
    } else {
      if (this.inMessage) return this.reject(CloseCode.ProtocolError, "new data frame inside a fragmented message");
      this.inMessage = true;
      this.messageIsText = h.opcode === Opcode.Text;
      this.message.clear();
      this.messageFragments = 1;
      this.messageCompressed = h.rsv1;
      this.utf8?.reset();
    }
    if (h.payloadLength > this.maxFrameSize) {
      return this.reject(CloseCode.MessageTooBig, `frame of ${h.payloadLength} bytes exceeds the limit of ${this.maxFrameSize}`);
    }
    if ((!this.streaming || this.messageCompressed) && this.message.size + h.payloadLength > this.maxMessageSize) {
      return this.reject(CloseCode.MessageTooBig, `message exceeds the limit of ${this.maxMessageSize} bytes`);
    }
    this.frame = h;
    this.frameReserved = false;
    this.frameIsWholeMessage = h.fin && h.opcode !== Opcode.Continuation;
    // after our close frame, data is read but ignored (RFC 6455 §5.5.1)
  }

  /**
   * The parser's bytes, still masked. Payload that is copied into the message being assembled is unmasked while
   * it is copied (one pass; the input chunk stays masked, nothing reads it again); everything else (control
   * frames, a message whole in one chunk, streaming mode) is unmasked in place and handed on as a view.
   */
  /** @internal the parser's payload bytes, still masked (ParserEvents) */
  receiveMaskedPayload(bytes: Uint8Array, mask: Uint8Array | null, maskPhase: number, final: boolean): void {
    if (mask === null || bytes.length === 0) return this.receivePayload(bytes, final, false);
    const h = this.frame!;
    if (!this.assembles(h, final)) {
      applyMask(bytes, mask, maskPhase);
      return this.receivePayload(bytes, final, false);
    }
    if (!this.frameReserved && !this.reserveFrame(h)) return;
    this.receivePayload(this.message.appendMasked(bytes, mask, maskPhase), final, true);
  }

  /**
   * @internal the parser's whole frame in one chunk (ParserEvents): a data frame that is a whole message, with no
   * extension and no streaming, is unmasked in place and handed on here; anything else is declined (false) and
   * comes through receiveMaskedPayload. The same checks as receivePayload's fast path, with no view per frame
   * for ASCII text when the runtime decodes from offsets (`asciiText`).
   */
  receiveWholeFrame(chunk: Uint8Array, start: number, end: number, maskAt: number): boolean {
    if (end - start > WHOLE_FRAME_MAX || !this.frameIsWholeMessage || this.messageCompressed || this.streaming || this.sentClose !== null || this.message.size !== 0) return false;
    const h = this.frame!;
    if (isControlOpcode(h.opcode)) return false;
    // unmask in place, and see whether every byte is ASCII on the way
    let high = 0;
    if (maskAt >= 0) {
      const m0 = chunk[maskAt]!, m1 = chunk[maskAt + 1]!, m2 = chunk[maskAt + 2]!, m3 = chunk[maskAt + 3]!;
      let i = start;
      for (; i + 4 <= end; i += 4) {
        high |= chunk[i] = chunk[i]! ^ m0;
        high |= chunk[i + 1] = chunk[i + 1]! ^ m1;
        high |= chunk[i + 2] = chunk[i + 2]! ^ m2;
        high |= chunk[i + 3] = chunk[i + 3]! ^ m3;
      }
      if (i < end) high |= chunk[i] = chunk[i]! ^ m0;
      if (++i < end) high |= chunk[i] = chunk[i]! ^ m1;
      if (++i < end) high |= chunk[i] = chunk[i]! ^ m2;
    } else if (this.messageIsText && this.asciiText !== undefined) {
      for (let i = start; i < end; i++) high |= chunk[i]!;
    }
    this.frame = null;
    this.progress++;
    this.inMessage = false;
    if (!this.messageIsText) {
      this.handler.binary(chunk.subarray(start, end));
      return true;
    }
    if (high < 0x80 && this.asciiText !== undefined) {
      this.handler.text(this.asciiText(chunk, start, end));
      return true;
    }
    const text = decodeUtf8Strict(chunk.subarray(start, end));
    if (text === null) this.fail(CloseCode.InvalidFramePayloadData, "invalid UTF-8 in text message");
    else this.handler.text(text);
    return true;
  }

  /** Whether these payload bytes of the frame `h` go into the message buffer (see receivePayload). */
  private assembles(h: FrameHeader, final: boolean): boolean {
    if (isControlOpcode(h.opcode) || this.sentClose) return false;
    if (this.messageCompressed) return true;
    if (this.streaming) return false;
    return !(this.frameIsWholeMessage && final && this.message.size === 0);
  }

  /** `landed`: the bytes were already unmasked into the message buffer (receiveMaskedPayload). */
  /** @internal the parser's payload bytes, unmasked (ParserEvents) */
  receivePayload(bytes: Uint8Array, final: boolean, landed: boolean): void {
    const h = this.frame!;
    // a finished frame's header is not kept: its mask is a view into the input, which an idle connection
    // would otherwise hold on to
    if (final) this.frame = null;
    if (isControlOpcode(h.opcode)) {
      if (bytes.length > 0) {
        this.control.push(bytes);
        this.controlLength += bytes.length;
      }
      if (final) {
        const payload = this.control.length === 1 ? this.control[0]! : this.control.length === 0 ? EMPTY : concatChunks(this.control, this.controlLength);
        this.control = NO_CHUNKS;
        this.onControlFrame(h.opcode, payload);
      }
      return;
    }
    if (final && (h.fin || this.streaming)) this.progress++;
    if (this.sentClose) {
      if (final && h.fin) this.inMessage = false;
      return;
    }
    const isText = this.messageIsText;
    const fin = final && h.fin;
    if (this.messageCompressed) return this.onCompressedPayload(h, bytes, fin, landed);
    if (this.streaming) {
      if (isText && !this.validator.update(bytes)) return this.fail(CloseCode.InvalidFramePayloadData, "invalid UTF-8 in text message");
      if (fin && isText && !this.validator.complete) return this.fail(CloseCode.InvalidFramePayloadData, "text message ends inside a UTF-8 sequence");
      if (fin) this.inMessage = false;
      if (bytes.length > 0 || fin) this.handler.fragment(bytes, isText, fin);
      return;
    }
    // Fast path: a whole unfragmented message in one piece is validated and decoded in one native pass.
    if (this.frameIsWholeMessage && final && this.message.size === 0) {
      this.inMessage = false;
      if (isText) {
        const text = decodeUtf8Strict(bytes);
        if (text === null) return this.fail(CloseCode.InvalidFramePayloadData, "invalid UTF-8 in text message");
        this.handler.text(text);
      } else {
        this.handler.binary(bytes);
      }
      return;
    }
    // Otherwise validate text as it arrives, so invalid UTF-8 fails on the byte that makes it so.
    if (isText && !this.validator.update(bytes)) return this.fail(CloseCode.InvalidFramePayloadData, "invalid UTF-8 in text message");
    if (!(landed || this.assemble(h, bytes)) || !fin) return;
    this.inMessage = false;
    const data = this.message.take();
    if (isText) {
      if (!this.validator.complete) return this.fail(CloseCode.InvalidFramePayloadData, "text message ends inside a UTF-8 sequence");
      this.handler.text(decodeUtf8(data));
    } else {
      this.handler.binary(data);
    }
  }

  /**
   * Copies a data frame's payload bytes into the message being assembled; the frame's whole payload is
   * reserved (in the shared budget too) when its first bytes arrive. False when the connection failed.
   */
  private assemble(h: FrameHeader, bytes: Uint8Array): boolean {
    if (!this.frameReserved && !this.reserveFrame(h)) return false;
    if (bytes.length > 0) this.message.append(bytes);
    return true;
  }

  /** Reserves the room of the frame's whole payload; false when the connection failed (no room). */
  private reserveFrame(h: FrameHeader): boolean {
    this.frameReserved = true;
    if (this.message.reserve(h.payloadLength, this.maxMessageSize)) return true;
    this.fail(CloseCode.TryAgainLater, "the server holds too many unfinished messages");
    return false;
  }

  /** A compressed message is gathered whole, inflated (bounded by maxMessageSize), then checked. */
  private onCompressedPayload(h: FrameHeader, bytes: Uint8Array, fin: boolean, landed: boolean): void {
    if (!(landed || this.assemble(h, bytes)) || !fin) return;
    this.inMessage = false;
    // the compressed bytes are only read by the inflater: the view's reservation can go at once
    const compressed = this.message.take();
    let data: Uint8Array;
    try {
      data = this.deflate!.decompress(compressed, this.maxMessageSize);
    } catch (e) {
      if (e instanceof MessageTooBigError) return this.fail(CloseCode.MessageTooBig, e.message);
      return this.fail(CloseCode.InvalidFramePayloadData, `invalid compressed data: ${e instanceof Error ? e.message : String(e)}`);
    }
    this.handler.inflated?.(data.length);
    const isText = this.messageIsText;
    if (this.streaming) {
      if (isText && !isValidUtf8(data)) return this.fail(CloseCode.InvalidFramePayloadData, "invalid UTF-8 in text message");
      this.handler.fragment(data, isText, true);
    } else if (isText) {
      const text = decodeUtf8Strict(data);
      if (text === null) return this.fail(CloseCode.InvalidFramePayloadData, "invalid UTF-8 in text message");
      this.handler.text(text);
    } else {
      this.handler.binary(data);
    }
  }

  private onControlFrame(opcode: number, payload: Uint8Array): void {
    if (opcode === Opcode.Ping) {
      if (!this.sentClose) {
        if (this.handler.mayPong && !this.handler.mayPong()) this.deferredPong = payload.slice();
        else this.writeFrame(Opcode.Pong, payload);
      }
      this.handler.ping(payload);
    } else if (opcode === Opcode.Pong) {
      this.handler.pong(payload);
    } else {
      this.onCloseFrame(payload);
    }
  }

  private onCloseFrame(payload: Uint8Array): void {
    let code: number = CloseCode.NoStatusReceived;
    let reason = "";
    if (payload.length === 1) return this.fail(CloseCode.ProtocolError, "close frame with a 1-byte payload");
    if (payload.length >= 2) {
      code = (payload[0]! << 8) | payload[1]!;
      if (!isValidWireCloseCode(code)) return this.fail(CloseCode.ProtocolError, `invalid close code ${code}`);
      const reasonBytes = payload.subarray(2);
      if (!isValidUtf8(reasonBytes)) return this.fail(CloseCode.InvalidFramePayloadData, "close reason is not valid UTF-8");
      reason = decodeUtf8(reasonBytes);
    }
    this.receivedClose = { code, reason };
    this.enter("closing", "peer");
    this.parser.stop(); // nothing may follow a close frame
    this.handler.closeReceived(code, reason);
    if (!this.sentClose) {
      // echo the code (RFC 6455 §5.5.1); an empty close is answered with an empty close
      this.sendClosePayload(code === CloseCode.NoStatusReceived ? null : code, "", code);
    }
    this.finish();
  }

  private reject(code: number, message: string): string {
    this.fail(code, message);
    return message;
  }

  /** Fails the connection (RFC 6455 §7.1.7): close frame with `code`, stop reading, end the transport. */
  fail(code: number, message: string): void {
    if (this.phase === "closed" || this.failure) return;
    this.failure = { code, reason: message };
    this.parser.stop();
    this.handler.violation(code, message);
    if (!this.sentClose) {
      this.enter("closing", "us");
      this.sendClosePayload(code, truncateReason(message), code);
    }
    this.finish();
  }

  private finish(): void {
    if (this.phase === "closed") return;
    this.enter("closed");
    this.release(); // an unfinished message is abandoned
    this.handler.end();
  }

  // -------------------------------------------------------------------------------------------- sending

  private get mask(): boolean {
    return this.role === "client";
  }

  /** Writes one frame. Data frames are refused once the close handshake started. */
  writeFrame(opcode: number, payload: Uint8Array, fin = true, rsv1 = false): void {
    if (this.sentClose) throw new Error("the connection is closing: no more frames may be sent");
    this.handler.write(encodeFrameParts(opcode, payload, { fin, rsv1, mask: this.mask, allocate: this.allocate }));
  }

  /** Sends a whole message (Text or Binary), compressed when permessage-deflate is on and it is large enough. */
  sendMessage(opcode: number, payload: Uint8Array): void {
    if (this.sentClose) throw new Error("the connection is closing: no more frames may be sent");
    const deflate = this.deflate;
    if (deflate && deflate.shouldCompress(payload.length)) {
      this.writeFrame(opcode, deflate.compress(payload), true, true);
    } else {
      this.writeFrame(opcode, payload);
    }
  }

  /** Sends a text message; `byteLength` is its UTF-8 size when the caller already knows it (else counted when needed). */
  sendText(text: string, byteLength = -1): void {
    if (this.sentClose) throw new Error("the connection is closing: no more frames may be sent");
    if (byteLength < 0) {
      if (this.role === "server" && this.deflate === undefined) {
        // the common case, an ASCII text: encoded straight into the frame with no count of its UTF-8 length first
        const frame = encodeAsciiTextFrame(text, this.allocate);
        if (frame !== null) {
          this.handler.write([frame]);
          return;
        }
      }
      byteLength = utf8Length(text);
    }
    if (this.role === "server" && !(this.deflate && this.deflate.shouldCompress(byteLength))) {
      // the common case: encode straight into the frame
      this.handler.write([encodeTextFrame(text, byteLength, true, this.allocate)]);
      return;
    }
    this.sendMessage(Opcode.Text, encodeUtf8(text));
  }

  sendBinary(data: Uint8Array): void {
    this.sendMessage(Opcode.Binary, data);
  }

  /** Writes the pong a ping was answered with while the send buffer was full (see `mayPong`), if any. */
  sendDeferredPong(): void {
    const payload = this.deferredPong;
    if (payload === null) return;
    this.deferredPong = null;
    if (!this.sentClose && this.phase !== "closed") this.writeFrame(Opcode.Pong, payload);
  }

  ping(payload: Uint8Array = EMPTY): void {
    if (payload.length > 125) throw new RangeError("ping payload longer than 125 bytes");
    this.writeFrame(Opcode.Ping, payload);
  }

  pong(payload: Uint8Array = EMPTY): void {
    if (payload.length > 125) throw new RangeError("pong payload longer than 125 bytes");
    this.writeFrame(Opcode.Pong, payload);
  }

  /**
   * Starts the close handshake (or answers the peer's). `code` null sends an empty close frame, reported
   * as 1005. Does nothing if a close frame was already sent.
   */
  close(code: number | null = CloseCode.NormalClosure, reason = ""): void {
    if (this.sentClose || this.phase === "closed") return;
    if (code !== null && !isValidWireCloseCode(code)) throw new RangeError(`close code ${code} may not be sent`);
    const reasonBytes = encodeUtf8(reason);
    if (reasonBytes.length > MAX_CLOSE_REASON_BYTES) throw new RangeError(`close reason longer than ${MAX_CLOSE_REASON_BYTES} bytes`);
    if (code === null && reason) throw new RangeError("a close reason needs a close code");
    this.enter("closing", "us");
    this.sendClosePayload(code, reason, code ?? CloseCode.NoStatusReceived);
    if (this.receivedClose) this.finish();
  }

  private sendClosePayload(code: number | null, reason: string, reportCode: number): void {
    let payload = EMPTY;
    if (code !== null) {
      const reasonBytes = encodeUtf8(reason);
      payload = new Uint8Array(2 + reasonBytes.length);
      payload[0] = code >>> 8;
      payload[1] = code & 0xff;
      payload.set(reasonBytes, 2);
    }
    this.handler.write([encodeFrame(Opcode.Close, payload, { mask: this.mask, allocate: this.allocate })]);
    this.sentClose = { code: reportCode, reason };
    this.message.clear(); // data after our close frame is ignored: an unfinished message is abandoned
    if (!this.receivedClose && !this.failure) this.handler.closeSent(reportCode, reason);
  }
}

/** Cuts a reason to the MAX_CLOSE_REASON_BYTES (123) bytes a close frame can carry, on a character boundary. */
export function truncateReason(reason: string): string {
  let bytes = encodeUtf8(reason);
  if (bytes.length <= MAX_CLOSE_REASON_BYTES) return reason;
  let r = reason;
  while (bytes.length > MAX_CLOSE_REASON_BYTES) {
    r = r.slice(0, -1);
    bytes = encodeUtf8(r);
  }
  return r;
}

/** The frame parser's sink: one prototype-method object per connection, calling the state's receive methods. */
class ParserEvents implements FrameSink {
  private readonly p: ProtocolState;
  constructor(protocol: ProtocolState) {
    this.p = protocol;
  }
  header(h: FrameHeader): string | void {
    return this.p.receiveHeader(h);
  }
  payload(bytes: Uint8Array, final: boolean): void {
    this.p.receivePayload(bytes, final, false);
  }
  maskedPayload(bytes: Uint8Array, mask: Uint8Array | null, maskPhase: number, final: boolean): void {
    this.p.receiveMaskedPayload(bytes, mask, maskPhase, final);
  }
  wholeFrame(chunk: Uint8Array, start: number, end: number, maskAt: number): boolean {
    return this.p.receiveWholeFrame(chunk, start, end, maskAt);
  }
  error(message: string): void {
    this.p.fail(CloseCode.ProtocolError, message);
  }
}
