/**
 * The core engine over Bun's native sockets: a `Bun.listen` listener (TCP, or TLS) reads the head of each
 * connection's first request with core's `parseHttpHead`.
 *  - a WebSocket upgrade (`Upgrade: websocket`) is decided by the server core (route, validation, limits, the
 *    gate) and, once accepted, the socket becomes the connection's ByteStream (`BunSocketStream`): no `node:net`
 *    layer between Bun's socket and the protocol;
 *  - anything else is HTTP: the connection is tunnelled, bytes as they are, to an internal `Bun.serve` on a unix
 *    socket, so Bun parses and answers the HTTP (the `fetch` handler, keep-alive, bodies). No HTTP server here.
 * A connection is routed by its first request: an upgrade sent later on a keep-alive HTTP connection reaches the
 * internal server, which answers it 400 with `Connection: close` (browsers and WebSocket clients open a new
 * connection for each WebSocket; the README's "Limits" say so).
 */
import type { Server, Socket, TCPSocketListener } from "bun";
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createUpgradeRequest, DEFAULT_CLOSE_TIMEOUT, DEFAULT_HANDSHAKE_TIMEOUT, type EngineServeOptions, type ServerControls } from "@ws/core";
import { buildRejectResponse, ServerCore, serverControls } from "@ws/core/adapter";
import { concatChunks, parseHttpHead, parseHeaderList, WEBSOCKET_GUID, type HttpHead } from "@ws/core/protocol";
import { BunSocketStream } from "./byte-stream.ts";
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
  /** plain HTTP: tunnelled to the internal Bun.serve */
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
  tunnel: HttpTunnel | null = null;
  error: Error | undefined = undefined;
}

type ClientSocket = Socket<Arrival>;
const NO_CHUNKS: Uint8Array[] = [];

/**
 * A byte pipe from one Bun socket to another that keeps backpressure: what the destination did not take waits
 * here, and the source is paused until the destination drains, so at most what the source had already read
 * (one chunk, plus what Bun dispatches after pause) is held.
 */
class Pipe {
  private pending: Uint8Array[] = [];
  private readonly source: Socket<unknown>;
  private target: Socket<unknown> | null;
  /** called once everything waiting has been written (set when the source has gone away) */
  onIdle: (() => void) | null = null;
  constructor(source: Socket<unknown>, target: Socket<unknown> | null) {
    this.source = source;
    this.target = target;
  }

  connect(target: Socket<unknown>): void {
    this.target = target;
    this.flush();
  }

  push(bytes: Uint8Array): void {
    if (this.target === null || this.pending.length > 0) {
      this.pending.push(bytes);
      this.source.pause();
      return;
    }
    const written = this.target.write(bytes);
    if (written < 0) return;
    if (written < bytes.byteLength) {
      this.pending.push(bytes.subarray(written));
      this.source.pause();
    }
  }

  /** the target drained (or connected): write what waits, resume the source once it is all gone */
  flush(): void {
    const target = this.target;
    if (target === null) return;
    while (this.pending.length > 0) {
      const chunk = this.pending[0]!;
      const written = target.write(chunk);
      if (written < 0) return;
      if (written < chunk.byteLength) {
        this.pending[0] = chunk.subarray(written);
        return;
      }
      this.pending.shift();
    }
    this.source.resume();
    const onIdle = this.onIdle;
    this.onIdle = null;
    onIdle?.();
  }

  get idle(): boolean {
    return this.pending.length === 0;
  }
}

/** A plain-HTTP connection tunnelled to the internal server over a unix socket. */
class HttpTunnel {
  upstream: Socket<HttpTunnel> | null = null;
  /** client → internal server */
  readonly up: Pipe;
  /** internal server → client */
  down: Pipe | null = null;
  private clientEnded = false;
  private closed = false;

  readonly client: ClientSocket;
  constructor(client: ClientSocket) {
    this.client = client;
    this.up = new Pipe(client as Socket<unknown>, null);
  }

