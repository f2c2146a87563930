/**
 * Pull reading (Perfect's readStringMessage/readBytesMessage) for `Connection`, whatever its transport: the
 * received messages no handler took, waiting for `read()` or `for await`, with read backpressure — the peer is paused while more than `highWaterMark` bytes lie unread, and resumed
 * once half of that is left. Each message counts its payload plus a fixed overhead (`QUEUED_MESSAGE_OVERHEAD`),
 * so empty messages are bounded too; a small binary message that views a large read buffer is copied out of it.
 */
import type { Message } from "./message.ts";
import { ReadTimeoutError } from "./errors.ts";
import { QUEUED_MESSAGE_OVERHEAD, QUEUED_VIEW_COPY_RATIO } from "../protocol/limits.ts";

type Timer = ReturnType<typeof setTimeout>;

/** Where reading from the peer can be paused (a ByteStream, a runtime's socket); without pause, never paused. */
export interface ReadFlow {
  pause?(): void;
  resume?(): void;
}

/**
 * Reading from the peer paused for any of several reasons (unread messages, a full send buffer): the
 * transport is paused when the first reason appears and resumed when the last one goes.
 */
export class ReadGate implements ReadFlow {
  /** bit 1: unread messages (the read queue's pause/resume); bit 2: the send buffer; bit 4: the inflate rate */
  private reasons = 0;
  private readonly flow: ReadFlow;

  constructor(flow: ReadFlow) {
    this.flow = flow;
  }

  static readonly UNREAD = 1;
  static readonly SEND_BUFFER = 2;
  /** the peer made us inflate more than `inflateRate` allows (protocol-transport) */
  static readonly INFLATE_RATE = 4;

  isHeld(reason: number): boolean {
    return (this.reasons & reason) !== 0;
  }

  hold(reason: number): void {
    const before = this.reasons;
    this.reasons |= reason;
    if (before === 0) this.flow.pause?.();
  }

  let(reason: number): void {
    if ((this.reasons & reason) === 0) return;
    this.reasons &= ~reason;
    if (this.reasons === 0) this.flow.resume?.();
  }

  pause(): void {
    this.hold(ReadGate.UNREAD);
  }

  resume(): void {
    this.let(ReadGate.UNREAD);
  }
}

export class ReadQueue {
  private queue: Message[] = [];
  /** unread size (`sizeOf`): UTF-16 code units of text, bytes of binary, plus the overhead of each message */
  private queuedBytes = 0;
  private readonly waiters: Array<(m: Message | null) => void> = [];
  private paused = false;
  private ended = false;
  /** something has taken messages from the queue (`read()`, a handler's replay) */
  private consumed = false;
  private readonly highWaterMark: number;
  private readonly flow: ReadFlow;
  /** called once, the first time reading pauses while nothing has ever taken a message from the queue */
  private unconsumed: (() => void) | undefined;
  /** told the unread size after each change (the server's budget of what connections hold) */
  private readonly report: ((bytes: number) => void) | undefined;

  constructor(highWaterMark: number, flow: ReadFlow, unconsumed?: () => void, report?: (bytes: number) => void) {
    this.highWaterMark = highWaterMark;
    this.flow = flow;
    this.unconsumed = unconsumed;
    this.report = report;
  }

  /** A message no handler took: to the oldest waiting `read()`, else queued. */
  push(message: Message): void {
    const waiter = this.waiters.shift();
    if (waiter === undefined) message = detached(message);
    this.queue.push(message);
    this.queuedBytes += sizeOf(message);
    this.report?.(this.queuedBytes);
    if (waiter) {
      waiter(this.take());
    } else if (this.queuedBytes > this.highWaterMark && !this.paused && this.flow.pause) {
      this.paused = true;
      this.flow.pause();
      if (!this.consumed && this.unconsumed !== undefined) {
        const report = this.unconsumed;
        this.unconsumed = undefined;
        report();
      }
    }
  }

  /** Bytes waiting, as the read high-water mark counts them (payloads plus the overhead of each message). */
  get bytes(): number {
    return this.queuedBytes;
  }

  private take(): Message | null {
    const m = this.queue.shift();
    if (m === undefined) return null;
    this.queuedBytes -= sizeOf(m);
    this.report?.(this.queuedBytes);
    this.resumeIfBelow();
    return m;
  }

  private resumeIfBelow(): void {
    if (this.paused && this.queuedBytes <= this.highWaterMark / 2) {
      this.paused = false;
      this.flow.resume?.();
    }
  }

  /** How many messages wait. */
  get size(): number {
    return this.queue.length;
  }

  /**
   * Hands each queued message that `takes` accepts (asked per message, in order, so a handler removed on the
   * way stops taking) to `deliver`, exactly once; the others stay queued, in their order, ahead of anything
   * that arrives meanwhile. Reads started meanwhile get what is left.
   */
  drain(takes: (message: Message) => boolean, deliver: (message: Message) => void): void {
    this.consumed = true;
    const pending = this.queue;
    this.queue = [];
    const kept: Message[] = [];
    for (const m of pending) {
      if (!takes(m)) {
        kept.push(m);
        continue;
      }
      this.queuedBytes -= sizeOf(m);
      deliver(m);
    }
    this.queue = kept.length === 0 ? this.queue : kept.concat(this.queue);
    while (this.waiters.length > 0 && this.queue.length > 0) this.waiters.shift()!(this.take());
    this.report?.(this.queuedBytes);
    this.resumeIfBelow();
  }

  /**
   * The next unread message. Resolves null once the connection has closed (`end`) and nothing is left;
   * rejects with ReadTimeoutError when `timeout` ms pass first.
   */
  read(options: { timeout?: number } = {}): Promise<Message | null> {
    this.consumed = true;
    const queued = this.take();
    if (queued !== null) return Promise.resolve(queued);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      let timer: Timer | null = null;
      const waiter = (m: Message | null) => {
        if (timer !== null) clearTimeout(timer);
        resolve(m);
      };
      this.waiters.push(waiter);
      if (options.timeout !== undefined) {
        timer = setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(new ReadTimeoutError(options.timeout!));
        }, options.timeout);
      }
    });
  }

  /** The unread messages, then the end. */
  async *messages(): AsyncGenerator<Message> {
    for (;;) {
      const m = await this.read();
      if (m === null) return;
      yield m;
    }
  }

  /** The connection has closed: waiting reads resolve null; what is queued can still be read. */
  end(): void {
    this.ended = true;
    for (const w of this.waiters.splice(0)) w(null);
  }
}

/** A message's size as the queue counts it: UTF-16 code units of text, bytes of binary, plus its overhead. */
function sizeOf(m: Message): number {
  return QUEUED_MESSAGE_OVERHEAD + (typeof m === "string" ? m.length : m.byteLength);
}

/**
 * The message as it may wait in the queue: a binary message that views a much larger buffer (the chunk a
 * socket read returned: parsing keeps a whole frame as a view) is copied, so it does not keep that buffer.
 */
function detached(m: Message): Message {
  if (typeof m === "string" || m.byteLength * QUEUED_VIEW_COPY_RATIO >= m.buffer.byteLength) return m;
  return Uint8Array.prototype.slice.call(m); // a copy, of the same class (Node's Buffer#slice would be a view)
}
