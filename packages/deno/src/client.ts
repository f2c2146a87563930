/** The Deno client: Deno.connect / Deno.connectTls → ByteStream → core's client handshake, on the same Connection API. */
import * as zlib from "node:zlib";
import { type ClientOptions, type Connection } from "@ws/core";
import { connectWith, zlibCodec, type ClientRuntime, type ZlibModule } from "@ws/core/adapter";
import { connectStream } from "@ws/node-http";
import { DenoConnStream } from "./byte-stream.ts";

/** Deno's TLS options for wss:// (Deno.connectTls's). */
type DenoTls = { caCerts?: string[] };

export interface DenoClientOptions extends ClientOptions {
  /** TLS options for wss:// (Deno.connectTls's: caCerts, ...) */
  tls?: DenoTls;
}

// Deno's node:zlib typings take wider inputs than the core's ZlibModule names; the calls are the same
const zlibModule: ZlibModule = {
  deflateRawSync: (data, options) => zlib.deflateRawSync(data, options),
  inflateRawSync: (data, options) => zlib.inflateRawSync(data, options),
  constants: zlib.constants,
};

/** How Deno opens the socket: Deno.connect, or Deno.connectTls for wss://. */
const deno: ClientRuntime<DenoTls> = {
  deflateCodec: zlibCodec(zlibModule),
  // WebSockets over HTTP/2 (RFC 8441) with `http2`: Deno's node:http2, one session per origin (caCerts as node:tls's ca)
  connectStream: ({ tls, ...target }) => connectStream({ ...target, tls: tls?.caCerts ? { ca: tls.caCerts } : undefined }),
  async dial({ hostname, port, secure, tls }) {
    const conn: Deno.Conn = secure ? await Deno.connectTls({ hostname, port, caCerts: tls?.caCerts }) : await Deno.connect({ hostname, port });
    if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
    return new DenoConnStream(conn);
  },
};

/**
 * Opens a WebSocket connection; resolves once the opening handshake has succeeded.
 *
 * @example
 * ```ts
 * import { connect, HandshakeError } from "@ws/deno";
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
export function connect(url: string | URL, options: DenoClientOptions = {}): Promise<Connection> {
  return connectWith(url, options, deno);
}
