// A fuzzing WebSocket endpoint over a raw socket: sends arbitrary frames (chopped, synced, delayed), reads the peer's
// frames strictly, and records the close-handshake facts the graders look at (closedByMe, wasClean, remoteCloseCode...).
import type { Socket } from "node:net";

/**
 * The byte pipe a session runs over: a TCP socket (node:net), or an HTTP/2 stream wrapped by `src/h2.ts`
 * (RFC 8441: END_STREAM stands for the TCP FIN, RST_STREAM for the reset).
 */
export type ByteSocket = Pick<Socket, "setNoDelay" | "on" | "off" | "resume" | "destroy" | "destroySoon" | "end" | "write" | "destroyed">;
import {
  FrameReader,
  OPCODE,
  concat,
  encodeFrame,
  isValidUtf8,
  toHex,
  type FrameSpec,
  type ParsedFrame,
} from "./frame.ts";

export type SessionState = "open" | "closing" | "closed";

export interface SessionHandler {
  onMessage(payload: Uint8Array, binary: boolean): void;
  onPing(payload: Uint8Array): void;
  onPong(payload: Uint8Array): void;
  onConnectionLost(): void;
}

export interface MessageCodec {
  /** Compress one whole message payload (RSV1 is set on the first frame). */
  compress(data: Uint8Array): Uint8Array;
  /** Decompress one whole message payload received with RSV1. */
  decompress(data: Uint8Array): Uint8Array;
}

export interface SessionOptions {
  isServer: boolean;
  /** Fail the connection by dropping TCP (true) or by starting a close handshake (false, the usual fuzzing setting). */
  failByDrop?: boolean;
  closeHandshakeTimeoutMs?: number;
  serverConnectionDropTimeoutMs?: number;
  /** Negotiated permessage-deflate codec, if any. */
  codec?: MessageCodec;
}

export interface SendFrameOptions extends FrameSpec {
  /** Write the frame's octets in chops of this many bytes, each its own write. */
  chopsize?: number;
  /** Push this frame out on its own before anything that follows. */
  sync?: boolean;
}

interface WriteItem {
  data: Uint8Array;
  chopsize?: number;
  sync?: boolean;
}

type WireEntry = unknown[];

const MAX_WIRE_LOG = 256;
const tick = () => new Promise<void>((r) => setImmediate(r));
const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function logData(b: Uint8Array): string {
  return b.length > MAX_WIRE_LOG ? toHex(b.subarray(0, MAX_WIRE_LOG)) + " ..." : toHex(b);
}

export class FuzzingSession {
  readonly isServer: boolean;
  state: SessionState = "open";
  connectionWasOpen = true;
  closedByMe = false;
  failedByMe = false;
  droppedByMe = false;
  wasClean = false;
  wasNotCleanReason: string | null = null;
  wasServerConnectionDropTimeout = false;
  wasOpenHandshakeTimeout = false;
  wasCloseHandshakeTimeout = false;
  localCloseCode: number | null = null;
  localCloseReason: string | null = null;
  remoteCloseCode: number | null = null;
  remoteCloseReason: string | null = null;
  /** Set once the peer's close frame has arrived. */
  closeReceived = false;

  autoFragmentSize = 0;
  createWirelog = true;
  readonly wirelog: WireEntry[] = [];
  readonly txFrameStats: Record<string, number> = {};
  readonly rxFrameStats: Record<string, number> = {};
  readonly txOctetStats: Record<string, number> = {};
  readonly rxOctetStats: Record<string, number> = {};

  handler: SessionHandler | undefined;
  private readonly socket: ByteSocket;
  private readonly reader = new FrameReader();
  private readonly opts: Required<Omit<SessionOptions, "codec">> & { codec?: MessageCodec };
  private readonly queue: WriteItem[] = [];
  private pumping = false;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private fragments: Uint8Array[] | null = null;
  private fragmentOpcode = 0;
  private fragmentCompressed = false;
  private lostResolve!: () => void;
  /** Resolves when the TCP connection is gone and the handler was told. */
  readonly lost: Promise<void>;

  constructor(socket: ByteSocket, opts: SessionOptions, initial?: Uint8Array) {
    this.socket = socket;
    this.isServer = opts.isServer;
    this.opts = {
      isServer: opts.isServer,
      failByDrop: opts.failByDrop ?? false,
      closeHandshakeTimeoutMs: opts.closeHandshakeTimeoutMs ?? 1000,
      serverConnectionDropTimeoutMs: opts.serverConnectionDropTimeoutMs ?? 1000,
      codec: opts.codec,
    };
    this.lost = new Promise((r) => (this.lostResolve = r));
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
    socket.on("error", () => {
      /* reported through 'close' */
    });
    socket.on("close", () => this.onSocketClosed());
    if (initial && initial.length > 0) queueMicrotask(() => this.onData(initial));
    socket.resume();
  }

