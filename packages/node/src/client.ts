/** The Node client (Vapor's HTTPClient.webSocket): ws:// and wss:// on the same Connection API. */
import * as net from "node:net";
import * as tls from "node:tls";
import * as zlib from "node:zlib";
import { type ClientOptions, type Connection } from "@ws/core";
import { connectWith, zlibCodec, type ClientRuntime } from "@ws/core/adapter";
import { connectStream, socketByteStream } from "@ws/node-http";

/** Client options; permessage-deflate is offered unless `perMessageDeflate: false`; `http2` for WebSockets over HTTP/2. */
export interface NodeClientOptions extends ClientOptions {
  /** TLS options for wss:// (ca, rejectUnauthorized, servername, ...) */
  tls?: tls.ConnectionOptions;
}

/** How Node opens the socket: node:net, or node:tls for wss://. */
const node: ClientRuntime<tls.ConnectionOptions> = {
  deflateCodec: zlibCodec(zlib),
  dial: ({ hostname: host, port, secure, tls: tlsOptions, signal }) =>
    new Promise((resolve, reject) => {
      const socket = secure
        ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ...tlsOptions }, () => opened())
        : net.connect({ host, port }, () => opened());
      const failed = (error: Error) => reject(error);
      const opened = () => {
        socket.off("error", failed);
        socket.setNoDelay(true);
        socket.on("error", () => {}); // reported through the connection's close
        resolve(socketByteStream(socket));
      };
      socket.once("error", failed);
      signal.addEventListener("abort", () => socket.destroy(), { once: true });
    }),
  // WebSockets over HTTP/2 (RFC 8441) with `http2`: one node:http2 session per origin
  connectStream,
};

/**
 * Opens a WebSocket connection; resolves once the opening handshake has succeeded. With `http2: "auto"` it is a
 * stream of the origin's HTTP/2 session (RFC 8441) when the server offers that, else an HTTP/1.1 connection;
 * `http2: true` makes HTTP/2 mandatory.
 *
 * @example
 * ```ts
 * import { connect, HandshakeError } from "@ws/node";
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
export function connect(url: string | URL, options: NodeClientOptions = {}): Promise<Connection> {
  return connectWith(url, options, node);
}
