// Generated from table.ts by `pnpm --filter @ws/core settings`: edit the table, not this file.

/** The settings a server sets for all its services and a service may override for its own connections. */
export interface ConnectionSettings {
  /**
   * Largest message accepted (all fragments together, after inflation). Unit: bytes. `Infinity`: no limit.
   * When it is hit: close 1009. `ws`: `maxPayload`, 100 MiB; Bun: `maxPayloadLength`, 16 MiB.
   * @defaultValue `16_777_216` (16 MiB)
   */
  maxMessageSize?: number;
  /**
   * The same as `maxMessageSize` (another library's name for it).
   * @defaultValue the value of `maxMessageSize`
   */
  maxPayload?: number;
  /**
   * Largest single frame accepted. Unit: bytes. `Infinity`: no limit.
   * When it is hit: close 1009. `ws`: —; Bun: —.
   * @defaultValue the value of `maxMessageSize`
   */
  maxFrameSize?: number;
  /**
   * Most frames one message may be split into. Unit: count. `Infinity`: no limit.
   * When it is hit: close 1009. `ws`: —; Bun: —.
   * @defaultValue `4096`
   */
  maxFragments?: number;
  /**
   * Time to complete a message (in streaming mode: a frame) once its first byte has arrived. Unit: milliseconds. 0 turns it off.
   * When it is hit: close 1008. `ws`: —; Bun: —.
   * @defaultValue `60_000` (60 s)
   */
  messageTimeout?: number;
  /**
   * Inflated (permessage-deflate) bytes per second a peer may make a connection produce, one second's worth at once. Unit: bytes per second. `Infinity`: no limit. Honoured by: core engine (Bun's, Deno's and workerd's own engines inflate themselves).
   * When it is hit: reading from that peer pauses until the rate is back under it (nothing dropped; one log line per connection). `ws`: —; Bun: —.
   * @defaultValue `33_554_432` (32 MiB/s)
   */
  inflateRate?: number;
  /**
   * Bytes a connection's send buffer may hold; reading from the peer pauses above half of it (server). Unit: bytes. `Infinity`: no limit.
   * When it is hit: the `backpressure` policy. `ws`: — (grows without bound); Bun: `backpressureLimit`, 16 MiB.
   * @defaultValue `16_777_216` (16 MiB)
   */
  maxBufferedAmount?: number;
  /**
   * What a send beyond `maxBufferedAmount` does.
   * When it is hit: `"close"`: close 1008 (the close frame is still sent); `"reject"`: `send()` resolves `false`. `ws`: —; Bun: `closeOnBackpressureLimit`, false.
   * @defaultValue `"close"`
   */
  backpressure?: "close" | "reject";
  /**
   * Silence after which the connection pings (after half of it) and drops (after the other half without an answer). Unit: milliseconds. 0 turns it off.
   * When it is hit: close 1006 (one timer per server and interval, not one per connection); also how a client whose reading is paused learns that the server has gone (a paused socket reads neither the close frame nor the FIN). `ws`: — (user's heartbeat); Bun: `idleTimeout`, 120 s (in seconds).
   * @defaultValue `120_000` (120 s)
   */
  idleTimeout?: number;
  /**
   * @deprecated connectionTimeout: deprecated: it is in seconds; use idleTimeout, in milliseconds (connectionTimeout: 60 → idleTimeout: 60_000)
   * @defaultValue unset: `idleTimeout` applies
   */
  connectionTimeout?: number;
  /**
   * Time to wait for the peer's close frame once ours is sent. Unit: milliseconds.
   * When it is hit: the socket is dropped. `ws`: fixed 30 s; Bun: —.
   * @defaultValue `5000` (5 s)
   */
  closeTimeout?: number;
  /**
   * Keep the runtime's request (`conn.request.raw`) for the connection's life instead of releasing it once `connected` has returned.
   * When it is hit: — (the parsed `url`, `headers`, `query`, `cookies`, `params` stay). `ws`: `ws` does not keep it; Bun: —.
   * @defaultValue `false`
   */
  keepRawRequest?: boolean;
}

