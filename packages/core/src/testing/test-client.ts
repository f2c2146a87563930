/**
 * The client side of an in-memory test connection: a real client-role Connection, with what a test needs on
 * top — every message kept in order (`messages`), the next one awaited with a timeout (`next`, `read`), and the
 * server side's Connection at hand (`serverConnection`) to look at what the service made of it.
 */
import type { CloseInfo } from "../protocol/protocol.ts";
import type { Connection, Message, SendData } from "../session/connection.ts";
import { ConnectionClosedError, ReadTimeoutError } from "../session/errors.ts";
import type { HeadersLike } from "../wire/http.ts";

/** What `next()` and `read()` take. */
export interface ReadOptions {
  /** milliseconds to wait for a message (default: the test server's `timeout`, 2000) */
  timeout?: number;
}

type Waiter = { settle(): void };

/**
 * A client connected to a service through `testServer().connect()` or `inject()`. Every message it receives is
 * kept in `messages`; `next()` and `read()` return them one at a time, in order, each once.
 *
 * @example
 * ```ts
 * import { expect } from "vitest";
 * import { defineService } from "@ws/core";
 * import { testServer } from "@ws/core/testing";
 *
 * const echo = defineService({ received: (message, conn) => void conn.send(message) });
 * const server = testServer({ services: { "/echo": echo } });
 * const client = await server.connect("/echo");
 * await client.send("hi");
 * expect(await client.next()).toBe("hi");
 * expect(await client.close(1000, "done")).toMatchObject({ code: 1000 });
 * await server.close();
 * ```
 */
export class TestClient<Data = unknown> {
  /** the client side's Connection (a real one, role "client") */
  readonly connection: Connection;
  /** the server side's Connection: the one the service's hooks get (its `data` is what the upgrade gate gave) */
  readonly serverConnection: Connection<Data>;
  /** every message received so far, in order: a string for text, a Uint8Array for binary */
  readonly messages: readonly Message[];
  private readonly received: Message[] = [];
  /** how many of `messages` next()/read() have returned */
  private taken = 0;
  private readonly waiters = new Set<Waiter>();
  private readonly timeout: number;
  private closeInfo: CloseInfo | null = null;

  /** @internal made by `testServer().connect()` */
  constructor(connection: Connection, serverConnection: Connection<Data>, timeout: number) {
    this.connection = connection;
    this.serverConnection = serverConnection;
    this.timeout = timeout;
    this.messages = this.received;
    connection.onMessage((message) => {
      this.received.push(message);
      this.wake();
    });
    void connection.closed.then((info) => {
      this.closeInfo = info;
      this.wake();
    });
  }

  /** The subprotocol the server selected (null: none). */
  get protocol(): string | null {
    return this.connection.protocol;
  }

  /** The server's 101 response: its status and headers (the upgrade gate's `headers` among them). */
  get response(): { status: 101; headers: HeadersLike } {
    return { status: 101, headers: this.connection.request.headers };
  }

  /** Resolves once, when the connection has closed: the close code and reason, and whether it was clean. */
  get closed(): Promise<CloseInfo> {
    return this.connection.closed;
  }

  /** Sends a text (string) or binary message; resolves once it is handed to the stream (false: it was not). */
  send(data: SendData): Promise<boolean> {
    return this.connection.send(data);
  }

  /**
   * The next message not yet returned by `next()` or `read()`. Rejects with a `ReadTimeoutError` when none
   * comes within the timeout, and with a `ConnectionClosedError` (with the close `code` and `reason`) when the
   * connection has closed and no message is left.
   */
  async next(options: ReadOptions = {}): Promise<Message> {
    const message = await this.read(options);
    if (message !== null) return message;
    const info = this.closeInfo!;
    throw new ConnectionClosedError(`the connection closed (${info.code}${info.reason ? ` ${info.reason}` : ""}) with no message left to read`, info);
  }

  /** The next message parsed as JSON (see `next()`). */
  async nextJson<T = unknown>(options: ReadOptions = {}): Promise<T> {
    const message = await this.next(options);
    return JSON.parse(typeof message === "string" ? message : new TextDecoder().decode(message)) as T;
  }

  /**
   * The next message not yet returned by `next()` or `read()`, or null once the connection has closed and none
   * is left. Rejects with a `ReadTimeoutError` when neither happens within the timeout.
   */
  read(options: ReadOptions = {}): Promise<Message | null> {
    const timeout = options.timeout ?? this.timeout;
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waiter: Waiter = {
        settle: () => {
          if (this.taken < this.received.length) resolve(this.received[this.taken++]);
          else if (this.closeInfo) resolve(null);
          else return;
          clearTimeout(timer);
          this.waiters.delete(waiter);
        },
      };
      this.waiters.add(waiter);
      waiter.settle();
      if (!this.waiters.has(waiter)) return;
      timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new ReadTimeoutError(timeout));
      }, timeout);
    });
  }

  /**
   * Starts the close handshake (RFC 6455 §7.1.2) with `code` (default 1000) and `reason`; resolves when the
   * connection has closed, with how it closed.
   */
  close(code?: number, reason?: string): Promise<CloseInfo> {
    return this.connection.close(code, reason);
  }

  /** Wakes the readers waiting, oldest first, while there is something for them. */
  private wake(): void {
    for (const waiter of [...this.waiters]) waiter.settle();
  }
}
