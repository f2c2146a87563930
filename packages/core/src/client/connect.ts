/**
 * `connect()`, written once for every runtime: the URL (its scheme, host and port), the options' checks, the
 * client's settings, the time the connection may take to open, and permessage-deflate's default. What differs per
 * runtime is only how a TCP or TLS socket is opened: the adapter's `dial`, which returns it as a ByteStream; the
 * opening handshake then runs over it (./handshake.ts).
 */
import type { ByteStream } from "../session/byte-stream.ts";
import type { Connection } from "../session/connection.ts";
import { consoleLogger } from "../session/errors.ts";
import { resolveSettings } from "../settings/resolve.ts";
import { checkClientOptions } from "../server/options.ts";
import type { DeflateCodec } from "../wire/deflate.ts";
import { deflateClientOffer } from "../wire/deflate.ts";
import { connectOverStream, HandshakeError, type ClientOptions } from "./handshake.ts";
import { extendedConnectHeaders, openExtendedConnect, type ExtendedConnectResponse } from "./extended-connect.ts";

/** Where an adapter's `dial` opens its socket, taken from the URL and the options. */
export interface DialTarget<Tls> {
  /** the URL's host name; an IPv6 address without its brackets */
  hostname: string;
  /** the URL's port, else 443 for wss:// and https://, 80 for ws:// and http:// */
  port: number;
  /** wss:// or https://: open a TLS connection */
  secure: boolean;
  /** the milliseconds the socket may take to open (the client's `handshakeTimeout`); `connectWith` enforces it */
  timeout: number;
  /** the adapter's TLS options, as the user gave them (`options.tls`) */
  tls: Tls | undefined;
  /** aborted when `connectWith` gives up on the dial (the timeout): drop the socket being opened */
  signal: AbortSignal;
}

/** Where an adapter's `connectStream` opens an HTTP/2 stream: the origin, and the extended CONNECT's header fields. */
export interface StreamTarget<Tls> extends DialTarget<Tls> {
  /** the request's header fields: the pseudo-header fields (`:method` CONNECT, `:protocol` websocket, `:scheme`, `:path`, `:authority`) and the rest, names in lowercase */
  headers: Record<string, string>;
  /** the client's `http2SessionIdleTimeout`: how long the session stays open after its last stream has ended */
  sessionIdleTimeout: number;
}

/** What an adapter gives `connectWith`: how to open a socket, and its DEFLATE primitive. */
export interface ClientRuntime<Tls> {
  /** opens the TCP (or, when `secure`, TLS) connection and resolves it as a ByteStream once it can carry data */
  dial(target: DialTarget<Tls>): Promise<ByteStream>;
  /**
   * WebSockets over HTTP/2 (RFC 8441), where the runtime has an HTTP/2 client: opens a stream with the extended
   * CONNECT `target.headers` on the origin's HTTP/2 session (one session per origin, shared by every WebSocket to
   * it) and resolves its response; resolves null when the server does not speak HTTP/2 or does not advertise
   * SETTINGS_ENABLE_CONNECT_PROTOCOL (the client then uses HTTP/1.1, unless `http2: true` makes HTTP/2 mandatory).
   */
  connectStream?(target: StreamTarget<Tls>): Promise<ExtendedConnectResponse | null>;
  /** the DEFLATE primitive: permessage-deflate is offered with it unless `perMessageDeflate: false` */
  deflateCodec?: DeflateCodec;
}

/**
 * Opens a WebSocket connection to `url` over the socket the runtime's `dial` opens; resolves once the opening
 * handshake has succeeded. Throws InvalidOptionError for a bad URL or option; rejects with an Error when the
 * socket cannot be opened within `handshakeTimeout`, with a HandshakeError when the server refuses.
 *
 * @example
 * ```ts
 * import * as net from "node:net";
 * import { connectWith, type ClientRuntime } from "@ws/core/adapter";
 * import { socketByteStream } from "@ws/node";
 *
 * // a runtime's client: how it opens a TCP connection (TLS left out here); connectWith does the rest
 * const runtime: ClientRuntime<never> = {
 *   dial: ({ hostname, port, secure, signal }) =>
 *     new Promise((resolve, reject) => {
 *       if (secure) return reject(new Error("wss:// needs TLS"));
 *       const socket = net.connect({ host: hostname, port }, () => resolve(socketByteStream(socket)));
 *       socket.once("error", reject);
 *       signal.addEventListener("abort", () => socket.destroy(), { once: true }); // handshakeTimeout expired
 *     }),
 * };
 *
 * export function connect(url: string) {
 *   return connectWith(url, { protocols: ["chat"] }, runtime); // URL, options, timeout and handshake checked here
 * }
 * ```
 */