  opened(upstream: Socket<HttpTunnel>): void {
    if (this.closed) {
      upstream.terminate();
      return;
    }
    this.upstream = upstream;
    this.down = new Pipe(upstream as Socket<unknown>, this.client as Socket<unknown>);
    this.up.connect(upstream as Socket<unknown>);
    if (this.clientEnded && this.up.idle) upstream.shutdown();
  }

  clientEnd(): void {
    this.clientEnded = true;
    if (this.upstream && this.up.idle) this.upstream.shutdown();
  }

  upstreamEnd(): void {
    if (this.down?.idle !== false) this.client.shutdown();
  }

  /** the client went away: so does the internal server's side */
  clientClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.upstream?.end();
  }

  /**
   * Either side went away: the other goes too. What the internal server sent and the client has not taken yet
   * is still written first (the response's end, after a `Connection: close`), for up to `linger` ms.
   */
  close(linger: number): void {
    if (this.closed) return;
    this.closed = true;
    this.upstream?.end();
    const down = this.down;
    if (!down || down.idle) {
      this.client.end();
      return;
    }
    const timer = setTimeout(() => this.client.terminate(), linger);
    down.onIdle = () => {
      clearTimeout(timer);
      this.client.end();
    };
  }
}

/** The upgrade token of RFC 6455 §4.1 in an Upgrade header (case-insensitive, in a list). */
function asksForWebSocket(head: HttpHead): boolean {
  return parseHeaderList(head.headers.get("upgrade")).some((t) => t.toLowerCase() === "websocket");
}

export interface NativeServeOptions extends Omit<EngineServeOptions, "engine"> {}

/** What the core engine's starter returns to serveEngines. */
export interface NativeServer extends ServerControls {
  readonly port: number;
  readonly hostname: string;
}

