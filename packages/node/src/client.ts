/** The Node client (Vapor's HTTPClient.webSocket): ws:// and wss:// on the same Connection API. */
import * as net from "node:net";
import * as tls from "node:tls";
import * as zlib from "node:zlib";
import { type ClientOptions, type Connection } from "@ws/core";
import { checkClientOptions, zlibCodec, connectOverStream } from "@ws/core/adapter";
import { socketByteStream } from "@ws/node-http";

/** Client options; permessage-deflate is offered unless `perMessageDeflate: false`. */
export interface NodeClientOptions extends ClientOptions {
  /** TLS options for wss:// (ca, rejectUnauthorized, servername, ...) */
  tls?: tls.ConnectionOptions;
}

const codec = zlibCodec(zlib);

/** Opens a WebSocket connection; resolves once the opening handshake has succeeded. */
export async function connect(url: string | URL, options: NodeClientOptions = {}): Promise<Connection> {
  checkClientOptions(url, options);
  const u = new URL(url);
  const secure = u.protocol === "wss:" || u.protocol === "https:";
  if (!secure && u.protocol !== "ws:" && u.protocol !== "http:") throw new SyntaxError(`unsupported URL scheme ${u.protocol}`);
  const host = u.hostname.replace(/^\[|\]$/g, "");
  const port = Number(u.port) || (secure ? 443 : 80);
  const socket: net.Socket = await new Promise((resolve, reject) => {
    const s = secure
      ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ...options.tls }, () => done())
      : net.connect({ host, port }, () => done());
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`connect to ${u.host} timed out`));
    }, options.handshakeTimeout ?? 10_000);
    const done = () => {
      clearTimeout(timer);
      s.off("error", onError);
      resolve(s);
    };
    const onError = (error: Error) => {
      clearTimeout(timer);
      reject(error);
    };
    s.once("error", onError);
  });
  socket.setNoDelay(true);
  socket.on("error", () => {}); // reported through the connection's close
  return connectOverStream(socketByteStream(socket), u, {
    perMessageDeflate: true,
    deflateCodec: codec,
    ...options,
  });
}