  // ---------------------------------------------------------------- timers used by the cases

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  continueLater(ms: number, fn: () => void, tag?: string): void {
    this.wirelog.push(["CT", ms / 1000, tag ?? null]);
    this.later(ms, () => {
      if (this.state === "closed") return;
      this.wirelog.push(["CTE", tag ?? null]);
      fn();
    });
  }

  killAfter(ms: number): void {
    this.wirelog.push(["KL", ms / 1000]);
    this.later(ms, () => {
      if (this.state === "closed") return;
      this.wirelog.push(["KLE"]);
      this.failConnection(1001, "Going Away");
    });
  }

  closeAfter(ms: number): void {
    this.wirelog.push(["TI", ms / 1000]);
    this.later(ms, () => {
      if (this.state === "closed") return;
      this.wirelog.push(["TIE"]);
      this.sendClose();
    });
  }

  // ---------------------------------------------------------------- sending

  sendFrame(spec: SendFrameOptions): void {
    if (this.state === "closed") return;
    const mask = spec.mask ?? !this.isServer;
    const bytes = encodeFrame({ ...spec, mask });
    const op = String(spec.opcode);
    this.txFrameStats[op] = (this.txFrameStats[op] ?? 0) + 1;
    if (this.createWirelog) {
      const payload = spec.payload ?? new Uint8Array(0);
      this.wirelog.push(["TF", [payload.length, logData(payload)], spec.opcode, spec.fin ?? true, spec.rsv ?? 0, mask !== false, spec.payloadLen ?? null, spec.chopsize ?? null, spec.sync ?? false]);
    }
    this.write({ data: bytes, chopsize: spec.chopsize, sync: spec.sync });
  }

  /** Send a whole message, fragmented into `fragmentSize` (or the session's autoFragmentSize) frames. */
  sendMessage(payload: Uint8Array, binary: boolean, fragmentSize?: number, opts: { chopsize?: number; sync?: boolean } = {}): void {
    let data = payload;
    let rsv = 0;
    if (this.opts.codec) {
      data = this.opts.codec.compress(payload);
      rsv = 4;
    }
    const size = fragmentSize ?? this.autoFragmentSize;
    const opcode = binary ? OPCODE.binary : OPCODE.text;
    if (!size || size <= 0 || data.length <= size) {
      this.sendFrame({ opcode, payload: data, rsv, ...opts });
      return;
    }
    let first = true;
    for (let off = 0; off < data.length; off += size) {
      const chunk = data.subarray(off, Math.min(off + size, data.length));
      const fin = off + size >= data.length;
      this.sendFrame({ opcode: first ? opcode : OPCODE.continuation, payload: chunk, fin, rsv: first ? rsv : 0, ...opts });
      first = false;
    }
  }

  /** Write raw bytes (used for e.g. a frame whose payload is delivered in delayed parts). */
  sendRaw(data: Uint8Array, sync = false): void {
    if (this.state === "closed") return;
    if (this.createWirelog) this.wirelog.push(["TO", [data.length, logData(data)], sync]);
    this.write({ data, sync });
  }

  /** Start the closing handshake with a well-formed close frame (no-op unless open). */
  sendClose(code?: number, reason?: string): void {
    this.sendCloseFrame(code, reason === undefined ? undefined : new TextEncoder().encode(reason), false);
  }

  /** Send a close frame with any code / reason bytes (no validation), as the initiator or as a reply. */
  sendCloseFrame(code?: number | null, reason?: Uint8Array, isReply = false): void {
    if (this.state !== "open") return;
    const parts: Uint8Array[] = [];
    if (code !== undefined && code !== null) parts.push(new Uint8Array([(code >> 8) & 0xff, code & 0xff]));
    if (reason) parts.push(reason);
    this.sendFrame({ opcode: OPCODE.close, payload: concat(parts) });
    this.closedByMe = !isReply;
    this.localCloseCode = code ?? null;
    this.localCloseReason = reason ? (isValidUtf8(reason) ? new TextDecoder().decode(reason) : toHex(reason)) : null;
    this.state = "closing";
    if (this.closedByMe && this.opts.closeHandshakeTimeoutMs > 0) {
      this.later(this.opts.closeHandshakeTimeoutMs, () => {
        if (this.state === "closed" || this.closeReceived) return;
        this.wasClean = false;
        this.wasNotCleanReason = "peer did not respond (in time) in closing handshake";
        this.wasCloseHandshakeTimeout = true;
        this.dropConnection(true);
      });
    }
  }

