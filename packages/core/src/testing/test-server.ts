/**
 * A server for tests, with no socket and no runtime: the real server core (routing, the upgrade decision with
 * the service's gate, limits, topics, graceful shutdown) answering clients over in-memory byte streams. Each
 * `connect()` writes a real opening handshake (RFC 6455 §4.1) into a stream pair; the server side reads the
 * request head, decides as every adapter does (`ServerCore.negotiate`) and writes the 101 or the refusal; the
 * client side reads it as `connect()` does on every runtime, and on a 101 both ends run a real `Connection`.
 */
import type { Connection, SendData } from "../session/connection.ts";
import { consoleLogger, type Logger } from "../session/errors.ts";
import { ServerCore, type ServerOptions } from "../server/server.ts";
import { checkServerOptions } from "../server/options.ts";
import type { Service } from "../server/service.ts";
import { connectOverStream, type ClientOptions } from "../client/handshake.ts";
import { buildRejectResponse, createUpgradeRequest } from "../wire/handshake.ts";
import { HttpHeadError, parseHttpHead } from "../wire/http.ts";
import { concatChunks } from "../wire/frame.ts";
import { encodeUtf8 } from "../wire/utf8.ts";
import { InvalidOptionError } from "../settings/resolve.ts";
import { memoryStreamPair, type MemoryByteStream } from "./memory-stream.ts";
import { TestClient } from "./test-client.ts";

/** What `testServer()` takes: a server's options (services, settings, logger, hooks, broker), and two of its own. */
export interface TestServerOptions extends ServerOptions {
  /** the origin relative URLs given to `connect()` resolve against: its Host header. Default "ws://localhost". */
  base?: string;
  /** milliseconds a client's `next()` and `read()` wait for a message unless told otherwise. Default 2000. */
  timeout?: number;
}

/** What `connect()` takes: the client's options (subprotocols, headers, origin, settings), and the peer's address. */
export interface TestConnectOptions extends ClientOptions {
  /** the address the server sees the request come from (`req.remoteAddress`). Default "127.0.0.1". */
  remoteAddress?: string;
}

const OWN_KEYS = ["base", "timeout"] as const;

function canParse(url: unknown): boolean {
  try {
    return typeof url === "string" && new URL(url).href !== "";
  } catch {
    return false;
  }
}
const DEFAULT_READ_TIMEOUT = 2000;

/**
 * A server under test (made by `testServer()`): connect clients to its services in memory, publish to its
 * topics, look at its connections, close it.
 *
 * @example
 * ```ts
 * import { expect } from "vitest";
 * import { defineService } from "@ws/core";
 * import { testServer } from "@ws/core/testing";
 *
 * const chat = defineService<{ user: string }>({
 *   upgrade: (req) => (req.cookies.get("session") ? { data: { user: req.cookies.get("session")! } } : { reject: 401 }),
 *   connected: (conn) => conn.subscribe(conn.request.query.get("room") ?? "lobby"),
 * });
 * const server = testServer({ services: { "/chat": chat } });
 * const ana = await server.connect("/chat?room=a", { headers: { cookie: "session=ana" }, protocols: ["chat"] });
 * server.publish("a", "hello room");
 * expect(await ana.next()).toBe("hello room");
 * await server.close();
 * ```
 */
export class TestServer {
  /** the server core answering the clients (the same one every adapter runs) */
  readonly core: ServerCore;
  private readonly base: string;
  private readonly timeout: number;
  private readonly logger: Logger;
  private readonly open = new Set<Connection<unknown>>();

  /** @internal made by `testServer()` */
  constructor(options: TestServerOptions) {
    checkServerOptions(options, "testServer(options)", { keys: OWN_KEYS });
    const { base = "ws://localhost", timeout = DEFAULT_READ_TIMEOUT, ...serverOptions } = options;
    if (!canParse(base)) throw new InvalidOptionError("base", base, 'an absolute URL, e.g. "ws://localhost"');
    if (!(typeof timeout === "number" && timeout > 0 && Number.isFinite(timeout))) throw new InvalidOptionError("timeout", timeout, "milliseconds, > 0");
    this.base = base;
    this.timeout = timeout;
    this.logger = options.logger ?? consoleLogger;
    this.core = new ServerCore(serverOptions);
  }

  /** The server side's open connections (what the services' hooks get), in the order they opened. */
  get connections(): ReadonlySet<Connection<unknown>> {
    return this.open;
  }

  /**
   * Connects a client to the service at `url` (a path, "/chat?room=a", or an absolute ws:// URL), running the
   * server's real upgrade decision on a request made of the URL and `options` (headers, cookies, subprotocols,
   * origin; `remoteAddress`). Resolves once the 101 has been read; rejects with a `HandshakeError` carrying the
   * refusal's `status`, `headers` and `body` when the server refuses (no service: 404; the gate: its status).
   */
  async connect<Data = unknown>(url: string | URL, options: TestConnectOptions = {}): Promise<TestClient<Data>> {
    const { remoteAddress = "127.0.0.1", ...clientOptions } = options;
    const target = new URL(url, this.base);
    const [clientEnd, serverEnd] = memoryStreamPair();
    const serverSide = this.answer(serverEnd, remoteAddress);
    const connection = await connectOverStream(clientEnd, target, { logger: this.logger, ...clientOptions });
    const serverConnection = await serverSide;
    if (serverConnection === null) {
      // unreachable: a 101 was read, so the server side opened its connection
      connection.drop();
      throw new Error("the server side did not open a connection");
    }
    return new TestClient(connection, serverConnection as Connection<Data>, this.timeout);
  }

