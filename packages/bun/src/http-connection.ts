/**
 * Plain HTTP/1.1 on a `Bun.listen` socket (RFC 9112), in-process: each request head parsed with core's
 * `parseHttpHead`, a fetch-API `Request` built from it with its body streamed (read from the socket only as fast as
 * the handler reads it), the handler's `Response` written back (`Content-Length` when the handler set it, else the
 * chunked coding; `HEAD`, 204, 304 without a body) with the socket's backpressure. One descriptor per connection:
 * the socket itself. Requests on a connection are answered one at a time, in order (keep-alive and pipelining);
 * while a response is being written nothing more is read, so a pipelining client costs at most a read's worth.
 *
 * Bounds: between two requests a connection may wait `idleTimeout` ms for the next head to be complete (an idle
 * keep-alive connection is closed then; a head begun and not finished gets 408); the request body is read at most
 * `REQUEST_BODY_HIGH_WATER_MARK` bytes ahead of the handler.
 */
import type { Socket } from "bun";
import { STATUS_CODES } from "node:http";
import type { FetchInfo, Logger } from "@ws/core";
import { notAnUpgrade } from "@ws/core/adapter";
import { asksForWebSocket, concatChunks, parseHeaderList, parseHttpHead, type HttpHead } from "@ws/core/protocol";
import { BodyDecoder } from "./http-body.ts";

/** Bytes of request body read ahead of the handler before the socket stops being read (as on Node). */
export const REQUEST_BODY_HIGH_WATER_MARK = 64 * 1024;

export type FetchHandler = (request: Request, info: FetchInfo) => Response | Promise<Response>;

/** What the HTTP connections of one server share. */
export interface HttpServing {
  readonly fetch: FetchHandler;
  readonly scheme: "http" | "https";
  /** ms a keep-alive connection may take between the end of a response and the next complete request head */
  readonly idleTimeout: number;
  /** ms a closing connection may take to receive what is still queued for it before it is reset */
  readonly linger: number;
  readonly logger: Logger;
  /** the connection now waits for its next request (true) or is handling one (false) */
  idle(conn: HttpConnection, idle: boolean): void;
  /** the connection has closed, or (an idle one reaped) is closing at once: it no longer counts */
  gone(conn: HttpConnection): void;
}


const encoder = new TextEncoder();
const latin1 = (text: string) => Buffer.from(text, "latin1");
const CRLF = latin1("\r\n");
const LAST_CHUNK = latin1("0\r\n\r\n");
const CONTINUE = latin1("HTTP/1.1 100 Continue\r\n\r\n");
/** A body chunk as bytes (a direct stream may yield strings or ArrayBuffers). */
function bytesOf(value: unknown): Uint8Array {
  if (typeof value === "string") return encoder.encode(value);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError(`a response body chunk must be bytes, got ${typeof value}`);
}

type ReadResult = { done: true; value?: undefined } | { done: false; value: unknown };

/** What is used of a response body's reader. */
interface BodyReader {
  read(): Promise<ReadResult>;
  cancel(): Promise<void>;
  releaseLock(): void;
}

/** Resolves null after the current turn of the event loop (what is already settled settles first). */
const nextTurn = () => new Promise<null>((resolve) => setImmediate(() => resolve(null)));

/** Bytes of a response body without a Content-Length read ahead (what is there at once) to give it one. */
const COLLECT_LIMIT = 64 * 1024;

/** response header fields this module writes itself (framing and connection management) */
const OWN_FIELDS = new Set(["connection", "keep-alive", "transfer-encoding", "content-length"]);

/** The body of the request being read, as the handler's stream. */
class RequestBody {
  readonly decoder: BodyDecoder;
  /** the handler's stream; null: the body is read and dropped (GET / HEAD with a body, or the handler cancelled) */
  controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  readonly stream: ReadableStream<Uint8Array> | null;
  /** the handler asked for more (its queue is below the high-water mark) */
  wanted = false;
  /** an `Expect: 100-continue` not answered yet */
  expectContinue: boolean;

