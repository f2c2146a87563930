/**
 * The fragmented-send writer (`Connection.stream()`): one message sent as a sequence of frames (RFC 6455
 * §5.4) while other messages wait their turn, and the lock that gives the turns. A connection gets its lock
 * the first time it streams a message (most never do).
 */
import { Opcode } from "../wire/frame.ts";
import { encodeUtf8 } from "../wire/utf8.ts";
import { toBytes, type MessageWriter, type SendData } from "./message.ts";
import type { MessageType } from "./transport.ts";

/**
 * Whose turn it is to send data frames: a fragmented message holds the turn from its first frame to its last;
 * whole messages sent meanwhile wait in order behind it.
 */
export class SendLock {
  /** a fragmented message is being sent */
  private active = false;
  /** sends waiting for the turn, in order */
  private waiting: Array<() => void> = [];

  /** Data sent now would go between the frames of a fragmented message (or ahead of what waits): wait. */
  get busy(): boolean {
    return this.active || this.waiting.length > 0;
  }

  /** Runs `turn` when the sends ahead of it have gone (at once when none has). */
  wait(turn: () => void): void {
    this.waiting.push(turn);
  }

  /** Takes the turn for a fragmented message: at once when free, else behind the sends waiting. */
  acquire(): Promise<void> {
    if (!this.busy) {
      this.active = true;
      return Promise.resolve();
    }
    return new Promise((resolve) =>
      this.waiting.push(() => {
        this.active = true;
        resolve();
      }),
    );
  }

  /** The fragmented message has ended: the sends waiting go, up to the next fragmented message. */
  release(): void {
    this.active = false;
    while (!this.active && this.waiting.length > 0) this.waiting.shift()!();
  }

  /** The connection ended: every waiter, for the caller to let go (each finds the connection closed). */
  takeAll(): Array<() => void> {
    const waiting = this.waiting;
    this.waiting = [];
    return waiting;
  }
}

/** What the writer sends through: the transport. */
export interface MessageWriterHost {
  /** frames may still be sent */
  readonly writable: boolean;
  /** bytes queued for the peer and not yet sent */
  readonly bufferedAmount: number;
  /** Frames and queues one frame; resolves with the write batch it went out in. */
  sendDataFrame(opcode: Opcode, payload: Uint8Array, fin: boolean): Promise<boolean>;
  /** Resolves when the send buffer has drained. */
  drained(): Promise<void>;
}

/**
 * A writer for one fragmented message of `type`: other messages wait until it ends; control frames may go
 * between its frames; each `write` waits for the send buffer to drain below `highWaterMark`.
 */
export function messageWriter(host: MessageWriterHost, lock: SendLock, type: MessageType, highWaterMark: number): MessageWriter {
  let started = false;
  let ended = false;
  let turn: Promise<void> | null = null;
  const frame = async (chunk: SendData | undefined, fin: boolean): Promise<boolean> => {
    if (ended) throw new Error("this message has already ended");
    if (fin) ended = true;
    await (turn ??= lock.acquire());
    if (!host.writable) {
      if (fin) lock.release();
      return false;
    }
    const payload = chunk === undefined ? new Uint8Array(0) : typeof chunk === "string" ? encodeUtf8(chunk) : toBytes(chunk);
    const opcode = started ? Opcode.Continuation : type === "text" ? Opcode.Text : Opcode.Binary;
    started = true;
    const ok = await host.sendDataFrame(opcode, payload, fin);
    if (fin) lock.release();
    else if (host.bufferedAmount > highWaterMark) await host.drained();
    return ok;
  };
  return { write: (chunk) => frame(chunk, false), end: (chunk) => frame(chunk, true) };
}