  /** Fail the WebSocket connection (protocol error seen, or a case's kill timer fired). */
  failConnection(code = 1002, reason = "Protocol Error"): void {
    if (this.state === "closed") return;
    this.failedByMe = true;
    if (this.opts.failByDrop) {
      this.wasClean = false;
      this.wasNotCleanReason = "I failed the WebSocket connection by dropping the TCP connection";
      this.dropConnection(true);
    } else if (this.state === "open") {
      this.sendCloseFrame(code, new TextEncoder().encode(reason), false);
    } else {
      this.dropConnection(false);
    }
  }

  dropConnection(abort: boolean): void {
    if (this.state === "closed") return;
    this.droppedByMe = true;
    this.state = "closed";
    if (abort) this.socket.destroy();
    else this.flushThen(() => this.socket.destroySoon());
  }

  private flushThen(fn: () => void): void {
    if (!this.pumping && this.queue.length === 0) fn();
    else this.write({ data: new Uint8Array(0), after: fn } as WriteItem & { after: () => void });
  }

  private write(item: WriteItem): void {
    this.queue.push(item);
    if (!this.pumping) void this.pump();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.queue.length > 0) {
        const item = this.queue.shift() as WriteItem & { after?: () => void };
        if (item.after) {
          item.after();
          continue;
        }
        if (this.socket.destroyed) continue;
        const stat = (n: number) => (this.txOctetStats[String(n)] = (this.txOctetStats[String(n)] ?? 0) + 1);
        if (item.chopsize && item.chopsize > 0 && item.chopsize < item.data.length) {
          for (let off = 0; off < item.data.length; off += item.chopsize) {
            if (this.socket.destroyed) break;
            const chop = item.data.subarray(off, off + item.chopsize);
            stat(chop.length);
            if (!this.socket.write(chop)) await this.drain();
            // a macrotask between chops lets each chop leave as its own segment
            if (item.chopsize <= 16) await pause(0);
            else await tick();
          }
        } else {
          stat(item.data.length);
          if (!this.socket.write(item.data)) await this.drain();
          if (item.sync) await pause(1);
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private drain(): Promise<void> {
    return new Promise((r) => {
      const done = () => {
        this.socket.off("drain", done);
        this.socket.off("close", done);
        r();
      };
      this.socket.on("drain", done);
      this.socket.on("close", done);
    });
  }

  // ---------------------------------------------------------------- receiving

  private onData(chunk: Uint8Array): void {
    if (this.createWirelog) this.wirelog.push(["RO", [chunk.length, logData(chunk)]]);
    const n = String(chunk.length);
    this.rxOctetStats[n] = (this.rxOctetStats[n] ?? 0) + 1;
    if (this.state === "closed" || this.closeReceived) return;
    let frames: ParsedFrame[];
    try {
      frames = this.reader.push(chunk);
    } catch (e) {
      this.protocolViolation((e as Error).message);
      return;
    }
    for (const f of frames) {
      if (this.isGone()) return;
      this.onFrame(f);
    }
  }

  private isGone(): boolean {
    return this.state === "closed" || this.closeReceived;
  }

  private protocolViolation(reason: string): void {
    this.wirelog.push(["PV", reason]);
    this.failConnection(1002, reason.slice(0, 120));
  }

  private invalidPayload(reason: string): void {
    this.wirelog.push(["IP", reason]);
    this.failConnection(1007, reason.slice(0, 120));
  }

  private onFrame(f: ParsedFrame): void {
    const op = String(f.opcode);
    this.rxFrameStats[op] = (this.rxFrameStats[op] ?? 0) + 1;
    if (this.createWirelog)
      this.wirelog.push(["RF", [f.payload.length, logData(f.payload)], f.opcode, f.fin, f.rsv, f.masked, f.maskKey ? toHex(f.maskKey) : null]);
    if (this.isServer && !f.masked) return this.protocolViolation("unmasked client-to-server frame");
    if (!this.isServer && f.masked) return this.protocolViolation("masked server-to-client frame");
    const rsv1Allowed = !!this.opts.codec && (f.opcode === OPCODE.text || f.opcode === OPCODE.binary);
    if (f.rsv !== 0 && !(f.rsv === 4 && rsv1Allowed)) return this.protocolViolation(`RSV = ${f.rsv} and no extension negotiated`);
    if (f.opcode >= 8) {
      if (!f.fin) return this.protocolViolation("fragmented control frame");
      if (f.payload.length > 125) return this.protocolViolation("control frame with payload > 125 octets");
      if (f.opcode === OPCODE.close) return this.onCloseFrame(f.payload);
      if (f.opcode === OPCODE.ping) {
        this.handler?.onPing(f.payload);
        if (this.state === "open") this.sendFrame({ opcode: OPCODE.pong, payload: f.payload });
        return;
      }
      if (f.opcode === OPCODE.pong) {
        this.handler?.onPong(f.payload);
        return;
      }
      return this.protocolViolation(`reserved control opcode ${f.opcode}`);
    }
    if (f.opcode === OPCODE.continuation) {
      if (!this.fragments) return this.protocolViolation("continuation frame with nothing to continue");
      this.fragments.push(f.payload);
    } else if (f.opcode === OPCODE.text || f.opcode === OPCODE.binary) {
      if (this.fragments) return this.protocolViolation("new data frame inside a fragmented message");
      this.fragments = [f.payload];
      this.fragmentOpcode = f.opcode;
      this.fragmentCompressed = f.rsv === 4;
    } else {
      return this.protocolViolation(`reserved data opcode ${f.opcode}`);
    }
    if (!f.fin) return;
    let payload = concat(this.fragments);
    this.fragments = null;
    if (this.fragmentCompressed && this.opts.codec) {
      try {
        payload = this.opts.codec.decompress(payload);
      } catch (e) {
        return this.invalidPayload(`could not inflate message: ${(e as Error).message}`);
      }
    }
    const binary = this.fragmentOpcode === OPCODE.binary;
    if (!binary && !isValidUtf8(payload)) return this.invalidPayload("text message payload is not valid UTF-8");
    this.handler?.onMessage(payload, binary);
  }

  private onCloseFrame(payload: Uint8Array): void {
    let code: number | null = null;
    let reason: string | null = null;
    if (payload.length === 1) return this.protocolViolation("close frame with payload length 1");
    if (payload.length >= 2) {
      code = (payload[0] << 8) | payload[1];
      const valid = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) || (code >= 3000 && code <= 4999);
      const reasonBytes = payload.subarray(2);
      this.remoteCloseCode = code;
      if (!valid) {
        this.closeReceived = true;
        return this.protocolViolationAfterClose(`invalid close code ${code}`);
      }
      if (!isValidUtf8(reasonBytes)) {
        this.closeReceived = true;
        return this.protocolViolationAfterClose("close reason is not valid UTF-8");
      }
      reason = new TextDecoder().decode(reasonBytes);
    }
    this.remoteCloseReason = reason;
    this.closeReceived = true;
    if (this.state === "closing") {
      // reply to our close: the handshake is complete
      this.wasClean = true;
      if (this.isServer) this.dropConnection(false);
      else this.awaitServerDrop();
    } else if (this.state === "open") {
      this.sendCloseFrame(code, undefined, true);
      this.wasClean = true;
      if (this.isServer) this.dropConnection(false);
      else this.awaitServerDrop();
    }
  }

  private protocolViolationAfterClose(reason: string): void {
    this.wirelog.push(["PV", reason]);
    this.failedByMe = true;
    if (this.state === "open" && !this.opts.failByDrop) {
      this.sendCloseFrame(1002, new TextEncoder().encode(reason.slice(0, 120)), false);
      this.wasClean = false;
      this.wasNotCleanReason = reason;
      if (this.isServer) this.dropConnection(false);
      else this.awaitServerDrop();
    } else {
      this.wasClean = false;
      this.wasNotCleanReason = reason;
      this.dropConnection(true);
    }
  }

  private awaitServerDrop(): void {
    if (this.opts.serverConnectionDropTimeoutMs <= 0) return;
    this.later(this.opts.serverConnectionDropTimeoutMs, () => {
      if (this.state === "closed") return;
      this.wasClean = false;
      this.wasNotCleanReason = "server did not drop TCP connection (in time)";
      this.wasServerConnectionDropTimeout = true;
      this.dropConnection(true);
    });
  }

  private onSocketClosed(): void {
    if (this.state !== "closed") {
      this.state = "closed";
      if (!this.closeReceived || !this.wasClean) {
        if (!this.closeReceived) {
          this.wasClean = false;
          this.wasNotCleanReason ??= "peer dropped the TCP connection without previous WebSocket closing handshake";
        }
      }
    }
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.queue.length = 0;
    try {
      this.handler?.onConnectionLost();
    } finally {
      this.lostResolve();
    }
  }
}
