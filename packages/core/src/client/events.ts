/**
 * The events of the WHATWG WebSocket (WebSockets Standard, "The CloseEvent interface"; HTML, "The MessageEvent
 * interface"), and the event handler IDL attributes (`onopen`, …) of HTML §8.1.8.1 "Event handlers".
 *
 * `CloseEvent` and `MessageEvent` are the runtime's own where it has them (Bun, Deno, browsers, Node ≥ 23 for
 * CloseEvent), so `instanceof` works against the globals; the classes here stand in where a global is missing
 * (CloseEvent on Node 20 and 22).
 */

/** The Event constructor's dictionary (DOM's EventInit, which not every runtime's typings name). */
export interface BaseEventInit {
  bubbles?: boolean;
  cancelable?: boolean;
  composed?: boolean;
}

export interface CloseEventInit extends BaseEventInit {
  wasClean?: boolean;
  code?: number;
  reason?: string;
}

/**
 * CloseEvent for runtimes without a global one: `wasClean`, `code`, `reason` (read-only, as the IDL says).
 *
 * @example
 * ```ts
 * import { CloseEvent } from "@ws/core"; // the runtime's CloseEvent where it has one, else CloseEventShim
 *
 * const event = new CloseEvent("close", { code: 1000, reason: "bye", wasClean: true });
 * console.log(event.code, event.reason, event.wasClean); // 1000 "bye" true
 * ```
 */
export class CloseEventShim extends Event {
  readonly #wasClean: boolean;
  readonly #code: number;
  readonly #reason: string;
  constructor(type: string, init: CloseEventInit = {}) {
    super(type, init);
    this.#wasClean = Boolean(init.wasClean);
    this.#code = Number(init.code ?? 0) & 0xffff;
    this.#reason = String(init.reason ?? "");
  }
  get wasClean(): boolean {
    return this.#wasClean;
  }
  get code(): number {
    return this.#code;
  }
  get reason(): string {
    return this.#reason;
  }
}

export interface MessageEventInit<T = unknown> extends BaseEventInit {
  data?: T;
  origin?: string;
  lastEventId?: string;
}

/**
 * MessageEvent for runtimes without a global one: `data`, `origin`, `lastEventId` (no source, no ports).
 *
 * @example
 * ```ts
 * import { MessageEvent } from "@ws/core"; // the runtime's MessageEvent where it has one, else MessageEventShim
 *
 * const target = new EventTarget();
 * target.addEventListener("message", (event) => console.log((event as MessageEvent<string>).data)); // "hello"
 * target.dispatchEvent(new MessageEvent("message", { data: "hello" }));
 * ```
 */
export class MessageEventShim<T = unknown> extends Event {
  readonly #data: T;
  readonly #origin: string;
  readonly #lastEventId: string;
  constructor(type: string, init: MessageEventInit<T> = {}) {
    super(type, init);
    this.#data = init.data as T;
    this.#origin = String(init.origin ?? "");
    this.#lastEventId = String(init.lastEventId ?? "");
  }
  get data(): T {
    return this.#data;
  }
  get origin(): string {
    return this.#origin;
  }
  get lastEventId(): string {
    return this.#lastEventId;
  }
}

// the runtime's classes behave as these (the same attributes); typed as the shims so one type serves all
const runtime = globalThis as unknown as { CloseEvent?: typeof CloseEventShim; MessageEvent?: typeof MessageEventShim };

/** The runtime's CloseEvent, else `CloseEventShim`. */
export const CloseEvent: typeof CloseEventShim = runtime.CloseEvent ?? CloseEventShim;
export type CloseEvent = CloseEventShim;
/** The runtime's MessageEvent, else `MessageEventShim`. */
export const MessageEvent: typeof MessageEventShim = runtime.MessageEvent ?? MessageEventShim;
export type MessageEvent<T = unknown> = MessageEventShim<T>;

/** An event handler: called with the target as `this`; returning `false` cancels the event (HTML §8.1.8.1). */
export type EventHandler<Target, E extends Event = Event> = ((this: Target, event: E) => unknown) | null;

type Slot = { value: unknown; listener: ((event: Event) => void) | null };

/**
 * The event handlers of one target (HTML §8.1.8.1): setting a handler the first time adds one event listener,
 * so it runs in the order it was first set among the target's listeners; setting another keeps that place;
 * setting null removes the listener (a later handler goes to the end). A value that is not an object is null.
 */
export class EventHandlers {
  readonly #target: EventTarget;
  readonly #slots = new Map<string, Slot>();

  constructor(target: EventTarget) {
    this.#target = target;
  }

  get(type: string): unknown {
    return this.#slots.get(type)?.value ?? null;
  }

  set(type: string, value: unknown): void {
    const handler = typeof value === "function" || (typeof value === "object" && value !== null) ? value : null;
    let slot = this.#slots.get(type);
    if (handler === null) {
      if (slot?.listener) this.#target.removeEventListener(type, slot.listener);
      this.#slots.delete(type);
      return;
    }
    if (!slot) this.#slots.set(type, (slot = { value: handler, listener: null }));
    slot.value = handler;
    if (slot.listener) return;
    const current = slot;
    slot.listener = (event: Event) => {
      if (typeof current.value !== "function") return; // a non-callable object: nothing to run
      const result: unknown = current.value.call(this.#target, event);
      if (result === false) event.preventDefault();
    };
    this.#target.addEventListener(type, slot.listener);
  }
}
