// Opening handshakes for the oracle: a hand-rolled HTTP/1.1 upgrade client (so it can talk to raw test servers) and
// the response side used by the fuzzing server.
import { createHash, randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";

export const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

export function acceptKey(key: string): string {
  return createHash("sha1").update(key + WS_GUID).digest("base64");
}

export interface ClientHandshakeResult {
  socket: Socket;
  /** Bytes that followed the 101 response (already frames). */
  rest: Uint8Array;
  httpRequest: string;
  httpResponse: string;
  /** Value of Sec-WebSocket-Extensions in the response, if any. */
  extensions: string | undefined;
}

export class HandshakeError extends Error {
  httpRequest: string;
  httpResponse: string;
  constructor(message: string, httpRequest: string, httpResponse: string) {
    super(message);
    this.httpRequest = httpRequest;
    this.httpResponse = httpResponse;
  }
}

export function clientHandshake(
  url: string,
  opts: { extensions?: string; timeoutMs?: number; userAgent?: string } = {},
): Promise<ClientHandshakeResult> {
  const u = new URL(url);
  if (u.protocol !== "ws:") return Promise.reject(new Error(`only ws:// URLs are supported (got ${url})`));
  const port = Number(u.port || 80);
  const host = u.hostname.replace(/^\[|\]$/g, "");
  const key = randomBytes(16).toString("base64");
  const lines = [
    `GET ${u.pathname}${u.search} HTTP/1.1`,
    `Host: ${u.host}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${key}`,
    "Sec-WebSocket-Version: 13",
    `User-Agent: ${opts.userAgent ?? "ws-autobahn-ts/0.1"}`,
  ];
  if (opts.extensions) lines.push(`Sec-WebSocket-Extensions: ${opts.extensions}`);
  const httpRequest = lines.join("\r\n") + "\r\n\r\n";
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    socket.setNoDelay(true);
    let buf = Buffer.alloc(0);
    let done = false;
    const timer = setTimeout(() => fail("opening handshake timed out"), opts.timeoutMs ?? 5000);
    const fail = (msg: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      reject(new HandshakeError(msg, httpRequest, buf.toString("latin1")));
    };
    socket.on("error", (e) => fail(`socket error during opening handshake: ${e.message}`));
    socket.on("close", () => fail("connection closed during opening handshake"));
    socket.on("connect", () => socket.write(httpRequest));
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) {
        if (buf.length > 64 * 1024) fail("handshake response too large");
        return;
      }
      const head = buf.subarray(0, end).toString("latin1");
      const rest = new Uint8Array(buf.subarray(end + 4));
      const [status, ...hdrLines] = head.split("\r\n");
      const headers = new Map<string, string>();
      for (const l of hdrLines) {
        const i = l.indexOf(":");
        if (i > 0) headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
      }
      if (!/^HTTP\/1\.1 101\b/.test(status ?? "")) return fail(`unexpected status line: ${status}`);
      if ((headers.get("upgrade") ?? "").toLowerCase() !== "websocket") return fail("missing Upgrade: websocket");
      if (!(headers.get("connection") ?? "").toLowerCase().split(/\s*,\s*/).includes("upgrade"))
        return fail("missing Connection: Upgrade");
      if (headers.get("sec-websocket-accept") !== acceptKey(key)) return fail("wrong Sec-WebSocket-Accept");
      done = true;
      clearTimeout(timer);
      socket.removeListener("data", onData);
      socket.removeAllListeners("close");
      socket.removeAllListeners("error");
      socket.pause();
      resolve({
        socket,
        rest,
        httpRequest,
        httpResponse: head + "\r\n\r\n",
        extensions: headers.get("sec-websocket-extensions"),
      });
    };
    socket.on("data", onData);
  });
}

export function serverHandshakeResponse(key: string, extraHeaders: string[] = []): string {
  return (
    [
      "HTTP/1.1 101 Switching Protocols",
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Accept: ${acceptKey(key)}`,
      "Server: ws-autobahn-ts/0.1",
      ...extraHeaders,
    ].join("\r\n") + "\r\n\r\n"
  );
}
