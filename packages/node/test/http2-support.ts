/**
 * A raw RFC 8441 client for the HTTP/2 tests: extended CONNECT on a node:http2 session, masked client frames
 * written by hand, the server's (unmasked) frames parsed by hand — independent of the toolkit's own client.
 */
import * as http2 from "node:http2";
import { clientFrame } from "./helpers.ts";

export { clientFrame };

/** Opens an HTTP/2 session to `origin` and waits for the server's SETTINGS. */
export async function h2Session(origin: string): Promise<{ session: http2.ClientHttp2Session; settings: http2.Settings }> {
  const session = http2.connect(origin, { rejectUnauthorized: false });
  session.on("error", () => {});
  const settings = await new Promise<http2.Settings>((resolve, reject) => {
    session.once("remoteSettings", resolve);
    session.once("error", reject);
  });
  return { session, settings };
}

/** One server frame: opcode and payload. */
export interface ServerFrame {
  opcode: number;
  fin: boolean;
  payload: Buffer;
  masked: boolean;
  /** RSV1: a compressed message (permessage-deflate) */
  rsv1: boolean;
}

/** An extended CONNECT stream: its response and the frames the server sends on it. */
export interface H2Socket {
  stream: http2.ClientHttp2Stream;
  status: number;
  headers: http2.IncomingHttpHeaders;
  /** the response body, for a refusal */
  body(): Promise<string>;
  /** the next server frame */
  next(): Promise<ServerFrame>;
  /** resolves when the stream has closed, with its RST_STREAM code (0: closed cleanly) */
  closed: Promise<number>;
  /** whether the server ended its side (END_STREAM) */
  ended: () => boolean;
}

/** Sends an extended CONNECT for `path` and waits for the response. */
export function h2Connect(session: http2.ClientHttp2Session, path: string, headers: Record<string, string> = {}, scheme = "https"): Promise<H2Socket> {
  const authority = new URL((session as unknown as { originSet?: string[] }).originSet?.[0] ?? "https://127.0.0.1").host;
  const stream = session.request(
    { ":method": "CONNECT", ":protocol": "websocket", ":scheme": scheme, ":path": path, ":authority": authority, "sec-websocket-version": "13", ...headers },
    { endStream: false },
  );
  stream.on("error", () => {});
  let buffer = Buffer.alloc(0);
  const frames: ServerFrame[] = [];
  const waiting: ((f: ServerFrame) => void)[] = [];
  let ended = false;
  const chunks: Buffer[] = [];
  const closed = new Promise<number>((resolve) => stream.once("close", () => resolve(stream.rstCode ?? 0)));
  return new Promise((resolve, reject) => {
    stream.once("error", reject);
    stream.once("response", (h) => {
      const status = Number(h[":status"]);
      stream.on("data", (chunk: Buffer) => {
        if (status !== 200) {
          chunks.push(chunk);
          return;
        }
        buffer = Buffer.concat([buffer, chunk]);
        for (;;) {
          if (buffer.length < 2) break;
          const b0 = buffer[0]!;
          const b1 = buffer[1]!;
          let len = b1 & 0x7f;
          let offset = 2;
          if (len === 126) {
            if (buffer.length < 4) break;
            len = buffer.readUInt16BE(2);
            offset = 4;
          } else if (len === 127) {
            if (buffer.length < 10) break;
            len = Number(buffer.readBigUInt64BE(2));
            offset = 10;
          }
          const masked = (b1 & 0x80) !== 0;
          if (masked) offset += 4;
          if (buffer.length < offset + len) break;
          const frame = { opcode: b0 & 0x0f, fin: (b0 & 0x80) !== 0, payload: buffer.subarray(offset, offset + len), masked, rsv1: (b0 & 0x40) !== 0 };
          buffer = buffer.subarray(offset + len);
          // the server's close frame: the client closes its side too (its FIN, END_STREAM here)
          if (frame.opcode === 0x8 && !stream.writableEnded) stream.end();
          const w = waiting.shift();
          if (w) w(frame);
          else frames.push(frame);
        }
      });
      stream.once("end", () => (ended = true));
      resolve({
        stream,
        status,
        headers: h,
        body: () => new Promise((res) => (stream.readableEnded ? res(Buffer.concat(chunks).toString()) : stream.once("end", () => res(Buffer.concat(chunks).toString())))),
        next: () => {
          const f = frames.shift();
          return f ? Promise.resolve(f) : new Promise((res) => waiting.push(res));
        },
        closed,
        ended: () => ended,
      });
    });
  });
}

/** A close frame's code. */
export function closeCode(frame: ServerFrame): number {
  return frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005;
}

/** A masked close frame with `code`. */
export function closeFrame(code: number): Buffer {
  const payload = Buffer.alloc(2);
  payload.writeUInt16BE(code);
  return clientFrame(0x8, payload);
}

/** Resolves once `check` is true, polling every 5 ms; rejects after `ms`. */
export async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
