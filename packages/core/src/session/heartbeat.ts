/**
 * The keepalive (`idleTimeout`) of many connections on one timer. Every connection in a `HeartbeatQueue`
 * has the same interval, so a connection appended when it is (re)scheduled is due no sooner than any before
 * it: the queue is a doubly linked list in order of due time, threaded through the connections themselves
 * (three fields each: no timer, closure or list node per connection), and one timer is set for its head.
 * Each connection is still due exactly one interval after it was scheduled, to the millisecond.
 */

/** A connection as a member of a heartbeat queue (the fields are the queue's; `heartbeatTick` is the member's). */
export interface HeartbeatMember {
  heartbeatNext: HeartbeatMember | null;
  heartbeatPrev: HeartbeatMember | null;
  /** ms (from EPOCH, so that it stays a small integer) at which the member is due; -1 while not queued */
  heartbeatDue: number;
  /** the interval is over: the member decides (ping, drop, or `add` itself again) */
  heartbeatTick(): void;
  /** unrefs a timer the way the member's runtime does it (the queue's timer must not keep a process alive) */
  heartbeatUnref(timer: unknown): void;
}

const EPOCH = Date.now();

type Timer = ReturnType<typeof setTimeout>;

export class HeartbeatQueue {
  readonly interval: number;
  private head: HeartbeatMember | null = null;
  private tail: HeartbeatMember | null = null;
  private timer: Timer | null = null;

  /** `interval`: ms between a member's (re)scheduling and its tick, > 0 */
  constructor(interval: number) {
    this.interval = interval;
  }

  /** Schedules `member` (not queued) to tick one interval from now. */
  add(member: HeartbeatMember): void {
    const wasEmpty = this.head === null;
    member.heartbeatDue = Date.now() - EPOCH + this.interval;
    member.heartbeatNext = null;
    member.heartbeatPrev = this.tail;
    if (this.tail) this.tail.heartbeatNext = member;
    else this.head = member;
    this.tail = member;
    // a non-empty queue has its timer set for its head, which is due before this member
    if (wasEmpty && this.timer === null) this.arm(this.interval, member);
  }

  /** Takes `member` out of the queue (nothing when it is not in it). */
  remove(member: HeartbeatMember): void {
    if (member.heartbeatDue < 0) return;
    const { heartbeatPrev: prev, heartbeatNext: next } = member;
    if (prev) prev.heartbeatNext = next;
    else this.head = next;
    if (next) next.heartbeatPrev = prev;
    else this.tail = prev;
    member.heartbeatNext = member.heartbeatPrev = null;
    member.heartbeatDue = -1;
    if (this.head === null && this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  /** Members queued (for tests and diagnostics: walks the list). */
  get size(): number {
    let n = 0;
    for (let m = this.head; m; m = m.heartbeatNext) n++;
    return n;
  }

  private arm(ms: number, unrefWith: HeartbeatMember): void {
    this.timer = setTimeout(() => this.fire(), ms);
    unrefWith.heartbeatUnref(this.timer);
  }

  /** Ticks every member that is due (a tick may re-add it: due one interval later, so behind the others). */
  private fire(): void {
    this.timer = null;
    const now = Date.now() - EPOCH;
    let m = this.head;
    while (m !== null && m.heartbeatDue <= now) {
      this.remove(m);
      m.heartbeatTick();
      m = this.head;
    }
    if (m !== null && this.timer === null) this.arm(Math.max(1, m.heartbeatDue - now), m);
  }
}
