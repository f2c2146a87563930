/**
 * The core engine over Bun's native sockets: a `Bun.listen` listener (TCP, or TLS) reads the head of each
 * connection's first request with core's `parseHttpHead`.
 *  - a WebSocket upgrade (`Upgrade: websocket`) is decided by the server core (route, validation, limits, the
 *    gate) and, once accepted, the socket becomes the connection's ByteStream (`BunSocketStream`): no `node:net`
 *    layer between Bun's socket and the protocol;
 *  - anything else is plain HTTP, answered on the same socket (http-connection.ts): the request head parsed, a
 *    fetch-API `Request` built with its body streamed, your `fetch` handler called in-process with the peer's
 *    address, its `Response` written back (keep-alive, chunked, backpressure). No internal server, no tunnel: one
 *    descriptor per connection. HTTP connections are bounded (`maxHttpConnections`) and reaped when idle
 *    (`httpIdleTimeout`), so idle keep-alive connections cannot starve upgrades.
 * A connection is routed by its first request: an upgrade sent later on a keep-alive HTTP connection is answered
 * 400 with `Connection: close` (browsers and WebSocket clients open a new connection for each WebSocket; the
 * README's "Limits" say so).
 */
import type { Socket, TCPSocketListener } from "bun";
import { lookup } from "node:dns/promises";
import { createUpgradeRequest, type EngineServeOptions, type ServerControls } from "@ws/core";
import { buildRejectResponse, CoreFetchUpgrade, listening, ServerCore, serverControls, type UpgradeOutcome } from "@ws/core/adapter";
import { refusalBytes } from "@ws/node-http";
import { asksForWebSocket, concatChunks, parseHttpHead, WEBSOCKET_GUID, type HttpHead } from "@ws/core/protocol";
import { BunSocketStream } from "./byte-stream.ts";
import { HttpConnection, type HttpServing } from "./http-connection.ts";
import { sharedContextCodec } from "./deflate-codec.ts";

const codec = sharedContextCodec();

/**
 * Sec-WebSocket-Accept with Bun's native SHA-1 (RFC 6455 §4.2.2): the core's portable JavaScript SHA-1 was 19 % of
 * the server's samples in the handshake scenario (0.55 against 3.2 µs per key, measured on Bun 1.4.5).
 */
export function bunAcceptKey(key: string): string {
  return Bun.SHA1.hash(key + WEBSOCKET_GUID, "base64");
}

/** What a connection is, by its first request. */
const Phase = {
  /** reading the first request head */
  Head: 0,
  /** an upgrade request at the server core (route, gate) */
  Deciding: 1,
  /** a WebSocket connection: the socket is its ByteStream */
  WebSocket: 2,
  /** plain HTTP: answered here, the fetch handler called in-process (HttpConnection) */
  Http: 3,
  /** answered (a refusal) or gone */
  Done: 4,
} as const;
type Phase = (typeof Phase)[keyof typeof Phase];

/** One accepted TCP (or TLS) connection, kept in `socket.data`. */
class Arrival {
  phase: Phase = Phase.Head;
  /** head bytes so far (Head phase) */
  chunks: Uint8Array[] = [];
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  stream: BunSocketStream | null = null;
  http: HttpConnection | null = null;
  error: Error | undefined = undefined;
}

type ClientSocket = Socket<Arrival>;
const NO_CHUNKS: Uint8Array[] = [];

/** The core engine's options: a server's (its settings include `maxHttpConnections` and `httpIdleTimeout`). */
export type NativeServeOptions = Omit<EngineServeOptions, "engine">;

/** What the core engine's starter returns to serveEngines. */
export interface NativeServer extends ServerControls {
  readonly port: number;
  readonly hostname: string;
}