export async function connectWith<Tls>(url: string | URL, options: ClientOptions & { tls?: Tls }, runtime: ClientRuntime<Tls>): Promise<Connection> {
  checkClientOptions(url, options);
  const u = new URL(url);
  const secure = u.protocol === "wss:" || u.protocol === "https:";
  const hostname = u.hostname.replace(/^\[|\]$/g, "");
  const port = Number(u.port) || (secure ? 443 : 80);
  const warn = (m: string) => (options.logger ?? consoleLogger).warn({}, m);
  const timeout = resolveSettings("client", [options], warn).handshakeTimeout;
  const giveUp = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      giveUp.abort();
      reject(new Error(`connect to ${u.host} timed out after ${timeout} ms`));
    }, timeout);
  });
  const http2 = options.http2 ?? false;
  if (http2 !== false) {
    const target = { hostname, port, secure, timeout, tls: options.tls, signal: giveUp.signal };
    const opened = await overHttp2(u, options, runtime, target, http2, timedOut).catch((e: unknown) => {
      clearTimeout(timer);
      throw e;
    });
    if (opened) {
      clearTimeout(timer);
      return opened;
    }
  }
  const dialing = runtime.dial({ hostname, port, secure, timeout, tls: options.tls, signal: giveUp.signal });
  let stream: ByteStream;
  try {
    stream = await Promise.race([dialing, timedOut]);
  } catch (e) {
    void dialing.then((late) => late.destroy(), () => {}); // a socket that opens after the timeout is closed at once
    throw e;
  } finally {
    clearTimeout(timer);
  }
  return connectOverStream(stream, u, { perMessageDeflate: true, ...options }, { deflateCodec: runtime.deflateCodec });
}

/**
 * A WebSocket over HTTP/2 (RFC 8441) through the runtime's `connectStream`: the connection, or null to use
 * HTTP/1.1 instead (`http2: "auto"` and a server or runtime without it). `http2: true` makes HTTP/2 mandatory:
 * then that is a HandshakeError.
 */
async function overHttp2<Tls>(
  u: URL,
  options: ClientOptions & { tls?: Tls },
  runtime: ClientRuntime<Tls>,
  target: DialTarget<Tls>,
  http2: true | "auto",
  timedOut: Promise<never>,
): Promise<Connection | null> {
  const mandatory = http2 === true;
  if (!runtime.connectStream) {
    if (mandatory) throw new HandshakeError("this runtime's client has no HTTP/2 (http2: true); use http2: \"auto\" or leave it out for HTTP/1.1");
    return null;
  }
  const logger = options.logger ?? consoleLogger;
  const settings = resolveSettings("client", [options], (m) => logger.warn({}, m));
  const deflateOption = options.perMessageDeflate ?? true;
  const deflateSettings = deflateOption === true ? {} : deflateOption || undefined;
  const codec = runtime.deflateCodec;
  const offer = deflateSettings && codec ? deflateClientOffer(deflateSettings) : undefined;
  const headers = extendedConnectHeaders(u, options, offer ? [offer] : []);
  const opening = runtime.connectStream({ ...target, headers, sessionIdleTimeout: settings.http2SessionIdleTimeout });
  let response: ExtendedConnectResponse | null;
  try {
    response = await Promise.race([opening, timedOut]);
  } catch (e) {
    void opening.then((late) => late?.stream.destroy(), () => {}); // a stream that opens after the timeout is reset at once
    throw e;
  }
  if (!response) {
    if (mandatory) throw new HandshakeError(`${u.host} does not offer WebSockets over HTTP/2 (its SETTINGS have no ENABLE_CONNECT_PROTOCOL, RFC 8441), and http2: true makes HTTP/2 mandatory`);
    return null;
  }
  return openExtendedConnect(response, { url: u, protocols: options.protocols ?? [], offer, deflateSettings, codec, settings, logger, options });
}
