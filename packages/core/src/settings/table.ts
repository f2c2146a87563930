/**
 * Every setting of a server, a service or a client, once: its unit, default, bounds, where it may be set, what
 * it does, and its `ws` and Bun equivalents. Validation, defaults, the service-over-server merge (resolve.ts),
 * the options types' documentation and the README's "Limits and defaults" table (render.ts) all derive from
 * this table: adding a setting means adding a row here and the code that acts on it, nothing else.
 */

/** What a setting's number means; every duration is in milliseconds. */
export type SettingUnit = "bytes" | "count" | "ms" | "bytes/s" | "choice" | "flag";

/** Where a setting may be given: `serve()`/`attach()` options, a service object, `connect()` options. */
export type SettingScope = "server" | "service" | "client";

export interface SettingRow {
  readonly unit: SettingUnit;
  /** the server's default (and the client's, unless `clientDefault` says otherwise); `undefined`: off / derived */
  readonly default: number | string | boolean | undefined;
  /** the client's default, when it differs from the server's */
  readonly clientDefault?: number | string | boolean | undefined;
  /** the default as the documentation says it, when it is derived from another setting */
  readonly defaultText?: string;
  /** where it may be set */
  readonly scopes: readonly SettingScope[];
  /** the values allowed, for a "choice" */
  readonly choices?: readonly string[];
  /** sizes and counts: whether `Infinity` (no limit) is allowed. Default true. */
  readonly unlimited?: boolean;
  /** durations: 0 turns it off */
  readonly zeroTurnsOff?: boolean;
  /**
   * durations: the smallest value that makes sense in milliseconds; a positive value below it is refused as
   * most likely given in seconds
   */
  readonly plausibleMin?: number;
  /** which engines honour it, when not all */
  readonly engines?: string;
  /** other names accepted for it (another library's), reported under the name the user wrote */
  readonly aliases?: readonly string[];
  /** what it bounds or chooses, one line */
  readonly description: string;
  /** what happens when the bound is hit */
  readonly whenHit: string;
  /** the `ws` equivalent (name, default), or "—" */
  readonly ws: string;
  /** the `Bun.serve` equivalent (name, default), or "—" */
  readonly bun: string;
}

const KiB = 1024;
const MiB = 1024 * KiB;

/** The largest delay a JavaScript timer accepts (2^31 − 1 ms, about 24.8 days); a longer one fires at once. */
export const MAX_TIMER_DELAY = 2_147_483_647;

/**
 * The settings table. Rows are in the order of the README's table. The connection settings (scope "service")
 * are those a service may override for its own connections.
 */