  constructor(length: number, streamed: boolean, expectContinue: boolean, onPull: () => void) {
    this.decoder = new BodyDecoder(length);
    this.expectContinue = expectContinue;
    this.stream = !streamed
      ? null
      : new ReadableStream<Uint8Array>(
          {
            start: (controller) => {
              this.controller = controller;
              if (this.decoder.done) controller.close();
            },
            pull: () => {
              this.wanted = true;
              onPull();
            },
            cancel: () => {
              this.controller = null;
              onPull();
            },
          },
          new ByteLengthQueuingStrategy({ highWaterMark: REQUEST_BODY_HIGH_WATER_MARK }),
        );
    if (!streamed) this.wanted = true;
  }

  /** reading from the socket goes on while the handler wants more, or while the rest is dropped */
  get reading(): boolean {
    return this.controller === null || this.wanted;
  }

  deliver(data: Uint8Array): void {
    const controller = this.controller;
    if (controller === null) return;
    // Bun hands each data callback a fresh buffer (test/fixtures/data-buffers.ts): the view needs no copy
    controller.enqueue(data);
    if ((controller.desiredSize ?? 0) <= 0) this.wanted = false;
  }

  end(): void {
    this.controller?.close();
    this.controller = null;
  }

  fail(error: Error): void {
    try {
      this.controller?.error(error);
    } catch {
      // already closed by the handler
    }
    this.controller = null;
  }
}

/** One plain-HTTP connection on a Bun socket, from its first request head on. */
export class HttpConnection {
  private readonly socket: Socket<unknown>;
  private readonly serving: HttpServing;
  /** bytes received and not yet parsed: the next request's head (or a pipelined request) */
  private buffered: Uint8Array[] = [];
  /** the current request's body while it is still arriving */
  private body: RequestBody | null = null;
  /** a response is being produced or written */
  private responding = false;
  /** the current request's `signal`, aborted if the connection goes before its response is out */
  private abort: AbortController | null = null;
  /** no more requests: the connection closes once its response is out */
  private closing = false;
  /** the FIN was sent (or the socket reset): what arrives is dropped */
  private finished = false;
  private peerEnded = false;
  private gone = false;
  private reading = true;
  private timer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** written by the socket yet not taken by the kernel */
  private pending: Uint8Array[] = [];
  /** called once `pending` is empty (or the socket gone) */
  private drainWaiters: (() => void)[] = [];
  /** resolves (null) when the socket has closed: a body read pending then is given up */
  private whenGone: Promise<null> | null = null;
  private resolveGone: ((value: null) => void) | null = null;
  /** the current response's head is written: a refusal can no longer be answered on this connection */
  private responseStarted = false;

  constructor(socket: Socket<unknown>, serving: HttpServing) {
    this.socket = socket;
    this.serving = serving;
  }

  /** Starts with the connection's first request: its head, and everything received so far (`bytes`). */
  start(head: HttpHead, bytes: Uint8Array): void {
    this.request(head, bytes.subarray(head.length));
  }

  /** Bytes from the socket. */
  data(bytes: Uint8Array): void {
    if (this.finished || this.gone) return;
    const body = this.body;
    if (body !== null) {
      let end: number;
      try {
        end = body.decoder.feed(bytes, (data) => body.deliver(data));
      } catch (error) {
        this.malformedBody(error as Error);
        return;
      }
      if (end < 0) {
        this.updateReading();
        return;
      }
      this.bodyDone();
      bytes = bytes.subarray(end);
      if (bytes.length === 0) return;
    }
    this.buffered.push(bytes);
    if (!this.responding) this.nextRequest();
    else this.updateReading();
  }

  /** The socket can take more. */
  drain(): void {
    while (this.pending.length > 0) {
      const chunk = this.pending[0]!;
      const written = this.socket.write(chunk);
      if (written < 0) return;
      if (written < chunk.byteLength) {
        this.pending[0] = chunk.subarray(written);
        return;
      }
      this.pending.shift();
    }
    this.drained();
  }

