/**
 * A Deno connection (`Deno.Conn` from Deno.connect / Deno.connectTls) as the core's ByteStream.
 *
 * Deno's `conn.write` is asynchronous and may write part of a chunk; writes are queued here and pumped one at a
 * time, `write` returns false once the queue holds more than 64 KiB, and `drain` follows when it empties.
 * Reading is a loop over `conn.read` into a fresh buffer each time (the core keeps views of what it is given);
 * a read that filled less than an eighth of it is handed on as a copy of its own size, so that a small message
 * kept by the core or by the application does not keep the whole 64 KiB buffer alive.
 */
import { type ByteStream, type ByteStreamEvents } from "@ws/core/adapter";
import { concatChunks } from "@ws/core/protocol";

const HIGH_WATER_MARK = 64 * 1024;
const READ_SIZE = 64 * 1024;
/** a read of less than READ_SIZE / SMALL_READ_RATIO bytes is copied out of the read buffer */
const SMALL_READ_RATIO = 8;

/**
 * A Deno connection (`Deno.Conn`, from `Deno.connect`, `Deno.connectTls` or `Deno.listen`) as the core's ByteStream.
 *
 * @example
 * ```ts
 * import { DenoConnStream } from "@ws/deno";
 * import { connectOverStream } from "@ws/core/adapter";
 *
 * const tcp = await Deno.connect({ hostname: "127.0.0.1", port: 8080 }); // or a connection from Deno.listen
 * const conn = await connectOverStream(new DenoConnStream(tcp), "ws://127.0.0.1:8080/echo");
 * conn.onText((text) => console.log(text));
 * await conn.send("hello");
 * ```
 */
export class DenoConnStream implements ByteStream {
  readonly conn: Deno.Conn;
  private events: ByteStreamEvents | null = null;
  private queue: Uint8Array[] = [];
  private queued = 0;
  private pumping = false;
  private full = false;
  private ending = false;
  private closed = false;
  private paused: { promise: Promise<void>; resume: () => void } | null = null;

  constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  start(events: ByteStreamEvents): void {
    const first = this.events === null;
    this.events = events;
    if (first) void this.readLoop();
  }

  private async readLoop(): Promise<void> {
    let error: Error | undefined;
    try {
      for (;;) {
        if (this.paused) await this.paused.promise;
        const buffer = new Uint8Array(READ_SIZE);
        const n = await this.conn.read(buffer);
        if (n === null) {
          this.events!.end();
          break;
        }
        this.events!.data(n * SMALL_READ_RATIO < READ_SIZE ? buffer.slice(0, n) : buffer.subarray(0, n));
        if (this.closed) return;
      }
    } catch (e) {
      if (!this.closed) error = e instanceof Error ? e : new Error(String(e));
    }
    // EOF: the connection is done once our side has finished writing too (a half-close needs no answer here)
    if (!error && this.ending) await this.whenWritten();
    this.finish(error);
  }

  private whenWritten(): Promise<void> {
    if (!this.pumping) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => (this.pumping ? setTimeout(check, 5) : resolve());
      check();
    });
  }

  private finish(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.close();
    } catch {
      // already closed
    }
    this.queue = [];
    this.queued = 0;
    this.paused?.resume();
    this.events?.close(error);
  }

  write(chunk: Uint8Array): boolean {
    if (this.closed || this.ending) return false;
    this.queue.push(chunk);
    this.queued += chunk.byteLength;
    if (!this.pumping) void this.pump();
    if (this.queued > HIGH_WATER_MARK) this.full = true;
    return !this.full;
  }

  writev(chunks: Uint8Array[]): boolean {
    // one write system call for the frames of one event-loop turn
    return this.write(concatChunks(chunks));
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.queue.length > 0) {
        const chunk = this.queue[0]!;
        let offset = 0;
        while (offset < chunk.byteLength) offset += await this.conn.write(chunk.subarray(offset));
        this.queue.shift();
        this.queued -= chunk.byteLength;
      }
      if (this.ending && !this.closed) await this.conn.closeWrite();
    } catch (e) {
      this.pumping = false;
      this.finish(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    this.pumping = false;
    if (this.full && !this.closed) {
      this.full = false;
      this.events?.drain();
    }
  }

  end(): void {
    if (this.closed || this.ending) return;
    this.ending = true;
    if (!this.pumping) void this.pump();
  }

  destroy(): void {
    this.finish();
  }

  get bufferedAmount(): number {
    return this.queued;
  }

  pause(): void {
    if (this.paused) return;
    let resume!: () => void;
    const promise = new Promise<void>((r) => (resume = r));
    this.paused = { promise, resume };
  }

  resume(): void {
    const p = this.paused;
    this.paused = null;
    p?.resume();
  }

  unrefTimer(timer: unknown): void {
    if (typeof timer === "number") Deno.unrefTimer(timer);
  }
}
