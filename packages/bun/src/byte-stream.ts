/**
 * A Bun socket (from `Bun.listen` or `Bun.connect`) as the core's ByteStream.
 *
 * Bun's `socket.write` is unbuffered: it returns how many bytes the kernel took, possibly fewer than given. What
 * it did not take is queued here and written on `drain`, so the core sees the usual buffered-write contract.
 * Bun's socket callbacks are per listener, not per socket: the listener's handlers forward to the
 * `BunSocketStream` kept in `socket.data`.
 */
import type { Socket } from "bun";
import { type ByteStream, type ByteStreamEvents } from "@ws/core/adapter";
import { DEFAULT_CLOSE_TIMEOUT } from "@ws/core";
import { concatChunks } from "@ws/core/protocol";

/** Buffer's native latin1 decoder, which takes offsets: called on a plain Uint8Array, it makes no view of it */
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice: (this: Uint8Array, start: number, end: number) => string }).latin1Slice;

/**
 * The text of ASCII bytes (every one below 0x80) at `bytes[start, end)`, decoded by Bun natively from the offsets:
 * a small text message costs no `subarray` (about 70 ns on JavaScriptCore, as much as the rest of its parsing)
 * and no UTF-8 validation (ASCII is valid UTF-8).
 */
function asciiText(bytes: Uint8Array, start: number, end: number): string {
  return latin1Slice.call(bytes, start, end);
}

/** The empty queue an idle stream points at (most never wait for drain): replaced on first use, never pushed to. */
const NOTHING_PENDING: Uint8Array[] = Object.freeze([]) as unknown as Uint8Array[];

/** writev writes a buffer this large as it is, and copies smaller neighbours together */
const WRITEV_DIRECT = 256 * 1024;

/**
 * A Bun socket (from `Bun.listen` or `Bun.connect`) as the core's ByteStream: the listener's socket handlers call
 * its `handle*` methods; what Bun's unbuffered `write` does not take is queued and written on drain.
 *
 * @example
 * ```ts
 * import { BunSocketStream } from "@ws/bun";
 * import { connectOverStream } from "@ws/core/adapter";
 *
 * let stream: BunSocketStream | undefined;
 * await Bun.connect({
 *   hostname: "127.0.0.1",
 *   port: 8080,
 *   socket: {
 *     binaryType: "uint8array",
 *     open(socket) {
 *       stream = new BunSocketStream(socket);
 *     },
 *     // Bun's socket handlers are per listener: each forwards to the socket's stream
 *     data: (_socket, data) => stream?.handleData(data),
 *     drain: () => stream?.handleDrain(),
 *     end: () => stream?.handleEnd(),
 *     close: (_socket, error) => stream?.handleClose(error),
 *   },
 * });
 * const conn = await connectOverStream(stream!, "ws://127.0.0.1:8080/echo");
 * await conn.send("hello");
 * ```
 */
export class BunSocketStream implements ByteStream {
  readonly socket: Socket<unknown>;
  /** ByteStream: small ASCII texts decoded from offsets, without a view each (see asciiText) */
  readonly asciiText = asciiText;
  private events: ByteStreamEvents | null = null;
  /** bytes that arrived before `start` (the handshake reader owns them until then) */
  /** (created by the first such chunk: most clients send nothing before the 101) */
  private early: Uint8Array[] | null = null;
  private earlyEnd = false;
  private earlyClose: { error?: Error } | null = null;
  /** what the kernel did not take yet (the shared empty list until something waits) */
  private pending: Uint8Array[] = NOTHING_PENDING;
  private pendingBytes = 0;
  private ending = false;
  private closed = false;
  /** the core asked for no more data (read backpressure) */
  private paused = false;
  private destroyed = false;
  /** paused by holdUntilStarted */
  private held = false;
  private readonly linger: number;
  private lingerTimer: ReturnType<typeof setTimeout> | undefined = undefined;

  /**
   * `linger`: ms a destroyed stream's socket stays half-closed for the kernel to hand the peer what it already
   * holds, before it is reset (default: the close timeout's default, 5000)
   */
  constructor(socket: Socket<unknown>, linger: number = DEFAULT_CLOSE_TIMEOUT) {
    this.socket = socket;
    this.linger = linger;
  }

  start(events: ByteStreamEvents): void {
    this.events = events;
    const early = this.early;
    this.early = null;
    if (early !== null) for (const chunk of early) events.data(chunk);
    if (this.earlyEnd) events.end();
    if (this.earlyClose) events.close(this.earlyClose.error);
  }

  // ------------------------------------------------------------------ fed by the listener's socket handlers

  /**
   * Bun (1.4) hands each `data` callback a fresh buffer that it does not reuse (test/bun-runtime.test.ts checks
   * this on the pinned Bun), so the bytes go to the core without a copy; only the Buffer becomes a plain view.
   */
  handleData(data: Uint8Array): void {
    if (this.destroyed) return;
    // with `binaryType: "uint8array"` (the listener's and the client's) Bun hands plain Uint8Arrays already
    const chunk = data.constructor === Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (this.events) this.events.data(chunk);
    else (this.early ??= []).push(chunk);
  }

  handleDrain(): void {
    if (this.closed) return;
    this.flushPending();
    if (this.pendingBytes === 0) {
      if (this.ending) this.socket.shutdown();
      this.events?.drain();
    }
  }

