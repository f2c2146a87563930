/**
 * The send side of the core engine's transport: what is queued for the peer in one event-loop turn and handed
 * to the byte stream in one write (the output batch), the frames shared with other connections passed on by
 * reference, who waits for the send buffer to drain, and whether the stream is full (its last write refused).
 *
 * A base class rather than an object of its own: its fields live in the transport's one object, so an idle
 * connection holds no more than it did before the split (an empty batch, the shared empty list of waiters).
 */
import type { ByteStream } from "./byte-stream.ts";
import { concatChunks, COPY_THRESHOLD } from "../wire/frame.ts";

/** The empty list of waiters an idle transport points at: replaced on first use, never pushed to. */
export const NO_WAITERS: Array<() => void> = Object.freeze([]) as unknown as Array<() => void>;

/** The empty batch an idle transport points at: replaced by the first chunk queued, never pushed to. */
const NO_CHUNKS: Uint8Array[] = Object.freeze([]) as unknown as Uint8Array[];

/**
 * Frames written to several connections (a broadcast) of this size or more are handed to the stream as they
 * are, never copied into a connection's write batch, so one buffer serves every receiver however many frames
 * go out in a turn. Smaller ones are copied together with their neighbours: a copy of so few bytes costs less
 * than the stream's bookkeeping of one more buffer.
 */
export const SHARED_FRAME_MIN = 256;

/** Small frames of one turn up to this many bytes in all go out as one buffer (cheaper than a vectored write). */
const ONE_BUFFER_MAX = 64 * 1024;

/**
 * The batches waiting to be handed to their streams, of every connection: one microtask hands them all over,
 * rather than one microtask per connection and turn (a broadcast to 500 subscribers queued 500 of them).
 */
let waiting: SendQueue[] = [];

/** The same, for the streams whose batches are handed over once the pending reads are in (ByteStream.afterReads). */
let waitingAfterReads: SendQueue[] = [];

/** Hands over each queue's batch; the broadcast copy shared among them is let go after. */
function handOver(queues: SendQueue[]): void {
  for (const q of queues) q.flushIfScheduled();
  joinedFrom = null;
  joined = null;
}

function flushWaiting(): void {
  const queues = waiting;
  waiting = [];
  handOver(queues);
}

function flushWaitingAfterReads(): void {
  const queues = waitingAfterReads;
  waitingAfterReads = [];
  handOver(queues);
}

/**
 * The last batch of shared frames only (a broadcast's) copied into one buffer, and the frames it was copied from:
 * the next connection whose batch is the same frames, in the same order (every subscriber of a topic, the same
 * turn), writes that buffer too instead of a copy of its own. Nothing modifies a buffer once written, so it may be
 * shared like the frames; kept until the end of the microtask that hands the batches over.
 */
let joinedFrom: Uint8Array[] | null = null;
let joined: Uint8Array | null = null;
let joinedWith: ((size: number) => Uint8Array) | undefined;

function joinShared(chunks: Uint8Array[], total: number, allocate: ((size: number) => Uint8Array) | undefined): Uint8Array {
  const from = joinedFrom;
  if (from !== null && from.length === chunks.length && joinedWith === allocate) {
    let i = 0;
    while (i < chunks.length && from[i] === chunks[i]) i++;
    if (i === chunks.length) return joined!;
  }
  const out = concatChunks(chunks, total, allocate);
  joinedFrom = chunks;
  joined = out;
  joinedWith = allocate;
  return out;
}

/** The output batch over a byte stream; the transport (a subclass) says what a write means for it. */
export abstract class SendQueue {
  protected readonly bytes: ByteStream;
  /** the connection has ended: nothing more is written, every waiter has been let go */
  protected finalized = false;
  /** this turn's chunks (the shared empty list between turns: an idle connection holds no array of its own) */
  private out: Uint8Array[] = NO_CHUNKS;
  /** bytes queued and not yet handed to the stream */
  protected outBytes = 0;
  /** a queued chunk is a large payload passed on without a copy: keep it that way (writev) */
  private outHasLarge = false;
  /** a queued chunk is a frame shared with other connections (sendFrame): pass it on by reference */
  private outHasShared = false;
  /** every queued chunk is a frame shared with other connections (a broadcast's): their copy may be too */
  private outAllShared = true;
  private flushScheduled = false;
  private batch: { promise: Promise<boolean>; resolve: (ok: boolean) => void } | null = null;
  /** who waits for the send buffer to drain (the shared empty list until someone does) */
  private drainWaiters: Array<() => void> = NO_WAITERS;
  /** the stream's last write returned false and no drain has come since */
  protected streamFull = false;

  constructor(bytes: ByteStream) {
    this.bytes = bytes;
  }

