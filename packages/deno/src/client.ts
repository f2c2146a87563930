/** The Deno client: Deno.connect / Deno.connectTls → ByteStream → core's client handshake, on the same Connection API. */
import * as zlib from "node:zlib";
import { type ClientOptions, type Connection } from "@ws/core";
import { checkClientOptions, connectOverStream, zlibCodec, type ZlibModule } from "@ws/core/adapter";
import { DenoConnStream } from "./byte-stream.ts";

export interface DenoClientOptions extends ClientOptions {
  /** TLS options for wss:// (Deno.connectTls's: caCerts, ...) */
  tls?: { caCerts?: string[] };
}

// Deno's node:zlib typings take wider inputs than the core's ZlibModule names; the calls are the same
const zlibModule: ZlibModule = {
  deflateRawSync: (data, options) => zlib.deflateRawSync(data, options),
  inflateRawSync: (data, options) => zlib.inflateRawSync(data, options),
  constants: zlib.constants,
};
const codec = zlibCodec(zlibModule);

/** Opens a WebSocket connection; resolves once the opening handshake has succeeded. */
export async function connect(url: string | URL, options: DenoClientOptions = {}): Promise<Connection> {
  checkClientOptions(url, options);
  const u = new URL(url);
  const secure = u.protocol === "wss:" || u.protocol === "https:";
  if (!secure && u.protocol !== "ws:" && u.protocol !== "http:") throw new SyntaxError(`unsupported URL scheme ${u.protocol}`);
  const hostname = u.hostname.replace(/^\[|\]$/g, "");
  const port = Number(u.port) || (secure ? 443 : 80);
  const timeoutMs = options.handshakeTimeout ?? 10_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`connect to ${u.host} timed out`)), timeoutMs);
  });
  const connecting: Promise<Deno.Conn> = secure
    ? Deno.connectTls({ hostname, port, caCerts: options.tls?.caCerts })
    : Deno.connect({ hostname, port });
  let conn: Deno.Conn;
  try {
    conn = await Promise.race([connecting, timeout]);
  } catch (e) {
    void connecting.then((c) => c.close(), () => {});
    throw e;
  } finally {
    clearTimeout(timer);
  }
  if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
  return connectOverStream(new DenoConnStream(conn), u, {
    perMessageDeflate: true,
    deflateCodec: codec,
    ...options,
  });
}