export const SETTINGS = {
  maxMessageSize: {
    unit: "bytes",
    default: 16 * MiB,
    scopes: ["server", "service", "client"],
    aliases: ["maxPayload"],
    description: "largest message accepted (all fragments together, after inflation)",
    whenHit: "close 1009",
    ws: "`maxPayload`, 100 MiB",
    bun: "`maxPayloadLength`, 16 MiB",
  },
  maxFrameSize: {
    unit: "bytes",
    default: undefined,
    defaultText: "`maxMessageSize`",
    scopes: ["server", "service", "client"],
    description: "largest single frame accepted",
    whenHit: "close 1009",
    ws: "—",
    bun: "—",
  },
  maxFragments: {
    unit: "count",
    default: 4096,
    scopes: ["server", "service", "client"],
    description: "most frames one message may be split into",
    whenHit: "close 1009",
    ws: "—",
    bun: "—",
  },
  maxPendingMessageBytes: {
    unit: "bytes",
    default: 256 * MiB,
    scopes: ["server"],
    description: "bytes of unfinished incoming messages that all connections of a server may hold together",
    whenHit: "close 1013 for the connection whose message does not fit",
    ws: "—",
    bun: "—",
  },
  maxServerBufferedAmount: {
    unit: "bytes",
    default: 256 * MiB,
    scopes: ["server"],
    engines: "core engine (a runtime engine's send buffers are the runtime's)",
    description: "bytes all connections of a server together may hold for their peers: their send buffers and read queues (a broadcast counted once per receiver)",
    whenHit: "the connection holding the most is dropped with 1008 (one log line each) until the total fits",
    ws: "—",
    bun: "—",
  },
  messageTimeout: {
    unit: "ms",
    default: 60_000,
    scopes: ["server", "service", "client"],
    zeroTurnsOff: true,
    plausibleMin: 100,
    description: "time to complete a message (in streaming mode: a frame) once its first byte has arrived",
    whenHit: "close 1008",
    ws: "—",
    bun: "—",
  },
  inflateRate: {
    unit: "bytes/s",
    default: 32 * MiB,
    scopes: ["server", "service", "client"],
    engines: "core engine (Bun's, Deno's and workerd's own engines inflate themselves)",
    description: "inflated (permessage-deflate) bytes per second a peer may make a connection produce, one second's worth at once",
    whenHit: "reading from that peer pauses until the rate is back under it (nothing dropped; one log line per connection)",
    ws: "—",
    bun: "—",
  },
  maxBufferedAmount: {
    unit: "bytes",
    default: 16 * MiB,
    scopes: ["server", "service", "client"],
    description: "bytes a connection's send buffer may hold; reading from the peer pauses above half of it (server)",
    whenHit: "the `backpressure` policy",
    ws: "— (grows without bound)",
    bun: "`backpressureLimit`, 16 MiB",
  },
  backpressure: {
    unit: "choice",
    default: "close",
    choices: ["close", "reject"],
    scopes: ["server", "service", "client"],
    description: "what a send beyond `maxBufferedAmount` does",
    whenHit: "`\"close\"`: close 1008 (the close frame is still sent); `\"reject\"`: `send()` resolves `false`",
    ws: "—",
    bun: "`closeOnBackpressureLimit`, false",
  },
  idleTimeout: {
    unit: "ms",
    default: 120_000,
    scopes: ["server", "service", "client"],
    zeroTurnsOff: true,
    plausibleMin: 1000,
    description: "silence after which the connection pings (after half of it) and drops (after the other half without an answer)",
    whenHit: "close 1006 (one timer per server and interval, not one per connection); also how a client whose reading is paused learns that the server has gone (a paused socket reads neither the close frame nor the FIN)",
    ws: "— (user's heartbeat)",
    bun: "`idleTimeout`, 120 s (in seconds)",
  },
  closeTimeout: {
    unit: "ms",
    default: 5000,
    scopes: ["server", "service", "client"],
    plausibleMin: 10,
    description: "time to wait for the peer's close frame once ours is sent",
    whenHit: "the socket is dropped",
    ws: "fixed 30 s",
    bun: "—",
  },
  maxConnections: {
    unit: "count",
    default: 10_000,
    scopes: ["server"],
    description: "connections a server holds, counted from the upgrade decision",
    whenHit: "HTTP 503",
    ws: "—",
    bun: "—",
  },
  maxHttpConnections: {
    unit: "count",
    default: 1000,
    scopes: ["server"],
    engines: "Bun's core engine (which parses HTTP itself)",
    description: "plain-HTTP connections (the `fetch` handler's) a server holds at once; upgrades never count against it",
    whenHit: "the longest-idle keep-alive connection is closed for the new one; with none idle, 503 (`Retry-After: 1`, one log line per 10 s at most)",
    ws: "— (node:http: `maxConnections`, unset)",
    bun: "—",
  },
  maxConcurrentStreams: {
    unit: "count",
    default: 100,
    scopes: ["server"],
    unlimited: false,
    engines: "HTTP/2 (`serve({ http2: true })`, `attach()` to an http2 server)",
    description: "streams open at once on one HTTP/2 session (SETTINGS_MAX_CONCURRENT_STREAMS): WebSockets over HTTP/2 (RFC 8441) and plain requests together; each WebSocket counts against `maxConnections` too",
    whenHit: "a client waits for a stream to end before it opens another; a peer that opens more anyway is in error (RFC 9113 §5.1.2): node:http2 closes its session, the other sessions are served",
    ws: "—",
    bun: "—",
  },
  http2SessionIdleTimeout: {
    unit: "ms",
    default: 5000,
    scopes: ["client"],
    zeroTurnsOff: true,
    plausibleMin: 10,
    engines: "the clients of Node, Bun and Deno with `http2`",
    description: "how long a client's HTTP/2 session (one per origin, shared by its WebSockets, RFC 8441) stays open after its last stream has ended (0: closed with it)",
    whenHit: "the session is closed (GOAWAY); the next WebSocket to the origin opens a new one",
    ws: "—",
    bun: "—",
  },
  httpIdleTimeout: {
    unit: "ms",
    default: 5000,
    scopes: ["server"],
    plausibleMin: 100,
    engines: "Bun's core engine; the HTTP/2 sessions of `serve({ http2: true })`",
    description: "time from the end of a response to the next complete request head on a keep-alive HTTP connection (the first head: `handshakeTimeout`); an HTTP/2 session's time without an open stream",
    whenHit: "the connection is closed; a head begun and not finished: 408; an HTTP/2 session: GOAWAY, then closed",
    ws: "— (node:http: `keepAliveTimeout` 5 s, `headersTimeout` 60 s)",
    bun: "`idleTimeout`, 10 s",
  },
  handshakeTimeout: {
    unit: "ms",
    default: 10_000,
    scopes: ["server", "client"],
    plausibleMin: 100,
    description: "time for an upgrade to be decided (the service's `upgrade()` gate included); on a client, for the whole opening handshake",
    whenHit: "server: HTTP 503, the slot is freed, the gate's late answer ignored; client: `HandshakeError`",
    ws: "`handshakeTimeout` (client only)",
    bun: "—",
  },
  publishBackpressure: {
    unit: "choice",
    default: undefined,
    defaultText: "off (sent like any other message, so `maxBufferedAmount` applies)",
    choices: ["skip", "close"],
    scopes: ["server"],
    description: "what a published message does for a subscriber whose send buffer holds more than `maxPublishBufferedAmount`",
    whenHit: "`\"skip\"`: left out, counted; `\"close\"`: close 1008",
    ws: "—",
    bun: "—",
  },
  maxPublishBufferedAmount: {
    unit: "bytes",
    default: 1 * MiB,
    defaultText: "the server's `maxBufferedAmount` if set, else 1 MiB",
    scopes: ["server"],
    description: "the send-buffer limit for `publishBackpressure`",
    whenHit: "`publishBackpressure`",
    ws: "—",
    bun: "—",
  },
  publishCompression: {
    unit: "choice",
    default: "shared",
    choices: ["shared", "per-connection"],
    scopes: ["server"],
    engines: "core engine",
    description: "permessage-deflate of published messages: compressed once per window size, or per subscriber with its own window",
    whenHit: "—",
    ws: "—",
    bun: "—",
  },
  reusePort: {
    unit: "flag",
    default: false,
    scopes: ["server"],
    engines:
      "`serve()` on Bun (both engines) and Deno (both engines; Deno's runtime engine needs `--unstable-net`), and on Node 22.12+ / 23.1+; refused on older Node (use `@ws/node/cluster`'s `runPrimary`)",
    description:
      "listen with SO_REUSEPORT: several processes serve one port and the kernel spreads the new connections over them (Linux); without it, a second server on the port fails with `ListenError` EADDRINUSE",
    whenHit: "— (topics across the processes: a `broker`, see the scaling guide)",
    ws: "— (node:net `listen({ reusePort })`, Node 22.12+)",
    bun: "`reusePort`, false",
  },
  keepRawRequest: {
    unit: "flag",
    default: false,
    scopes: ["server", "service"],
    description: "keep the runtime's request (`conn.request.raw`) for the connection's life instead of releasing it once `connected` has returned",
    whenHit: "— (the parsed `url`, `headers`, `query`, `cookies`, `params` stay)",
    ws: "`ws` does not keep it",
    bun: "—",
  },
} as const satisfies Record<string, SettingRow>;

/** A setting's name. */
export type SettingName = keyof typeof SETTINGS;

/** An option that was renamed: the old name still works (converted), with one deprecation warning per process. */
export interface DeprecatedSetting {
  /** the setting it became */
  readonly replacement: SettingName;
  /** the old value in the new setting's unit */
  convert(value: number): number;
  /** what the warning says, after "<old>: " */
  readonly message: string;
}

/** Options that still work under their old names. */
export const DEPRECATED_SETTINGS: Readonly<Record<string, DeprecatedSetting>> = {
  connectionTimeout: {
    replacement: "idleTimeout",
    convert: (seconds) => seconds * 1000,
    message: "deprecated: it is in seconds; use idleTimeout, in milliseconds (connectionTimeout: 60 → idleTimeout: 60_000)",
  },
};

/** The names of the settings that may be given in `scope`. */
export function settingsIn(scope: SettingScope): SettingName[] {
  return (Object.keys(SETTINGS) as SettingName[]).filter((name) => (SETTINGS[name].scopes as readonly SettingScope[]).includes(scope));
}
