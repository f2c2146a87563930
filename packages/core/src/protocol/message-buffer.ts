/**
 * The bytes of a message being received, assembled in one growing buffer: a fragment costs its own bytes,
 * not an object per fragment nor a view that keeps the whole input chunk alive. The room is reserved in a
 * shared budget (a server's) before it is allocated. Masked payload bytes are unmasked on their way in
 * (one pass: `appendMasked`).
 */
import { allocateUint8Array, copyMasked, type Allocate } from "../wire/frame.ts";
import type { ReceiveBudget } from "./limits.ts";

const EMPTY: Uint8Array = new Uint8Array(0);
/** the smallest buffer allocated: many tiny fragments should not reallocate on every one */
const MIN_CAPACITY = 1024;

export class MessageBuffer {
  private buffer: Uint8Array | null = null;
  private length = 0;
  private readonly budget: ReceiveBudget | undefined;
  /** where buffers come from; a buffer from anything but the default may hold old bytes until written */
  private readonly allocate: Allocate;

  constructor(budget?: ReceiveBudget, allocate: Allocate = allocateUint8Array) {
    this.budget = budget;
    this.allocate = allocate;
  }

  /** Bytes assembled so far. */
  get size(): number {
    return this.length;
  }

  /** Bytes allocated (and reserved in the budget). */
  get capacity(): number {
    return this.buffer?.length ?? 0;
  }

  /**
   * Makes room for `extra` more bytes: the buffer at least doubles, up to `limit` (the largest message);
   * false, with nothing changed, when the budget cannot give the room.
   */
  reserve(extra: number, limit: number): boolean {
    const need = this.length + extra;
    const capacity = this.capacity;
    if (need <= capacity) return true;
    const grown = Math.max(need, Math.min(Math.max(capacity * 2, MIN_CAPACITY), limit));
    if (this.budget && !this.budget.reserve(grown - capacity)) return false;
    const next = this.allocate(grown);
    if (this.buffer !== null && this.length > 0) next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
    return true;
  }

  /** Appends bytes into room made by `reserve`. */
  append(bytes: Uint8Array): void {
    this.buffer!.set(bytes, this.length);
    this.length += bytes.length;
  }

  /**
   * Appends masked bytes, unmasked while they are copied (`maskPhase`: the first byte's position in the masking
   * sequence), into room made by `reserve`; returns the appended (unmasked) bytes, a view of the buffer.
   */
  appendMasked(bytes: Uint8Array, mask: Uint8Array, maskPhase: number): Uint8Array {
    const buffer = this.buffer!;
    const at = this.length;
    copyMasked(bytes, mask, buffer, at, maskPhase);
    this.length = at + bytes.length;
    return buffer.subarray(at, this.length);
  }

  /** The assembled message (the buffer now belongs to the caller); the buffer starts empty again. */
  take(): Uint8Array {
    const buffer = this.buffer;
    let out: Uint8Array = EMPTY;
    if (buffer !== null) {
      if (this.length === buffer.length) out = buffer;
      else {
        // the room past the message was never written: an allocator that does not clear its memory would
        // hand whatever it held to whoever reads the view's buffer
        if (this.allocate !== allocateUint8Array) buffer.fill(0, this.length);
        out = buffer.subarray(0, this.length);
      }
    }
    this.clear();
    return out;
  }

  /** Forgets what was assembled and gives its room back to the budget. */
  clear(): void {
    if (this.buffer !== null) this.budget?.release(this.buffer.length);
    this.buffer = null;
    this.length = 0;
  }
}
