/** The Bun client: Bun.connect (TCP or TLS) → ByteStream → core's client handshake, on the same Connection API. */
import * as zlib from "node:zlib";
import { type ClientOptions, type Connection } from "@ws/core";
import { checkClientOptions, connectOverStream, zlibCodec } from "@ws/core/adapter";
import { BunSocketStream } from "./byte-stream.ts";

export interface BunClientOptions extends ClientOptions {
  /** TLS options for wss:// (Bun's: ca, rejectUnauthorized, serverName, ...) */
  tls?: { ca?: string | string[]; rejectUnauthorized?: boolean; serverName?: string };
}

const codec = zlibCodec(zlib);

/** Opens a WebSocket connection; resolves once the opening handshake has succeeded. */
export async function connect(url: string | URL, options: BunClientOptions = {}): Promise<Connection> {
  checkClientOptions(url, options);
  const u = new URL(url);
  const secure = u.protocol === "wss:" || u.protocol === "https:";
  if (!secure && u.protocol !== "ws:" && u.protocol !== "http:") throw new SyntaxError(`unsupported URL scheme ${u.protocol}`);
  const hostname = u.hostname.replace(/^\[|\]$/g, "");
  const port = Number(u.port) || (secure ? 443 : 80);
  let stream: BunSocketStream | undefined;
  let lastError: Error | undefined;
  // over TLS, Bun calls `open` once the TLS handshake is done, which can be after Bun.connect has resolved
  let opened!: () => void;
  const open = new Promise<void>((resolve) => (opened = resolve));
  const connecting = Bun.connect<undefined>({
    hostname,
    port,
    tls: secure ? { serverName: /^[\d.:]+$/.test(hostname) ? undefined : hostname, ...options.tls } : undefined,
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
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`connect to ${u.host} timed out`)), options.handshakeTimeout ?? 10_000);
  });
  try {
    const socket = await Promise.race([connecting, timeout]);
    socket.setNoDelay(true);
    await Promise.race([open, timeout]);
  } finally {
    clearTimeout(timer);
  }
  return connectOverStream(stream!, u, {
    perMessageDeflate: true,
    deflateCodec: codec,
    ...options,
  });
}