  /**
   * The server side of one in-memory connection, as an adapter does it: reads the request head, lets the core
   * decide, writes the refusal or the 101 and opens the connection. Resolves with it, or null when refused.
   */
  private answer(stream: MemoryByteStream, remoteAddress: string): Promise<Connection<unknown> | null> {
    return new Promise((resolve) => {
      let received: Uint8Array = new Uint8Array(0);
      let deciding = false;
      let gone = false;
      const refuse = (response: Uint8Array) => {
        stream.write(response);
        stream.end();
        resolve(null);
      };
      stream.start({
        data: (chunk) => {
          received = concatChunks([received, chunk]);
          if (deciding) return;
          const head = parseHttpHead(received);
          if (head === null) return;
          deciding = true;
          if (head instanceof HttpHeadError) return refuse(encodeUtf8(buildRejectResponse(head.status, head.message)));
          const [method, path, version] = head.startLine;
          const request = createUpgradeRequest({ method, url: path, httpVersion: version.replace(/^HTTP\//, ""), headers: head.headers, remoteAddress });
          void this.core.negotiate(request).then((outcome) => {
            if (!outcome.ok) return refuse(outcome.response);
            if (gone) {
              outcome.release();
              return resolve(null);
            }
            const conn = outcome.accept(stream, received.subarray(head.length));
            this.open.add(conn);
            conn.onClose(() => void this.open.delete(conn));
            resolve(conn);
          });
        },
        drain: () => {},
        end: () => {},
        close: () => {
          gone = true;
          if (!deciding) resolve(null);
        },
      });
    });
  }

  /** Sends `message` to every subscriber of `topic` (and, with a broker, to other processes'). Returns how many here. */
  publish(topic: string, message: SendData): number {
    return this.core.publish(topic, message);
  }

  /** How many of this server's connections are subscribed to `topic`. */
  subscriberCount(topic: string): number {
    let n = 0;
    for (const conn of this.open) if (conn.isSubscribed(topic)) n++;
    return n;
  }

  /**
   * Graceful shutdown, as a real server's: refuses new upgrades (503), sends every connection a close frame
   * (1001 Going Away unless `code` says otherwise), waits for the handshakes (up to `timeout` ms, default 5000),
   * drops the rest and closes the broker.
   */
  close(options: { code?: number; reason?: string; timeout?: number } = {}): Promise<void> {
    return this.core.close(options);
  }
}

/**
 * A server for tests: the given services and options (the same as `serve()`'s, less the runtime's: no port),
 * answering clients in memory — no socket, no runtime. `connect()` runs the real upgrade decision (the service's
 * `upgrade` gate, subprotocols, limits) and opens a real `Connection` on each side; topics and `close()` work
 * as on a running server. Throws `InvalidOptionError` for an option that cannot work.
 *
 * @example
 * ```ts
 * import { expect } from "vitest";
 * import { defineService } from "@ws/core";
 * import { testServer } from "@ws/core/testing";
 *
 * const echo = defineService({ received: (message, conn) => void conn.send(message) });
 * const server = testServer({ services: { "/echo": echo }, maxMessageSize: 1024 });
 * const client = await server.connect("/echo");
 * await client.send("hi");
 * expect(await client.next()).toBe("hi");
 * await server.close();
 * ```
 */
export function testServer(options: TestServerOptions): TestServer {
  return new TestServer(options);
}

/**
 * One client connected to one service, in memory: the shortcut for `testServer()` with just that service (on any
 * path) and one `connect()`. `request` is the client's request (`url`, default "/"; headers, subprotocols, …);
 * `serverOptions` the server's. The server closes when the client's connection does (or at once when refused).
 * Resolves with the client, or rejects with the `HandshakeError` of the refusal.
 *
 * @example
 * ```ts
 * import { expect } from "vitest";
 * import { defineService } from "@ws/core";
 * import { inject } from "@ws/core/testing";
 *
 * const chat = defineService<{ user: string }>({
 *   upgrade: (req) => (req.cookies.get("session") ? { data: { user: req.cookies.get("session")! } } : { reject: 401 }),
 *   connected: (conn) => conn.subscribe(conn.request.query.get("room") ?? "lobby"),
 * });
 * const client = await inject(chat, { url: "/chat?room=a", headers: { cookie: "session=ana" } });
 * expect(client.serverConnection.data).toEqual({ user: "ana" });
 * await client.send("hi");
 * await client.close(1000);
 *
 * await expect(inject(chat, { url: "/chat" })).rejects.toMatchObject({ status: 401 });
 * ```
 */
export async function inject<Data>(
  service: Service<Data>,
  request: TestConnectOptions & { url?: string | URL } = {},
  serverOptions: Omit<TestServerOptions, "services" | "resolve"> = {},
): Promise<TestClient<Data>> {
  const server = testServer({ ...serverOptions, resolve: () => service as Service<unknown> });
  const { url = "/", ...options } = request;
  let client: TestClient<Data>;
  try {
    client = await server.connect<Data>(url, options);
  } catch (e) {
    await server.close();
    throw e;
  }
  void client.closed.then(() => server.close());
  return client;
}
