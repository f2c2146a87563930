// The few globals the core relies on. Every target runtime (Node >= 20, Bun, Deno, Cloudflare Workers, browsers)
// provides them; declaring them here instead of pulling in DOM or Node typings keeps the core honest about
// being runtime-agnostic: a use of anything else fails to type-check.
declare global {
  class TextEncoder {
    encode(input?: string): Uint8Array;
    encodeInto(src: string, dest: Uint8Array): { read: number; written: number };
  }
  class TextDecoder {
    constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
    decode(input?: Uint8Array, options?: { stream?: boolean }): string;
  }
  class URL {
    constructor(url: string | URL, base?: string | URL);
    href: string;
    protocol: string;
    host: string;
    hostname: string;
    port: string;
    pathname: string;
    search: string;
    hash: string;
    readonly origin: string;
  }
  /** DOM events, as far as the WHATWG WebSocket (client/) uses them */
  class Event {
    constructor(type: string, init?: { bubbles?: boolean; cancelable?: boolean; composed?: boolean });
    readonly type: string;
    readonly defaultPrevented: boolean;
    preventDefault(): void;
  }
  type EventListenerOrEventListenerObject = ((event: Event) => void) | { handleEvent(event: Event): void };
  class EventTarget {
    addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | { once?: boolean; capture?: boolean }): void;
    removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | { capture?: boolean }): void;
    dispatchEvent(event: Event): boolean;
  }
  class DOMException extends Error {
    constructor(message?: string, name?: string);
  }
  type BlobPart = Blob | ArrayBuffer | ArrayBufferView | string;
  class Blob {
    constructor(parts?: BlobPart[], options?: { type?: string });
    readonly size: number;
    readonly type: string;
    arrayBuffer(): Promise<ArrayBuffer>;
  }
  class URLSearchParams {
    constructor(init?: string);
    get(name: string): string | null;
    getAll(name: string): string[];
    has(name: string): boolean;
    keys(): IterableIterator<string>;
    entries(): IterableIterator<[string, string]>;
    forEach(callback: (value: string, name: string) => void): void;
    toString(): string;
    readonly size: number;
    [Symbol.iterator](): IterableIterator<[string, string]>;
  }
  /** the Fetch standard's Headers, as a HandshakeError carries a refusal's (client/handshake.ts) */
  class Headers {
    constructor(init?: Array<[string, string]> | Record<string, string>);
    append(name: string, value: string): void;
    get(name: string): string | null;
    has(name: string): boolean;
    forEach(callback: (value: string, name: string) => void): void;
  }
  /** how connect() tells an adapter's dial that it gave up (client/connect.ts) */
  class AbortSignal extends EventTarget {
    readonly aborted: boolean;
  }
  class AbortController {
    readonly signal: AbortSignal;
    abort(reason?: unknown): void;
  }
  /** the fetch API, as far as the pieces for fetch-style servers use it (serve.ts) */
  class Request {
    readonly method: string;
    readonly url: string;
    readonly headers: { get(name: string): string | null };
  }
  class Response {
    constructor(body?: string | null, init?: { status?: number; headers?: Record<string, string> });
    readonly status: number;
  }
  function setTimeout(handler: () => void, timeout?: number): unknown;
  function clearTimeout(id: unknown): void;
  function queueMicrotask(callback: () => void): void;
  function btoa(data: string): string;
  function atob(data: string): string;
  const crypto: { getRandomValues<T extends Uint8Array | Uint32Array>(array: T): T; randomUUID(): string };
  const console: {
    log(...args: unknown[]): void;
    warn(...args: unknown[]): void;
    error(...args: unknown[]): void;
    debug(...args: unknown[]): void;
  };
}
export {};