  /** After a batch was handed to the stream: `ok` is what the stream's write returned (false: a drain follows). */
  protected abstract written(ok: boolean): void;

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

  /** Queues chunks for this turn's write. `shared`: the chunks are written to other connections too (a broadcast frame). */
  protected enqueue(chunks: Uint8Array[], shared = false): void {
    if (this.out === NO_CHUNKS) this.out = [];
    for (const c of chunks) {
      this.out.push(c);
      this.outBytes += c.length;
      if (c.length >= COPY_THRESHOLD) this.outHasLarge = true;
      if (shared && c.length >= SHARED_FRAME_MIN) this.outHasShared = true;
    }
    if (!shared) this.outAllShared = false;
    if (!this.flushScheduled) this.scheduleFlush();
  }

  /** Queues one chunk for this turn's write (as `enqueue([chunk], shared)`, without the array). */
  protected enqueueOne(chunk: Uint8Array, shared = false): void {
    if (this.out === NO_CHUNKS) this.out = [];
    this.out.push(chunk);
    this.outBytes += chunk.length;
    if (chunk.length >= COPY_THRESHOLD) this.outHasLarge = true;
    if (shared && chunk.length >= SHARED_FRAME_MIN) this.outHasShared = true;
    if (!shared) this.outAllShared = false;
    if (!this.flushScheduled) this.scheduleFlush();
  }

  /**
   * The batch goes to the stream in the microtask that hands over every connection's batch of this turn (the
   * first one queued schedules it), as it would in a microtask of its own; for a stream with `afterReads`, in the
   * task that hands over every such batch once the reads that were ready are in (the first one queued schedules
   * it with its stream's `afterReads`).
   */
  private scheduleFlush(): void {
    this.flushScheduled = true;
    const afterReads = this.bytes.afterReads;
    if (afterReads !== undefined) {
      if (waitingAfterReads.push(this) === 1) afterReads(flushWaitingAfterReads);
    } else if (waiting.push(this) === 1) queueMicrotask(flushWaiting);
  }

  /** @internal flushWaiting: the batch, unless it was handed over already (a drop flushes at once). */
  flushIfScheduled(): void {
    if (this.flushScheduled) this.flush();
  }

  /** A promise for the end of the current write batch. */
  protected flushed(): Promise<boolean> {
    if (!this.batch) {
      let resolve!: (ok: boolean) => void;
      const promise = new Promise<boolean>((r) => (resolve = r));
      this.batch = { promise, resolve };
    }
    return this.batch.promise;
  }

  /** Hands everything queued in this event-loop turn to the stream in one write. */
  protected flush(): void {
    this.flushScheduled = false;
    const batch = this.batch;
    this.batch = null;
    if (this.out.length > 0 && !this.finalized) {
      const chunks = this.out;
      const total = this.outBytes;
      const large = this.outHasLarge;
      const shared = this.outHasShared;
      const allShared = this.outAllShared;
      this.out = NO_CHUNKS;
      this.outBytes = 0;
      this.outHasLarge = false;
      this.outHasShared = false;
      this.outAllShared = true;
      const stream = this.bytes;
      let ok: boolean;
      if (chunks.length === 1) ok = stream.write(chunks[0]!);
      // a broadcast frame stays one buffer for all its receivers: only the small chunks around it are copied
      else if (shared) ok = writeKeepingShared(stream, chunks);
      // small frames of one turn: one buffer, one write (cheaper than a vectored write of many pieces);
      // large payloads (passed on uncopied) go out with a vectored write
      else if (!large && total <= ONE_BUFFER_MAX) ok = stream.write(allShared ? joinShared(chunks, total, stream.allocate) : concatChunks(chunks, total, stream.allocate));
      else if (!stream.writev) ok = stream.write(concatChunks(chunks, total, stream.allocate));
      else ok = stream.writev(chunks);
      // backpressure shows in bufferedAmount; after a false return the stream's drain event follows
      this.streamFull = !ok;
      this.written(ok);
    }
    batch?.resolve(!this.finalized);
    if (!this.streamFull && this.outBytes === 0) this.releaseDrainWaiters();
  }

  /** The stream drained: it takes writes again. */
  protected streamDrained(): void {
    this.streamFull = false;
  }

  protected releaseDrainWaiters(): void {
    if (this.drainWaiters.length === 0) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = NO_WAITERS;
    for (const w of waiters) w();
  }

  /** The connection ended: the current batch resolves false; returns the drain waiters, for the caller to let go. */
  protected endBatch(): Array<() => void> {
    this.batch?.resolve(false);
    this.batch = null;
    const waiters = this.drainWaiters;
    this.drainWaiters = NO_WAITERS;
    return waiters;
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