/** Starts the core engine on Bun.listen (see the module comment). Resolves once it is listening. */
export async function serveNative(options: NativeServeOptions): Promise<NativeServer> {
  const core = new ServerCore(options, { deflateCodec: codec, acceptKey: bunAcceptKey });
  core.warnHooklessServices();
  const logger = core.logger;
  const settings = core.settings;
  const handshakeTimeout = settings.handshakeTimeout;
  const scheme = options.tls ? "https" : "http";
  // what a closing HTTP connection still owes a slow client is written for up to this long
  const linger = settings.closeTimeout;

  // plain HTTP: answered on the socket itself (HttpConnection), the fetch handler called in-process; without a
  // fetch handler, 426 at once
  const fetch = options.fetch;
  const maxHttpConnections = settings.maxHttpConnections;
  /** the HTTP connections that count against maxHttpConnections, and those of them waiting for a request, longest-idle first */
  const httpConnections = new Set<HttpConnection>();
  const idleHttp = new Set<HttpConnection>();
  let refusedHttp = 0;
  let refusalLogged = 0;
  const serving: HttpServing | null = !fetch ? null : {
    fetch,
    scheme,
    idleTimeout: settings.httpIdleTimeout,
    linger,
    logger,
    idle(conn, idle) {
      idleHttp.delete(conn);
      if (idle && httpConnections.has(conn)) idleHttp.add(conn);
    },
    gone(conn) {
      httpConnections.delete(conn);
      idleHttp.delete(conn);
    },
  };

  const refuse = (socket: ClientSocket, status: number, reason: string, headers?: Record<string, string>) => {
    const arrival = socket.data;
    arrival.phase = Phase.Done;
    clearTimeout(arrival.timer);
    socket.end(buildRejectResponse(status, reason, headers));
  };

  const serveHttp = (socket: ClientSocket, head: HttpHead, bytes: Uint8Array) => {
    const arrival = socket.data;
    if (!serving) {
      refuse(socket, 426, "This endpoint speaks WebSocket only", { Upgrade: "websocket" });
      return;
    }
    if (httpConnections.size >= maxHttpConnections) {
      // the longest-idle keep-alive connection makes room; with none idle, the new one is refused
      const idlest = idleHttp.values().next();
      if (!idlest.done) idlest.value.close();
      else {
        refusedHttp++;
        // one line per 10 s at most, however many are refused
        if (Date.now() - refusalLogged >= 10_000) {
          refusalLogged = Date.now();
          logger.warn({ maxHttpConnections, refused: refusedHttp }, `HTTP connection refused (503): maxHttpConnections (${maxHttpConnections}) reached, none idle; ${refusedHttp} refused so far`);
        }
        refuse(socket, 503, "too many HTTP connections", { "Retry-After": "1" });
        return;
      }
    }
    arrival.phase = Phase.Http;
    clearTimeout(arrival.timer);
    arrival.timer = undefined;
    const conn = new HttpConnection(socket as Socket<unknown>, serving);
    arrival.http = conn;
    httpConnections.add(conn);
    conn.start(head, bytes);
  };

  /**
   * The peer's address, the same string as the previous connection's when it is the same address (clients behind
   * one proxy, one NAT, or a load test): Bun makes a new string on each read, which an open connection would keep.
   */
  let lastAddress = "";
  const remoteAddressOf = (socket: ClientSocket): string => {
    const address = socket.remoteAddress;
    return address === lastAddress ? lastAddress : (lastAddress = address);
  };

  const upgrade = (socket: ClientSocket, head: HttpHead, rest: Uint8Array | undefined) => {
    const arrival = socket.data;
    arrival.phase = Phase.Deciding;
    // the head is in: from here the server core bounds the decision (a gate past handshakeTimeout gets 503 and
    // its connection slot back at once, which a drop by this timer would race)
    clearTimeout(arrival.timer);
    arrival.timer = undefined;
    // what the client sends while the gate decides waits in the stream, and the first such chunk stops reading
    // (BunSocketStream.holdUntilStarted): the rest waits in the kernel. Most clients send nothing before the 101,
    // so most upgrades pause and resume nothing (two epoll_ctl system calls saved per handshake)
    const stream = new BunSocketStream(socket as Socket<unknown>, options.closeTimeout);
    arrival.stream = stream;
    let request;
    try {
      request = createUpgradeRequest({
        method: head.startLine[0],
        url: head.startLine[1],
        // the literal for HTTP/1.1: one string for all connections, not one each
        httpVersion: head.startLine[2] === "HTTP/1.1" ? "1.1" : head.startLine[2].replace(/^HTTP\//, ""),
        headers: head.headers,
        remoteAddress: remoteAddressOf(socket),
        remotePort: (socket as { remotePort?: number }).remotePort,
      });
      // `raw` is the runtime's request, as on the runtime engine: a fetch-API Request, built on first use only
      let raw: Request | undefined;
      // configurable: the server releases it once `connected` has returned (keepRawRequest keeps it)
      Object.defineProperty(request, "raw", { get: () => (raw ??= requestOf(head, scheme)), enumerable: true, configurable: true });
    } catch {
      refuse(socket, 400, "malformed upgrade request");
      return;
    }
    const failed = (error: unknown) => {
      clearTimeout(arrival.timer);
      logger.error({ err: error }, `upgrade failed: ${error instanceof Error ? error.message : String(error)}`);
      arrival.phase = Phase.Done;
      socket.terminate();
    };
    const route = core.route(request);
    // registered services first; the fetch handler takes the upgrades none of them claims
    if (route === null && fetch) {
      void viaFetch(socket, head, rest, stream).catch(failed);
      return;
    }
    void core.negotiate(request, route).then((outcome) => {
      clearTimeout(arrival.timer);
      if (arrival.phase !== Phase.Deciding) {
        if (outcome.ok) outcome.release(); // the client went away (or timed out) while the upgrade was decided
        return;
      }
      if (!outcome.ok) {
        arrival.phase = Phase.Done;
        socket.end(outcome.response);
        return;
      }
      opened(socket, outcome, stream, rest);
    }, failed);
  };

  /** An accepted upgrade: the 101 written, the socket the connection's ByteStream from here. */
  const opened = (socket: ClientSocket, outcome: Extract<UpgradeOutcome, { ok: true }>, stream: BunSocketStream, rest: Uint8Array | undefined) => {
    socket.data.phase = Phase.WebSocket;
    // no setNoDelay: Bun sets TCP_NODELAY on every socket it accepts (strace of Bun 1.4.5's accept: accept4, then
    // setsockopt TCP_NODELAY 1), a second call was one more system call per handshake
    const conn = outcome.accept(stream, rest);
    // without a heartbeat (idleTimeout 0), TCP keepalive: a peer that vanished without a FIN is noticed by the OS.
    // With one, the heartbeat notices it sooner, and the setsockopt calls are saved
    if (!conn.settings.idleTimeout) socket.setKeepAlive(true, 60_000);
    stream.startReading();
  };

  /**
   * An upgrade no registered service claims, handed to the fetch handler in-process as a Request: its
   * `info.upgrade` decides it through the server core; what the handler returns is the 101 (`upgrade()`'s Response)
   * or the refusal, written with its status, headers and (bounded) body. Handler and gate within handshakeTimeout.
   */
  const viaFetch = async (socket: ClientSocket, head: HttpHead, rest: Uint8Array | undefined, stream: BunSocketStream) => {
    const arrival = socket.data;
    const started = Date.now();
    let call: CoreFetchUpgrade | undefined;
    arrival.timer = setTimeout(() => {
      if (arrival.phase !== Phase.Deciding) return;
      // a handler that never returns: the socket goes, and an upgrade it was given frees its connection slot
      call?.abandon();
      arrival.phase = Phase.Done;
      socket.terminate();
    }, handshakeTimeout);
    const peer = { remoteAddress: socket.remoteAddress, remotePort: (socket as { remotePort?: number }).remotePort };
    let response: Response;
    try {
      const request = requestOf(head, scheme);
      call = new CoreFetchUpgrade(core, request, peer.remoteAddress, peer.remotePort);
      response = await fetch!(request, { ...peer, upgrade: call.upgrade });
      if (!(response instanceof Response)) throw new TypeError(`the fetch handler returned ${String(response)}, not a Response`);
    } catch (error) {
      call?.abandon();
      logger.error({ err: error }, `fetch handler failed on an upgrade request: ${error instanceof Error ? error.message : String(error)}`);
      if (arrival.phase === Phase.Deciding) refuse(socket, 500, "Internal Server Error");
      return;
    }
    const answer = call.settle(response);
    if (arrival.phase !== Phase.Deciding) {
      if (!(answer instanceof Response)) answer.release(); // the client went away (or timed out) meanwhile
      return;
    }
    if (!(answer instanceof Response)) {
      clearTimeout(arrival.timer);
      opened(socket, answer, stream, rest);
      return;
    }
    const bytes = await refusalBytes(answer, Math.max(0, handshakeTimeout - (Date.now() - started)));
    if (arrival.phase !== Phase.Deciding) return;
    clearTimeout(arrival.timer);
    arrival.phase = Phase.Done;
    socket.end(bytes);
  };

  const readHead = (socket: ClientSocket, bytes: Uint8Array) => {
    const arrival = socket.data;
    arrival.chunks.push(bytes);
    const buffered = arrival.chunks.length === 1 ? bytes : concatChunks(arrival.chunks);
    if (arrival.chunks.length > 1) arrival.chunks = [buffered];
    const head = parseHttpHead(buffered);
    if (head === null) return;
    arrival.chunks = NO_CHUNKS;
    if (head instanceof Error) {
      refuse(socket, head.status, head.message);
      return;
    }
    if (asksForWebSocket(head.headers)) {
      upgrade(socket, head, head.length < buffered.byteLength ? buffered.subarray(head.length) : undefined);
    } else {
      serveHttp(socket, head, buffered);
    }
  };

  const listener = await listening({ hostname: options.hostname, port: options.port, tls: options.tls }, listen, lookup);
  function listen(): TCPSocketListener<Arrival> {
    return Bun.listen<Arrival>({
      hostname: options.hostname ?? "0.0.0.0",
      port: options.port ?? 0,
      tls: options.tls,
      ...({ reusePort: settings.reusePort } as object), // SO_REUSEPORT: Bun.listen honours it (Bun 1.4), its types do not list it
      socket: {
        binaryType: "uint8array",
        open(socket) {
          const arrival = new Arrival();
          socket.data = arrival;
          // the first request head within handshakeTimeout
          arrival.timer = setTimeout(() => {
            if (arrival.phase === Phase.Head) {
              arrival.phase = Phase.Done;
              socket.terminate();
            }
          }, handshakeTimeout);
        },
        data(socket, bytes) {
          const arrival = socket.data;
          switch (arrival.phase) {
            case Phase.WebSocket:
              arrival.stream!.handleData(bytes);
              return;
            case Phase.Deciding:
              arrival.stream!.handleData(bytes);
              arrival.stream!.holdUntilStarted();
              return;
            case Phase.Head:
              readHead(socket, bytes);
              return;
            case Phase.Http:
              arrival.http!.data(bytes);
              return;
            default:
              return;
          }
        },
        drain(socket) {
          const arrival = socket.data;
          if (arrival.phase === Phase.WebSocket) arrival.stream!.handleDrain();
          else if (arrival.phase === Phase.Http) arrival.http!.drain();
        },
        end(socket) {
          const arrival = socket.data;
          if (arrival.phase === Phase.WebSocket || arrival.phase === Phase.Deciding) arrival.stream!.handleEnd();
          else if (arrival.phase === Phase.Http) arrival.http!.end();
          else if (arrival.phase === Phase.Head) socket.end();
        },
        error(socket, error) {
          if (socket.data) socket.data.error = error;
        },
        close(socket, error) {
          const arrival = socket.data;
          if (!arrival) return;
          clearTimeout(arrival.timer);
          const phase = arrival.phase;
          arrival.phase = Phase.Done;
          if (phase === Phase.WebSocket) arrival.stream!.handleClose(error ?? arrival.error);
          else if (phase === Phase.Http) arrival.http!.closed();
        },
      },
    });
  }

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    listener.stop(true);
  };

  return Object.assign(serverControls(core), {
    port: listener.port,
    hostname: options.hostname ?? "localhost",
    async close(closeOptions?: Parameters<ServerControls["close"]>[0]) {
      await core.close(closeOptions);
      await stop();
    },
  });
}

/** The fetch-API Request of a parsed request head (no body: an upgrade request has none). */
function requestOf(head: HttpHead, scheme: string): Request {
  const headers = new Headers();
  head.headers.forEach((value, name) => headers.append(name, value));
  const target = head.startLine[1];
  const url = /^[a-z][a-z\d+.-]*:\/\//i.test(target) ? target : `${scheme}://${head.headers.get("host") ?? "localhost"}${target}`;
  return new Request(url, { method: head.startLine[0], headers });
}