  handleEnd(): void {
    if (this.events) this.events.end();
    else this.earlyEnd = true;
  }

  handleClose(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.lingerTimer);
    this.pending = NOTHING_PENDING;
    this.pendingBytes = 0;
    if (this.events) this.events.close(error);
    else this.earlyClose = { error };
  }

  // ------------------------------------------------------------------------------------------ ByteStream

  write(chunk: Uint8Array): boolean {
    if (this.closed || this.ending) return false;
    if (this.pendingBytes > 0) {
      this.queue(chunk);
      return false;
    }
    const written = this.socket.write(chunk);
    if (written === chunk.byteLength) return true;
    if (written < 0) return false; // closed: the close handler reports it
    this.queue(written === 0 ? chunk : chunk.subarray(written));
    return false;
  }

  /** Queues what the kernel did not take, for `drain`. */
  private queue(chunk: Uint8Array): void {
    if (this.pending === NOTHING_PENDING) this.pending = [];
    this.pending.push(chunk);
    this.pendingBytes += chunk.byteLength;
  }

  writev(chunks: Uint8Array[]): boolean {
    // one write system call for the frames of one event-loop turn: small buffers are copied together; a buffer
    // of WRITEV_DIRECT bytes or more (a large message's payload) is written as it is, a copy would cost more
    let ok = true;
    let from = 0;
    for (let i = 0; i < chunks.length; i++) {
      if (chunks[i]!.byteLength < WRITEV_DIRECT) continue;
      if (i > from) ok = this.writeTogether(chunks, from, i);
      ok = this.write(chunks[i]!);
      from = i + 1;
    }
    if (from < chunks.length) ok = this.writeTogether(chunks, from, chunks.length);
    return ok && this.pendingBytes === 0;
  }

  /**
   * Writes `chunks[from..to)` with one system call through a copy of them all; what the kernel does not take
   * waits as the original chunks (views of them), not as the copy: a frame shared by many connections (a
   * broadcast) stays one buffer in memory however many of them wait. Once something waits, they all just queue.
   */
  private writeTogether(chunks: Uint8Array[], from: number, to: number): boolean {
    if (to - from === 1) return this.write(chunks[from]!);
    if (this.closed || this.ending) return false;
    let skip = 0;
    if (this.pendingBytes === 0) {
      const group = chunks.slice(from, to);
      const joined = concatChunks(group);
      const written = this.socket.write(joined);
      if (written === joined.byteLength) return true;
      if (written < 0) return false; // closed: the close handler reports it
      skip = written;
    }
    for (let i = from; i < to; i++) {
      const c = chunks[i]!;
      if (skip >= c.byteLength) {
        skip -= c.byteLength;
        continue;
      }
      const rest = skip > 0 ? c.subarray(skip) : c;
      skip = 0;
      this.queue(rest);
    }
    return false;
  }

  private flushPending(): void {
    while (this.pending.length > 0) {
      const chunk = this.pending[0]!;
      const written = this.socket.write(chunk);
      if (written < 0) return;
      this.pendingBytes -= Math.max(written, 0);
      if (written < chunk.byteLength) {
        this.pending[0] = chunk.subarray(written);
        return;
      }
      this.pending.shift();
    }
  }

  end(): void {
    if (this.closed || this.ending) return;
    this.ending = true;
    // half-close once everything queued has left; Bun's shutdown() sends the FIN
    if (this.pendingBytes === 0) this.socket.shutdown();
  }

  /**
   * Drops what waits here and half-closes: as a Node socket's destroy() (close(2)), the bytes the kernel already
   * took still reach the peer, then the FIN (Bun's terminate() would reset the connection, and a reset makes the
   * peer's kernel discard what it has received and not yet read, a close frame included). A peer that does not
   * close its side within `linger` ms is reset then. Nothing more is read.
   */
  destroy(): void {
    if (this.closed || this.destroyed) return;
    this.destroyed = true;
    this.pending = NOTHING_PENDING;
    this.pendingBytes = 0;
    this.ending = true;
    this.socket.shutdown();
    // read on (and discard), so that the peer's FIN or reset is noticed
    this.socket.resume();
    this.lingerTimer = setTimeout(() => this.socket.terminate(), this.linger);
    (this.lingerTimer as { unref?: () => void }).unref?.();
  }

  /** read backpressure: Bun stops reading the socket (what the kernel holds stays there) */
  pause(): void {
    this.paused = true;
    if (!this.closed) this.socket.pause();
  }

  resume(): void {
    this.paused = false;
    if (!this.closed) this.socket.resume();
  }

  /**
   * Data arrived before `start` (the server is still deciding the upgrade): stop reading until `startReading`, so
   * that what waits here is bounded by what Bun had already read.
   */
  holdUntilStarted(): void {
    if (this.held || this.events !== null || this.closed) return;
    this.held = true;
    this.socket.pause();
  }

  /**
   * The upgrade is decided: if `holdUntilStarted` paused the socket, reading starts again now, unless the core has
   * paused it meanwhile.
   */
  startReading(): void {
    if (!this.held) return;
    this.held = false;
    if (!this.paused && !this.closed) this.socket.resume();
  }

  get bufferedAmount(): number {
    return this.pendingBytes;
  }

  unrefTimer(timer: unknown): void {
    (timer as { unref?: () => void }).unref?.();
  }
}