  private drained(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const waiter of waiters) waiter();
  }

  /** The peer sent its FIN: no more requests; the one in progress is still answered. */
  end(): void {
    this.peerEnded = true;
    if (this.finished) {
      this.socket.end();
      return;
    }
    this.body?.fail(new Error("the client closed the connection before the request body was complete"));
    if (this.body) this.body = null;
    if (!this.responding) this.close();
    else this.closing = true;
  }

  /** The socket closed. */
  closed(): void {
    if (this.gone) return;
    this.gone = true;
    clearTimeout(this.timer);
    this.body?.fail(new Error("the connection closed before the request body was complete"));
    this.body = null;
    this.abort?.abort();
    this.pending = [];
    this.drained();
    this.resolveGone?.(null);
    this.serving.gone(this);
  }

  /** Closes the connection now if it waits for a request (nothing in flight: no lingering); else once its response is out. */
  close(): void {
    if (this.responding) {
      this.closing = true;
      return;
    }
    this.reap();
  }

  /** An idle connection: closed at once (its last response has long been taken by the kernel). */
  private reap(): void {
    if (this.finished || this.gone) return;
    if (this.pending.length > 0) {
      this.finish();
      return;
    }
    this.finished = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.serving.gone(this);
    this.socket.end();
  }

  // ---- requests

  /** The head of the next request, from what was received. */
  private nextRequest(): void {
    if (this.closing || this.finished || this.gone) return;
    if (this.buffered.length === 0) {
      this.waitForRequest();
      return;
    }
    const bytes = this.buffered.length === 1 ? this.buffered[0]! : concatChunks(this.buffered);
    const head = parseHttpHead(bytes);
    if (head === null) {
      this.buffered = [bytes];
      this.waitForRequest();
      return;
    }
    this.buffered = [];
    if (head instanceof Error) {
      // (a head error may carry its own status, e.g. 431)
      this.answer((head as Error & { status?: number }).status ?? 400, head.message);
      return;
    }
    this.request(head, bytes.subarray(head.length));
  }

  /** Waits for the next request: the whole head within idleTimeout, else the connection is closed (408 if begun). */
  private waitForRequest(): void {
    if (this.peerEnded) {
      this.finish();
      return;
    }
    this.updateReading();
    if (this.timer !== undefined) return;
    this.serving.idle(this, true);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.responding || this.finished) return;
      if (this.buffered.length === 0) this.reap();
      else this.answer(408, "the request head was not complete in time");
    }, this.serving.idleTimeout);
  }

  private request(head: HttpHead, rest: Uint8Array): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.serving.idle(this, false);
    const [method, target, version] = head.startLine;
    const headers = head.headers;
    if (version !== "HTTP/1.1" && version !== "HTTP/1.0") {
      this.answer(505, "only HTTP/1.0 and HTTP/1.1 are served");
      return;
    }
    if (asksForWebSocket(head.headers)) {
      this.answer(400, "a WebSocket upgrade must be the first request on its connection");
      return;
    }
    // the body's framing (RFC 9112 §6.3): Transfer-Encoding chunked, else Content-Length, else none; both: refused
    const transferEncoding = headers.get("transfer-encoding");
    const contentLength = headers.get("content-length");
    let length = 0;
    if (transferEncoding !== null) {
      if (contentLength !== null) return this.answer(400, "both Transfer-Encoding and Content-Length");
      if (transferEncoding.trim().toLowerCase() !== "chunked") return this.answer(501, "only the chunked transfer coding is understood");
      length = -1;
    } else if (contentLength !== null) {
      const values = contentLength.split(",").map((v) => v.trim());
      if (!values.every((v) => /^\d{1,15}$/.test(v) && v === values[0])) return this.answer(400, "malformed Content-Length");
      length = Number(values[0]);
    }
    // the URL: origin-form against Host, or absolute-form (whose authority wins over Host, RFC 9112 §3.2.2)
    const host = headers.get("host");
    if (host === null && version === "HTTP/1.1") return this.answer(400, "no Host header");
    let url: string;
    if (target.startsWith("/")) url = `${this.serving.scheme}://${host ?? "localhost"}${target}`;
    else if (/^https?:\/\//i.test(target)) url = target.replace(/^https?:/i, `${this.serving.scheme}:`);
    else return this.answer(400, "malformed request target");
    const connection = parseHeaderList(headers.get("connection")).map((t) => t.toLowerCase());
    const keepAlive = version === "HTTP/1.1" ? !connection.includes("close") : connection.includes("keep-alive");
    if (!keepAlive) this.closing = true;
    const hasBody = length !== 0;
    const streamed = hasBody && method !== "GET" && method !== "HEAD";
    const expectContinue = hasBody && version === "HTTP/1.1" && (headers.get("expect") ?? "").toLowerCase() === "100-continue";
    const body = new RequestBody(length, streamed, expectContinue, () => this.pulled());
    let request: Request;
    const abort = new AbortController();
    try {
      const fetchHeaders = new Headers();
      headers.forEach((value, name) => fetchHeaders.append(name, value));
      const init: RequestInit & { duplex?: "half" } = { method, headers: fetchHeaders, signal: abort.signal };
      if (body.stream) {
        init.body = body.stream;
        init.duplex = "half";
      }
      request = new Request(url, init);
    } catch (error) {
      this.answer(400, `malformed request: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    this.abort = abort;
    this.responding = true;
    if (hasBody) {
      this.body = body;
      if (!streamed && expectContinue) this.write(CONTINUE);
      body.expectContinue = streamed && expectContinue;
    }
    if (rest.length > 0) this.data(rest);
    else this.updateReading();
    void this.respond(request, method, version === "HTTP/1.1");
  }

  /** The handler asked for more of the body (or cancelled it). */
  private pulled(): void {
    const body = this.body;
    if (body?.expectContinue) {
      body.expectContinue = false;
      this.write(CONTINUE);
    }
    this.updateReading();
  }

  private bodyDone(): void {
    this.body?.end();
    this.body = null;
  }

  private malformedBody(error: Error): void {
    this.body?.fail(error);
    this.body = null;
    this.closing = true;
    this.answer(400, error.message);
  }

  // ---- responses

  private async respond(request: Request, method: string, http11: boolean): Promise<void> {
    const socket = this.socket;
    let response: Response;
    try {
      response = await this.serving.fetch(request, { remoteAddress: socket.remoteAddress, remotePort: (socket as { remotePort?: number }).remotePort, upgrade: notAnUpgrade });
      if (!(response instanceof Response)) throw new TypeError(`the fetch handler returned ${String(response)}, not a Response`);
    } catch (error) {
      this.serving.logger.error({ err: error }, `HTTP handler failed: ${error instanceof Error ? error.message : String(error)}`);
      response = new Response("Internal Server Error\n", { status: 500, headers: { "Content-Type": "text/plain" } });
    }
    if (this.gone || this.finished) {
      await response.body?.cancel().catch(() => {});
      return;
    }
    // a body the handler has not read to its end by now: the connection closes after this response (what is left
    // of it is not read and dropped)
    if (this.body !== null) this.closing = true;
    const status = response.status;
    const noBody = method === "HEAD" || status === 204 || status === 304 || status < 200;
    let head = `HTTP/1.1 ${status} ${response.statusText || STATUS_CODES[status] || ""}\r\n`;
    response.headers.forEach((value, name) => {
      if (name !== "set-cookie" && !OWN_FIELDS.has(name)) head += `${name}: ${value}\r\n`;
    });
    for (const cookie of response.headers.getSetCookie()) head += `set-cookie: ${cookie}\r\n`;
    if (!response.headers.has("date")) head += `date: ${new Date().toUTCString()}\r\n`;
    if (parseHeaderList(response.headers.get("connection")).some((t) => t.toLowerCase() === "close")) this.closing = true;
    const declared = response.headers.get("content-length");
    let length = declared !== null && /^\d{1,15}$/.test(declared.trim()) ? Number(declared) : -1;
    if (noBody) {
      if (declared !== null && status !== 204) head += `content-length: ${declared.trim()}\r\n`;
      await response.body?.cancel().catch(() => {});
    }
    const reader: BodyReader | null = noBody || response.body === null ? null : (response.body.getReader() as unknown as BodyReader);
    /** the first chunk, written with the head; a read already begun; the body's end already seen */
    let first: Uint8Array | null = null;
    let next: Promise<ReadResult> | null = null;
    let ended = reader === null;
    try {
      if (reader !== null && length < 0) {
        // no Content-Length from the handler: a body that is all there at once (a string, a buffer) gets one; one
        // still being produced (a stream) is chunked. Decided within one turn of the event loop
        const parts: Uint8Array[] = [];
        let size = 0;
        let read: ReadResult | null = await this.readOrGone(reader.read());
        while (read !== null && !read.done) {
          const part = bytesOf(read.value);
          parts.push(part);
          size += part.byteLength;
          if (size >= COLLECT_LIMIT) break;
          const pending = reader.read();
          read = await Promise.race([pending, nextTurn()]);
          if (read === null) {
            next = pending;
            break;
          }
          if (this.gone) break;
        }
        if (read?.done) {
          length = size;
          ended = true;
        }
        first = parts.length === 1 ? parts[0]! : concatChunks(parts);
      }
    } catch (error) {
      await reader?.cancel().catch(() => {});
      this.bodyFailed(error);
      return;
    }
    if (this.gone || this.finished) {
      await reader?.cancel().catch(() => {});
      return;
    }
    // framing: no body; Content-Length (the handler's, the body's when it was all there, or 0); chunked; or
    // (HTTP/1.0) the end of the connection
    let chunked = false;
    if (!noBody) {
      if (reader === null) head += "content-length: 0\r\n";
      else if (length >= 0) head += `content-length: ${length}\r\n`;
      else if (http11 && !this.closing) {
        head += "transfer-encoding: chunked\r\n";
        chunked = true;
      } else this.closing = true;
    }
    if (this.closing) head += "connection: close\r\n";
    else if (!http11) head += "connection: keep-alive\r\n";
    this.responseStarted = true;
    const headBytes = latin1(`${head}\r\n`);
    if (reader === null) this.write(headBytes);
    else if (!(await this.writeBody(reader, headBytes, first, next, ended, chunked, length))) return;
    // the next request only once this response has left (a pipelining client that never reads holds nothing more)
    if (this.pending.length > 0) await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    if (this.gone || this.finished) return;
    this.abort = null;
    this.responding = false;
    this.responseStarted = false;
    if (this.closing) {
      this.finish();
      return;
    }
    this.nextRequest();
  }

  /**
   * Writes the head and copies the body to the socket, one chunk at a time, each once the previous one has left
   * (backpressure: a client that stops reading holds the handler's stream back). `first` (a chunk already read),
   * `next` (a read already begun) and `ended` come from deciding the framing. Returns false when the connection
   * went first.
   */
  private async writeBody(
    reader: BodyReader,
    head: Uint8Array,
    first: Uint8Array | null,
    next: Promise<ReadResult> | null,
    ended: boolean,
    chunked: boolean,
    length: number,
  ): Promise<boolean> {
    let left = length;
    let out: Uint8Array | null = head;
    try {
      let chunk = first;
      for (;;) {
        if (chunk !== null && chunk.byteLength > 0) {
          if (length >= 0) {
            // a body longer than its Content-Length: what fits is sent, then the connection closes
            if (chunk.byteLength > left) chunk = chunk.subarray(0, left);
            left -= chunk.byteLength;
          } else if (chunked) chunk = concatChunks([latin1(chunk.byteLength.toString(16)), CRLF, chunk, CRLF]);
          this.write(out === null ? chunk : concatChunks([out, chunk]));
          out = null;
          if (this.pending.length > 0) await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
        }
        if (this.gone || this.finished) {
          await reader.cancel().catch(() => {});
          return false;
        }
        if (ended || (length >= 0 && left === 0)) break;
        const result = await this.readOrGone(next ?? reader.read());
        next = null;
        if (result === null) {
          await reader.cancel().catch(() => {});
          return false;
        }
        if (result.done) {
          ended = true;
          chunk = null;
        } else chunk = bytesOf(result.value);
      }
      if (length >= 0 && left > 0) {
        // shorter than its Content-Length: the client must see the response as incomplete
        this.reset();
        return false;
      }
      if (!ended && !(await reader.read().then((r) => r.done, () => true))) {
        // longer than its Content-Length
        await reader.cancel().catch(() => {});
        this.closing = true;
      }
      const tail = chunked ? LAST_CHUNK : null;
      if (out !== null || tail !== null) this.write(out === null ? tail! : tail === null ? out : concatChunks([out, tail]));
      return true;
    } catch (error) {
      this.serving.logger.error({ err: error }, `HTTP response body failed: ${error instanceof Error ? error.message : String(error)}`);
      await reader.cancel().catch(() => {});
      this.reset();
      return false;
    } finally {
      try {
        reader.releaseLock();
      } catch {
        // a read still pending after cancel(): the lock goes with the stream
      }
    }
  }

  /**
   * A read of the response body, or null once the socket has closed: a stream that produces nothing more (an event
   * stream whose client went) is given up then.
   */
  private readOrGone(read: Promise<ReadResult>): Promise<ReadResult | null> {
    if (this.gone) return Promise.resolve(null);
    this.whenGone ??= new Promise<null>((resolve) => (this.resolveGone = resolve));
    return Promise.race([read, this.whenGone]);
  }

  /** The response body failed before anything was written: 500, and the connection closes. */
  private bodyFailed(error: unknown): void {
    this.serving.logger.error({ err: error }, `HTTP response body failed: ${error instanceof Error ? error.message : String(error)}`);
    this.answer(500, "Internal Server Error");
  }

  /** A response of this module's own (a refusal), then the connection closes. */
  private answer(status: number, reason: string): void {
    if (this.responseStarted) {
      this.reset();
      return;
    }
    this.closing = true;
    this.serving.idle(this, false);
    const text = `${reason.replace(/[^\x20-\x7e]/g, "?").slice(0, 200)}\n`;
    this.write(latin1(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\ncontent-type: text/plain\r\ncontent-length: ${text.length}\r\nconnection: close\r\n\r\n${text}`));
    this.finish();
  }

  private write(bytes: Uint8Array): void {
    if (this.gone || this.finished) return;
    if (this.pending.length > 0) {
      this.pending.push(bytes);
      return;
    }
    const written = this.socket.write(bytes);
    if (written < 0) return;
    if (written < bytes.byteLength) this.pending.push(bytes.subarray(written));
  }

  // ---- closing

  /**
   * The FIN once everything queued has left (for up to `linger` ms, then a reset), the peer's FIN awaited for as
   * long again; what arrives meanwhile is dropped. The connection counts against maxHttpConnections until it has
   * closed.
   */
  private finish(): void {
    if (this.finished || this.gone) return;
    this.finished = true;
    this.closing = true;
    clearTimeout(this.timer);
    this.serving.idle(this, false);
    this.body?.fail(new Error("the connection closed before the request body was complete"));
    this.body = null;
    this.timer = setTimeout(() => this.socket.terminate(), this.serving.linger);
    const shutdown = () => {
      if (this.gone) return;
      if (this.peerEnded) this.socket.end();
      else this.socket.shutdown();
    };
    if (this.pending.length === 0) shutdown();
    else this.drainWaiters.push(shutdown);
    this.updateReading();
  }

  private reset(): void {
    this.finished = true;
    this.socket.terminate();
  }

  private updateReading(): void {
    const want = !this.gone && (this.finished || (this.body !== null ? this.body.reading : !this.responding && !this.closing));
    if (want === this.reading) return;
    this.reading = want;
    if (want) this.socket.resume();
    else this.socket.pause();
  }
}
