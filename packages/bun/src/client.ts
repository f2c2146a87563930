/** The Bun client: Bun.connect (TCP or TLS) → ByteStream → core's client handshake, on the same Connection API. */
import * as zlib from "node:zlib";
import { type ClientOptions, type Connection } from "@ws/core";
import { connectWith, zlibCodec, type ClientRuntime } from "@ws/core/adapter";
import { connectStream } from "@ws/node-http";
import { BunSocketStream } from "./byte-stream.ts";

/** Bun's TLS options for wss:// (Bun.connect's). */
type BunTls = { ca?: string | string[]; rejectUnauthorized?: boolean; serverName?: string };

export interface BunClientOptions extends ClientOptions {
  /** TLS options for wss:// (Bun's: ca, rejectUnauthorized, serverName, ...) */
  tls?: BunTls;
}

/** How Bun opens the socket: Bun.connect, with `tls` for wss://. */
const bun: ClientRuntime<BunTls> = {
  deflateCodec: zlibCodec(zlib),
  // WebSockets over HTTP/2 (RFC 8441) with `http2`: Bun's node:http2, one session per origin (Bun's TLS options mapped)
  connectStream: ({ tls, ...target }) =>
    connectStream({ ...target, tls: tls && { ca: tls.ca, rejectUnauthorized: tls.rejectUnauthorized, servername: tls.serverName } }),
  async dial({ hostname, port, secure, tls, signal }) {
    let stream: BunSocketStream | undefined;
    let lastError: Error | undefined;
    // over TLS, Bun calls `open` once the TLS handshake is done, which can be after Bun.connect has resolved
    let opened!: () => void;
    const open = new Promise<void>((resolve) => (opened = resolve));
    const socket = await Bun.connect<undefined>({
      hostname,
      port,
      tls: secure ? { serverName: /^[\d.:]+$/.test(hostname) ? undefined : hostname, ...tls } : undefined,
      socket: {
        binaryType: "uint8array",
        open(socket) {
          stream = new BunSocketStream(socket as never);
          opened();
        },
        data: (_socket, data) => stream?.handleData(data),
        drain: () => stream?.handleDrain(),
        end: () => stream?.handleEnd(),
        error(_socket, error) {
          lastError = error;
        },
        close: (_socket, error) => stream?.handleClose(error ?? lastError),
        connectError(_socket, error) {
          lastError = error;
        },
      },
    });
    signal.addEventListener("abort", () => socket.terminate(), { once: true }); // a TLS handshake that never ends
    socket.setNoDelay(true);
    await open;
    return stream!;
  },
};

/**
 * Opens a WebSocket connection; resolves once the opening handshake has succeeded.
 *
 * @example
 * ```ts
 * import { connect, HandshakeError } from "@ws/bun";
 *
 * try {
 *   const conn = await connect("ws://localhost:8080/chat", { protocols: ["chat"], headers: { authorization: "Bearer token" } });
 *   conn.onText((text) => console.log("got", text));
 *   await conn.send("hello");
 *   const { code, reason } = await conn.closed;
 *   console.log("closed", code, reason);
 * } catch (error) {
 *   if (error instanceof HandshakeError) console.log(error.status, error.body); // the server refused
 *   else throw error;
 * }
 * ```
 */
export function connect(url: string | URL, options: BunClientOptions = {}): Promise<Connection> {
  return connectWith(url, options, bun);
}
