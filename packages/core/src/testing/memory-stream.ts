/**
 * Two ByteStreams joined back to back in memory, behaving like the two ends of a TCP connection: what one side
 * writes arrives at the other a microtask later, everything written by then coalesced into one `data` chunk (as
 * a socket read returns what has arrived); `write` returns false above a high-water mark and `drain` follows once
 * the bytes have left; `end()` is a half-close (the peer gets `end` after the data before it, and both sides
 * `close` once both have ended); `destroy()` drops what is unsent and closes both sides; `pause()` holds incoming
 * data until `resume()`. No timers, no runtime API: it runs wherever the core runs.
 */
import type { ByteStream, ByteStreamEvents } from "../session/byte-stream.ts";
import { concatChunks } from "../wire/frame.ts";

/** Options of `memoryStreamPair`. */
export interface MemoryStreamOptions {
  /** bytes that may wait to be delivered before `write` returns false (then `drain` follows). Default 64 KiB. */
  highWaterMark?: number;
}

type Delivery = { kind: "data"; chunk: Uint8Array } | { kind: "end" };

/**
 * One end of an in-memory connection (see `memoryStreamPair`). It is a complete `ByteStream`: an engine or a
 * handshake runs over it as over a socket.
 *
 * @example
 * ```ts
 * import { memoryStreamPair } from "@ws/core/testing";
 * const [near, far] = memoryStreamPair();
 * far.start({ data: (bytes) => console.log(bytes.length), drain() {}, end() {}, close() {} });
 * near.start({ data() {}, drain() {}, end() {}, close() {} });
 * near.write(new Uint8Array(3)); // far logs 3, a microtask later
 * ```
 */
export class MemoryByteStream implements ByteStream {
  /** the other end */
  peer!: MemoryByteStream;
  private readonly highWaterMark: number;
  private events: ByteStreamEvents | null = null;
  /** written, not yet delivered (views of the writers' buffers: a copy is made on delivery) */
  private outgoing: Delivery[] = [];
  private queued = 0;
  private needDrain = false;
  private pumping = false;
  private ended = false;
  private endDelivered = false;
  private closedFlag = false;
  private paused = false;
  /** both sides have ended: close once the inbox is empty */
  private closeWhenRead = false;
  /** delivered to this side, waiting for a handler or for `resume()` */
  private inbox: Delivery[] = [];

  constructor(options: MemoryStreamOptions = {}) {
    this.highWaterMark = options.highWaterMark ?? 64 * 1024;
  }

  start(events: ByteStreamEvents): void {
    this.events = events;
    this.deliverInbox();
  }

  write(chunk: Uint8Array): boolean {
    if (this.closedFlag || this.ended) return false;
    if (chunk.length > 0) {
      this.outgoing.push({ kind: "data", chunk });
      this.queued += chunk.length;
      this.schedulePump();
    }
    if (this.queued < this.highWaterMark) return true;
    this.needDrain = true;
    return false;
  }

  writev(chunks: Uint8Array[]): boolean {
    let ok = true;
    for (const chunk of chunks) ok = this.write(chunk);
    return ok;
  }

  end(): void {
    if (this.closedFlag || this.ended) return;
    this.ended = true;
    this.outgoing.push({ kind: "end" });
    this.schedulePump();
  }

  destroy(): void {
    if (this.closedFlag) return;
    this.outgoing = [];
    this.queued = 0;
    this.markClosed();
    this.peer.markClosed();
  }

  get bufferedAmount(): number {
    return this.queued;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    queueMicrotask(() => this.deliverInbox());
  }

  unrefTimer(timer: unknown): void {
    (timer as { unref?: () => void } | null)?.unref?.();
  }

  /** Whether this end is closed (destroyed, or ended by both sides). */
  get closed(): boolean {
    return this.closedFlag;
  }

  private schedulePump(): void {
    if (this.pumping) return;
    this.pumping = true;
    queueMicrotask(() => this.pump());
  }

  /** Hands what was written to the peer: consecutive writes as one chunk, an end after the data before it. */
  private pump(): void {
    this.pumping = false;
    if (this.closedFlag) return;
    const items = this.outgoing;
    this.outgoing = [];
    this.queued = 0;
    let data: Uint8Array[] = [];
    const flush = () => {
      if (data.length > 0) this.peer.arrive({ kind: "data", chunk: data.length === 1 ? data[0].slice() : concatChunks(data) });
      data = [];
    };
    for (const item of items) {
      if (item.kind === "data") data.push(item.chunk);
      else {
        flush();
        this.endDelivered = true;
        this.peer.arrive(item);
      }
    }
    flush();
    if (this.needDrain) {
      this.needDrain = false;
      this.events?.drain();
    }
    if (this.endDelivered && this.peer.endDelivered) {
      this.finish();
      this.peer.finish();
    }
  }

  private arrive(item: Delivery): void {
    if (this.closedFlag || this.closeWhenRead) return;
    this.inbox.push(item);
    this.deliverInbox();
  }

  private deliverInbox(): void {
    while (this.events && !this.paused && !this.closedFlag && this.inbox.length > 0) {
      const item = this.inbox.shift()!;
      if (item.kind === "data") this.events.data(item.chunk);
      else this.events.end();
    }
    if (this.closeWhenRead && this.inbox.length === 0) this.markClosed();
  }

  /** Both sides have ended: this side closes once what it received has been read. */
  private finish(): void {
    this.closeWhenRead = true;
    this.deliverInbox();
  }

  private markClosed(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.inbox = [];
    queueMicrotask(() => this.events?.close());
  }
}

/**
 * Two `MemoryByteStream`s joined back to back: what one writes, the other reads. The in-memory stand-in for a
 * TCP connection under `testServer()`, and a way to run an engine or a handshake of your own without a socket.
 *
 * @example
 * ```ts
 * import { ServerCore, connectOverStream } from "@ws/core/adapter";
 * import { memoryStreamPair } from "@ws/core/testing";
 * const [clientEnd, serverEnd] = memoryStreamPair({ highWaterMark: 16 * 1024 });
 * // serverEnd: read the request head, then `(await core.negotiate(req)).accept(serverEnd)`
 * const conn = await connectOverStream(clientEnd, "ws://localhost/chat");
 * ```
 */
export function memoryStreamPair(options: MemoryStreamOptions = {}): [MemoryByteStream, MemoryByteStream] {
  const a = new MemoryByteStream(options);
  const b = new MemoryByteStream(options);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
