/**
 * A raw HTTP/2 peer for the hostile tests (RFC 9113 §3.4, §4, §6): the connection preface and frames written by
 * hand over cleartext TCP (h2c with prior knowledge), so that it can break the rules a real client keeps — streams
 * past SETTINGS_MAX_CONCURRENT_STREAMS, HEADERS followed at once by RST_STREAM (CVE-2023-44487), SETTINGS and PING
 * floods while never reading. Header blocks use HPACK literals without indexing (RFC 7541 §6.2.2), no Huffman.
 */
import * as net from "node:net";

export const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

export const FrameType = { DATA: 0x0, HEADERS: 0x1, RST_STREAM: 0x3, SETTINGS: 0x4, PING: 0x6, GOAWAY: 0x7, WINDOW_UPDATE: 0x8 } as const;

/** One frame: the 9-byte header (length, type, flags, stream id) and the payload. */
export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK integer with an N-bit prefix (RFC 7541 §5.1). */
function hpackInt(value: number, prefixBits: number, first: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [first | value];
  const out = [first | max];
  value -= max;
  while (value >= 128) {
    out.push((value & 0x7f) | 0x80);
    value >>= 7;
  }
  out.push(value);
  return out;
}

/** A header block of literal fields without indexing, new names (RFC 7541 §6.2.2). */
export function headerBlock(fields: [string, string][]): Buffer {
  const bytes: number[] = [];
  for (const [name, value] of fields) {
    bytes.push(0x00);
    bytes.push(...hpackInt(name.length, 7, 0), ...Buffer.from(name, "latin1"));
    bytes.push(...hpackInt(value.length, 7, 0), ...Buffer.from(value, "latin1"));
  }
  return Buffer.from(bytes);
}

/** HEADERS with END_HEADERS (0x4) for an extended CONNECT to `path` on `streamId`. */
export function extendedConnect(streamId: number, path: string, authority: string): Buffer {
  const block = headerBlock([
    [":method", "CONNECT"],
    [":protocol", "websocket"],
    [":scheme", "http"],
    [":path", path],
    [":authority", authority],
    ["sec-websocket-version", "13"],
  ]);
  return frame(FrameType.HEADERS, 0x4, streamId, block);
}

/** RST_STREAM with `code` (0x8: CANCEL). */
export function rstStream(streamId: number, code = 0x8): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(code);
  return frame(FrameType.RST_STREAM, 0, streamId, payload);
}

/** A raw h2c peer: what it has read is parsed into frames as it comes. */
export interface RawPeer {
  socket: net.Socket;
  /** frames received so far */
  frames: { type: number; flags: number; streamId: number; payload: Buffer }[];
  /** resolves when the server has closed the connection */
  closed: Promise<void>;
  isClosed(): boolean;
}

/**
 * Connects to an h2c server, sends the preface and an empty SETTINGS (plus SETTINGS ACK once the server's arrive,
 * unless `ackSettings` is false). With `read: false` it never reads after the server's first bytes.
 */
export async function rawPeer(port: number, options: { read?: boolean; ackSettings?: boolean } = {}): Promise<RawPeer> {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", () => {});
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  socket.write(Buffer.concat([PREFACE, frame(FrameType.SETTINGS, 0, 0)]));
  const frames: RawPeer["frames"] = [];
  let buffer = Buffer.alloc(0);
  let closed = false;
  const settled = new Promise<void>((resolve) => socket.once("close", () => ((closed = true), resolve())));
  let acked = false;
  await new Promise<void>((resolve) => {
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      while (buffer.length >= 9) {
        const length = buffer.readUIntBE(0, 3);
        if (buffer.length < 9 + length) break;
        const f = { type: buffer[3]!, flags: buffer[4]!, streamId: buffer.readUInt32BE(5) & 0x7fffffff, payload: buffer.subarray(9, 9 + length) };
        buffer = buffer.subarray(9 + length);
        frames.push(f);
        if (f.type === FrameType.SETTINGS && (f.flags & 0x1) === 0 && !acked) {
          acked = true;
          if (options.ackSettings !== false) socket.write(frame(FrameType.SETTINGS, 0x1, 0));
          if (options.read === false) socket.pause();
          resolve();
        }
      }
    });
    socket.once("close", () => resolve());
  });
  return { socket, frames, closed: settled, isClosed: () => closed };
}

/** The server's SETTINGS (its first SETTINGS frame) as id → value. */
export function serverSettings(peer: RawPeer): Map<number, number> {
  const settings = new Map<number, number>();
  const f = peer.frames.find((x) => x.type === FrameType.SETTINGS && (x.flags & 0x1) === 0);
  if (!f) return settings;
  for (let i = 0; i + 6 <= f.payload.length; i += 6) settings.set(f.payload.readUInt16BE(i), f.payload.readUInt32BE(i + 2));
  return settings;
}
