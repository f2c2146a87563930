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
import { concatChunks } from "@ws/core/protocol";

export class BunSocketStream implements ByteStream {
  readonly socket: Socket<unknown>;
  private events: ByteStreamEvents | null = null;
  /** bytes that arrived before `start` (the handshake reader owns them until then) */
  private early: Uint8Array[] = [];
  private earlyEnd = false;
  private earlyClose: { error?: Error } | null = null;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private ending = false;
  private closed = false;

  constructor(socket: Socket<unknown>) {
    this.socket = socket;
  }

  start(events: ByteStreamEvents): void {
    this.events = events;
    const early = this.early;
    this.early = [];
    for (const chunk of early) events.data(chunk);
    if (this.earlyEnd) events.end();
    if (this.earlyClose) events.close(this.earlyClose.error);
  }

  // ------------------------------------------------------------------ fed by the listener's socket handlers

  /**
   * Bun (1.4) hands each `data` callback a fresh buffer that it does not reuse (test/bun-runtime.test.ts checks
   * this on the pinned Bun), so the bytes go to the core without a copy; only the Buffer becomes a plain view.
   */
  handleData(data: Uint8Array): void {
    const chunk = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (this.events) this.events.data(chunk);
    else this.early.push(chunk);
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
    this.pending = [];
    this.pendingBytes = 0;
    if (this.events) this.events.close(error);
    else this.earlyClose = { error };
  }

  // ------------------------------------------------------------------------------------------ ByteStream

  write(chunk: Uint8Array): boolean {
    if (this.closed || this.ending) return false;
    if (this.pendingBytes > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.byteLength;
      return false;
    }
    const written = this.socket.write(chunk);
    if (written === chunk.byteLength) return true;
    if (written < 0) return false; // closed: the close handler reports it
    const rest = written === 0 ? chunk : chunk.subarray(written);
    this.pending.push(rest);
    this.pendingBytes += rest.byteLength;
    return false;
  }

  writev(chunks: Uint8Array[]): boolean {
    // one write system call for the frames of one event-loop turn
    return this.write(concatChunks(chunks));
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

  destroy(): void {
    if (this.closed) return;
    this.pending = [];
    this.pendingBytes = 0;
    this.socket.terminate();
  }

  get bufferedAmount(): number {
    return this.pendingBytes;
  }

  unrefTimer(timer: unknown): void {
    (timer as { unref?: () => void }).unref?.();
  }
}