/** Starts the core engine on Bun.listen (see the module comment). Resolves once it is listening. */
export async function serveNative(options: NativeServeOptions): Promise<NativeServer> {
  const core = new ServerCore({ deflateCodec: codec, acceptKey: bunAcceptKey, ...options, maxMessageSize: options.maxMessageSize ?? (options as { maxPayload?: number }).maxPayload });
  const logger = core.logger;
  const handshakeTimeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
  const scheme = options.tls ? "https" : "http";
  // what a closed tunnel still owes a slow client is written for up to this long
  const linger = options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT;

  // the HTTP side: Bun.serve on a unix socket of its own, reached only through the tunnel; without a fetch
  // handler there is none, and plain HTTP gets 426 right away
  // on Linux an abstract socket (a leading NUL: no file, nothing left behind by a killed process); elsewhere a
  // file in the temp directory, removed on close() and at exit
  const name = `ws-bun-${process.pid}-${randomBytes(6).toString("hex")}`;
  const abstract = process.platform === "linux";
  const unixPath = abstract ? `\0${name}` : join(tmpdir(), `${name}.sock`);
  const removeFile = () => {
    if (!abstract) rmSync(unixPath, { force: true });
  };
  const fetch = options.fetch;
  const internal: Server<undefined> | null = !fetch ? null : Bun.serve({
    unix: unixPath,
    async fetch(request) {
      if (asksForWebSocketRequest(request)) {
        return new Response("a WebSocket upgrade must be the first request on its connection\n", {
          status: 400,
          headers: { "Content-Type": "text/plain", Connection: "close" },
        });
      }
      // the tunnel is plain HTTP: the URL gets the scheme the client used
      if (scheme === "https") request = new Request(request.url.replace(/^http:/, "https:"), request);
      try {
        return await fetch(request);
      } catch (error) {
        logger.error({ err: error }, `HTTP handler failed: ${error instanceof Error ? error.message : String(error)}`);
        return new Response("Internal Server Error\n", { status: 500, headers: { "Content-Type": "text/plain" } });
      }
    },
    error(error) {
      logger.error({ err: error }, `HTTP handler failed: ${error.message}`);
      return new Response("Internal Server Error\n", { status: 500, headers: { "Content-Type": "text/plain" } });
    },
  });

  const refuse = (socket: ClientSocket, status: number, reason: string, headers?: Record<string, string>) => {
    const arrival = socket.data;
    arrival.phase = Phase.Done;
    clearTimeout(arrival.timer);
    socket.end(buildRejectResponse(status, reason, headers));
  };

  const openTunnel = (socket: ClientSocket, bytes: Uint8Array) => {
    const arrival = socket.data;
    if (!internal) {
      refuse(socket, 426, "This endpoint speaks WebSocket only", { Upgrade: "websocket" });
      return;
    }
    arrival.phase = Phase.Http;
    clearTimeout(arrival.timer);
    const tunnel = new HttpTunnel(socket);
    arrival.tunnel = tunnel;
    tunnel.up.push(bytes);
    Bun.connect<HttpTunnel>({
      unix: unixPath,
      data: tunnel,
      socket: {
        open: (upstream) => upstream.data.opened(upstream),
        data: (upstream, chunk) => upstream.data.down?.push(chunk),
        drain: (upstream) => upstream.data.up.flush(),
        end: (upstream) => upstream.data.upstreamEnd(),
        close: (upstream) => upstream.data.close(linger),
        error() {},
      },
    }).catch((error: unknown) => {
      logger.error({ err: error }, `HTTP tunnel failed: ${error instanceof Error ? error.message : String(error)}`);
      tunnel.close(linger);
    });
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
        httpVersion: head.startLine[2].replace(/^HTTP\//, ""),
        headers: head.headers,
        remoteAddress: socket.remoteAddress,
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
    void core.negotiate(request).then(
      (outcome) => {
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
        arrival.phase = Phase.WebSocket;
        // no setNoDelay: Bun sets TCP_NODELAY on every socket it accepts (strace of Bun 1.4.5's accept: accept4, then
        // setsockopt TCP_NODELAY 1), a second call was one more system call per handshake
        // a peer that vanished without a FIN is noticed by the OS
        socket.setKeepAlive(true, 60_000);
        outcome.accept(stream, rest);
        stream.startReading();
      },
      (error: unknown) => {
        clearTimeout(arrival.timer);
        logger.error({ err: error }, `upgrade failed: ${error instanceof Error ? error.message : String(error)}`);
        arrival.phase = Phase.Done;
        socket.terminate();
      },
    );
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
    if (asksForWebSocket(head)) {
      upgrade(socket, head, head.length < buffered.byteLength ? buffered.subarray(head.length) : undefined);
    } else {
      openTunnel(socket, buffered);
    }
  };

  let listener: TCPSocketListener<Arrival>;
  try {
    listener = listen();
  } catch (error) {
    await internal?.stop(true);
    removeFile();
    throw error;
  }
  function listen(): TCPSocketListener<Arrival> {
    return Bun.listen<Arrival>({
      hostname: options.hostname ?? "0.0.0.0",
      port: options.port ?? 0,
      tls: options.tls,
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
              arrival.tunnel!.up.push(bytes);
              return;
            default:
              return;
          }
        },
        drain(socket) {
          const arrival = socket.data;
          if (arrival.phase === Phase.WebSocket) arrival.stream!.handleDrain();
          else if (arrival.phase === Phase.Http) arrival.tunnel!.down?.flush();
        },
        end(socket) {
          const arrival = socket.data;
          if (arrival.phase === Phase.WebSocket || arrival.phase === Phase.Deciding) arrival.stream!.handleEnd();
          else if (arrival.phase === Phase.Http) arrival.tunnel!.clientEnd();
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
          else if (phase === Phase.Http) arrival.tunnel!.clientClosed();
        },
      },
    });
  }

  if (internal && !abstract) process.once("exit", removeFile);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    listener.stop(true);
    await internal?.stop(true);
    removeFile();
    process.off("exit", removeFile);
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

function asksForWebSocketRequest(request: Request): boolean {
  return parseHeaderList(request.headers.get("upgrade")).some((t) => t.toLowerCase() === "websocket");
}