/** The settings of a whole server (`serve()`, `attach()`), besides the connection settings it gives its services. */
export interface ServerSettings extends ConnectionSettings {
  /**
   * Bytes of unfinished incoming messages that all connections of a server may hold together. Unit: bytes. `Infinity`: no limit.
   * When it is hit: close 1013 for the connection whose message does not fit. `ws`: —; Bun: —.
   * @defaultValue `268_435_456` (256 MiB)
   */
  maxPendingMessageBytes?: number;
  /**
   * Bytes all connections of a server together may hold for their peers: their send buffers and read queues (a broadcast counted once per receiver). Unit: bytes. `Infinity`: no limit. Honoured by: core engine (a runtime engine's send buffers are the runtime's).
   * When it is hit: the connection holding the most is dropped with 1008 (one log line each) until the total fits. `ws`: —; Bun: —.
   * @defaultValue `268_435_456` (256 MiB)
   */
  maxServerBufferedAmount?: number;
  /**
   * Connections a server holds, counted from the upgrade decision. Unit: count. `Infinity`: no limit.
   * When it is hit: HTTP 503. `ws`: —; Bun: —.
   * @defaultValue `10_000`
   */
  maxConnections?: number;
  /**
   * Plain-HTTP connections (the `fetch` handler's) a server holds at once; upgrades never count against it. Unit: count. `Infinity`: no limit. Honoured by: Bun's core engine (which parses HTTP itself).
   * When it is hit: the longest-idle keep-alive connection is closed for the new one; with none idle, 503 (`Retry-After: 1`, one log line per 10 s at most). `ws`: — (node:http: `maxConnections`, unset); Bun: —.
   * @defaultValue `1000`
   */
  maxHttpConnections?: number;
  /**
   * Streams open at once on one HTTP/2 session (SETTINGS_MAX_CONCURRENT_STREAMS): WebSockets over HTTP/2 (RFC 8441) and plain requests together; each WebSocket counts against `maxConnections` too. Unit: count. Honoured by: HTTP/2 (`serve({ http2: true })`, `attach()` to an http2 server).
   * When it is hit: a client waits for a stream to end before it opens another; a peer that opens more anyway is in error (RFC 9113 §5.1.2): node:http2 closes its session, the other sessions are served. `ws`: —; Bun: —.
   * @defaultValue `100`
   */
  maxConcurrentStreams?: number;
  /**
   * Time from the end of a response to the next complete request head on a keep-alive HTTP connection (the first head: `handshakeTimeout`); an HTTP/2 session's time without an open stream. Unit: milliseconds. Honoured by: Bun's core engine; the HTTP/2 sessions of `serve({ http2: true })`.
   * When it is hit: the connection is closed; a head begun and not finished: 408; an HTTP/2 session: GOAWAY, then closed. `ws`: — (node:http: `keepAliveTimeout` 5 s, `headersTimeout` 60 s); Bun: `idleTimeout`, 10 s.
   * @defaultValue `5000` (5 s)
   */
  httpIdleTimeout?: number;
  /**
   * Time for an upgrade to be decided (the service's `upgrade()` gate included); on a client, for the whole opening handshake. Unit: milliseconds.
   * When it is hit: server: HTTP 503, the slot is freed, the gate's late answer ignored; client: `HandshakeError`. `ws`: `handshakeTimeout` (client only); Bun: —.
   * @defaultValue `10_000` (10 s)
   */
  handshakeTimeout?: number;
  /**
   * What a published message does for a subscriber whose send buffer holds more than `maxPublishBufferedAmount`.
   * When it is hit: `"skip"`: left out, counted; `"close"`: close 1008. `ws`: —; Bun: —.
   * @defaultValue off (sent like any other message, so `maxBufferedAmount` applies)
   */
  publishBackpressure?: "skip" | "close";
  /**
   * The send-buffer limit for `publishBackpressure`. Unit: bytes. `Infinity`: no limit.
   * When it is hit: `publishBackpressure`. `ws`: —; Bun: —.
   * @defaultValue the server's `maxBufferedAmount` if set, else 1 MiB
   */
  maxPublishBufferedAmount?: number;
  /**
   * Permessage-deflate of published messages: compressed once per window size, or per subscriber with its own window. Honoured by: core engine.
   * When it is hit: —. `ws`: —; Bun: —.
   * @defaultValue `"shared"`
   */
  publishCompression?: "shared" | "per-connection";
  /**
   * Listen with SO_REUSEPORT: several processes serve one port and the kernel spreads the new connections over them (Linux); without it, a second server on the port fails with `ListenError` EADDRINUSE. Honoured by: `serve()` on Bun (both engines) and Deno (both engines; Deno's runtime engine needs `--unstable-net`), and on Node 22.12+ / 23.1+; refused on older Node (use `@ws/node/cluster`'s `runPrimary`).
   * When it is hit: — (topics across the processes: a `broker`, see the scaling guide). `ws`: — (node:net `listen({ reusePort })`, Node 22.12+); Bun: `reusePort`, false.
   * @defaultValue `false`
   */
  reusePort?: boolean;
}

/** The settings of a client connection (`connect()`, `WebSocket`): a connection's, without those only a server has. */
export interface ClientSettings extends Omit<ConnectionSettings, "keepRawRequest"> {
  /**
   * How long a client's HTTP/2 session (one per origin, shared by its WebSockets, RFC 8441) stays open after its last stream has ended (0: closed with it). Unit: milliseconds. 0 turns it off. Honoured by: the clients of Node, Bun and Deno with `http2`.
   * When it is hit: the session is closed (GOAWAY); the next WebSocket to the origin opens a new one. `ws`: —; Bun: —.
   * @defaultValue `5000` (5 s)
   */
  http2SessionIdleTimeout?: number;
  /**
   * Time for an upgrade to be decided (the service's `upgrade()` gate included); on a client, for the whole opening handshake. Unit: milliseconds.
   * When it is hit: server: HTTP 503, the slot is freed, the gate's late answer ignored; client: `HandshakeError`. `ws`: `handshakeTimeout` (client only); Bun: —.
   * @defaultValue `10_000` (10 s)
   */
  handshakeTimeout?: number;
}
