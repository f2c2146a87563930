/**
 * An in-memory ByteStream pair that behaves like the two ends of a TCP socket, for driving the core in tests:
 * - `write` copies the bytes and queues them; they reach the peer asynchronously (a microtask later), all the
 *   bytes queued by then coalesced into one `data` chunk, as a socket read would return them;
 * - `write` returns false once more than `highWaterMark` bytes wait; `drain` follows when they have all left
 *   (only after a false return, as with Node's sockets);
 * - `stall()` holds everything written until `unstall()` (a peer that does not read: the buffer fills up);
 * - `end()` delivers `end` to the peer after the data before it; when both sides have ended, both get `close`;
 * - `destroy()` drops anything unsent and both sides get `close` (once each);
 * - `pause()` holds incoming data (and a later `end`) until `resume()`.
 * `start` may be called again to hand the stream to a new owner (the client handshake hands it to its
 * Connection); events then go to the new owner.
 */
import type { ByteStream, ByteStreamEvents } from "../../src/adapter.ts";

type Inbound = { kind: "data"; chunk: Uint8Array } | { kind: "end" };

export interface MemoryStreamOptions {
  /** bytes that may wait in the send buffer before `write` returns false. Default 64 KiB. */
  highWaterMark?: number;
}

export class MemoryStream implements ByteStream {
  peer!: MemoryStream;
  readonly name: string;
  readonly highWaterMark: number;
  /** the exact objects given to write/writev, in order (for identity checks) */
  readonly writes: Uint8Array[] = [];
  /** how many times write or writev was called */
  writeCalls = 0;
  /** results of write/writev calls */
  readonly writeResults: boolean[] = [];
  startCalls = 0;
  pauseCalls = 0;
  resumeCalls = 0;
  destroyCalls = 0;
  endCalls = 0;

  private events: ByteStreamEvents | null = null;
  private outQueue: Inbound[] = [];
  private queuedBytes = 0;
  private needDrain = false;
  private pumpScheduled = false;
  private stalled = false;
  /** we called end() */
  private endedLocal = false;
  /** our end marker reached the peer */
  private finDelivered = false;
  private closedFlag = false;
  private paused = false;
  private inbox: Inbound[] = [];
  /** everything this side's owner received, in order (a copy) */
  private receivedChunks: Uint8Array[] = [];
  readonly eventLog: string[] = [];

  constructor(name: string, options: MemoryStreamOptions = {}) {
    this.name = name;
    this.highWaterMark = options.highWaterMark ?? 64 * 1024;
  }

  // ----------------------------------------------------------------------------------------- ByteStream

  start(events: ByteStreamEvents): void {
    this.startCalls++;
    this.events = events;
    this.deliverInbox();
  }

  write(chunk: Uint8Array): boolean {
    this.writeCalls++;
    const ok = this.queue(chunk);
    this.writeResults.push(ok);
    return ok;
  }

  writev(chunks: Uint8Array[]): boolean {
    this.writeCalls++;
    let ok = true;
    for (const c of chunks) ok = this.queue(c);
    this.writeResults.push(ok);
    return ok;
  }

  end(): void {
    this.endCalls++;
    if (this.endedLocal || this.closedFlag) return;
    this.endedLocal = true;
    this.outQueue.push({ kind: "end" });
    this.schedulePump();
  }

  destroy(): void {
    this.destroyCalls++;
    if (this.closedFlag) return;
    this.outQueue = [];
    this.queuedBytes = 0;
    this.closeBoth();
  }

  get bufferedAmount(): number {
    return this.queuedBytes;
  }

  pause(): void {
    this.pauseCalls++;
    this.paused = true;
  }

  resume(): void {
    this.resumeCalls++;
    this.paused = false;
    queueMicrotask(() => this.deliverInbox());
  }

  unrefTimer(): void {}

  // ------------------------------------------------------------------------------------------ test control

  /** Holds written bytes (the peer stops reading): the send buffer fills and write returns false. */
  stall(): void {
    this.stalled = true;
  }

  /** Lets held bytes flow again. */
  unstall(): void {
    this.stalled = false;
    this.schedulePump();
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Everything this side received so far, as one buffer. */
  received(): Uint8Array {
    return concatBytes(this.receivedChunks);
  }

  /** Forgets what was received so far. */
  clearReceived(): void {
    this.receivedChunks = [];
  }

  /** Everything written on this side so far (the bytes as they were at write time). */
  get sentBytes(): Uint8Array {
    return concatBytes(this.sentCopies);
  }
  private sentCopies: Uint8Array[] = [];

  // ---------------------------------------------------------------------------------------------- inside

  private queue(chunk: Uint8Array): boolean {
    this.writes.push(chunk);
    if (this.closedFlag || this.endedLocal) return false;
    const copy = chunk.slice();
    this.sentCopies.push(copy);
    this.outQueue.push({ kind: "data", chunk: copy });
    this.queuedBytes += copy.length;
    this.schedulePump();
    if (this.queuedBytes >= this.highWaterMark) {
      this.needDrain = true;
      return false;
    }
    return true;
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => this.pump());
  }

  private pump(): void {
    this.pumpScheduled = false;
    if (this.stalled || this.closedFlag) return;
    const items = this.outQueue;
    this.outQueue = [];
    this.queuedBytes = 0;
    // coalesce consecutive data into one chunk, as a socket read returns what has arrived
    let pending: Uint8Array[] = [];
    const flushData = () => {
      if (pending.length > 0) this.peer.arrive({ kind: "data", chunk: concatBytes(pending) });
      pending = [];
    };
    for (const item of items) {
      if (item.kind === "data") pending.push(item.chunk);
      else {
        flushData();
        this.finDelivered = true;
        this.peer.arrive(item);
      }
    }
    flushData();
    if (this.needDrain && !this.closedFlag) {
      this.needDrain = false;
      this.log("drain");
      this.events?.drain();
    }
    if (this.finDelivered && this.peer.finDelivered) this.closeBoth();
  }

  private arrive(item: Inbound): void {
    if (this.closedFlag) return;
    this.inbox.push(item);
    this.deliverInbox();
  }

  private deliverInbox(): void {
    while (this.events && !this.paused && !this.closedFlag && this.inbox.length > 0) {
      const item = this.inbox.shift()!;
      if (item.kind === "data") {
        this.receivedChunks.push(item.chunk.slice());
        this.log(`data ${item.chunk.length}`);
        this.events.data(item.chunk);
      } else {
        this.log("end");
        this.events.end();
      }
    }
  }

  private closeBoth(): void {
    this.markClosed();
    this.peer.markClosed();
  }

  private markClosed(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    queueMicrotask(() => {
      this.log("close");
      this.events?.close();
    });
  }

  private log(event: string): void {
    this.eventLog.push(event);
  }
}

export function memoryPair(options: MemoryStreamOptions & { serverOptions?: MemoryStreamOptions } = {}): [MemoryStream, MemoryStream] {
  const a = new MemoryStream("a", options.serverOptions ?? options);
  const b = new MemoryStream("b", options);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

export function concatBytes(chunks: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const c of chunks) total += c.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

/** Lets queued microtasks (and the stream's deliveries) run. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}
