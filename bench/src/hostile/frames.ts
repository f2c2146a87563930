/**
 * Frames for the hostile clients: client frames with every header bit under our control (unfinished messages,
 * compressed messages, bare control frames), and a reader of server frames that counts what arrives and keeps
 * the close codes. RFC 6455 §5.2 (base framing), §5.3 (masking), §5.5 (control frames); RFC 7692 (deflate).
 */
import { randomBytes } from "node:crypto";
import { constants, deflateRawSync } from "node:zlib";

export const OP_CONTINUATION = 0x0;
export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

export interface FrameBits {
  /** FIN (§5.2): the last frame of its message. Default true. */
  fin?: boolean;
  /** RSV1: the message is compressed (RFC 7692 §6). Default false. */
  rsv1?: boolean;
}

/** A masked client frame's header (§5.2) announcing `length` payload bytes, masked with `key` (§5.3). */
export function clientFrameHeader(opcode: number, length: number, key: Buffer, bits: FrameBits = {}): Buffer {
  const extended = length < 126 ? 0 : length < 0x10000 ? 2 : 8;
  const header = Buffer.allocUnsafe(2 + extended + 4);
  header[0] = (bits.fin === false ? 0 : 0x80) | (bits.rsv1 ? 0x40 : 0) | opcode;
  // the payload length in 7 bits, or 126 + 16 bits, or 127 + 64 bits; the mask bit set
  if (extended === 0) header[1] = 0x80 | length;
  else if (extended === 2) {
    header[1] = 0x80 | 126;
    header.writeUInt16BE(length, 2);
  } else {
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  key.copy(header, 2 + extended);
  return header;
}

/** Masks `payload` with `key` (§5.3); `offset` is the position of payload[0] in the frame's payload. */
export function masked(payload: Uint8Array, key: Buffer, offset = 0): Buffer {
  const out = Buffer.allocUnsafe(payload.length);
  for (let i = 0; i < payload.length; i++) out[i] = payload[i]! ^ key[(offset + i) & 3]!;
  return out;
}

/** One masked client frame (§5.3: every client frame is masked; a fresh key for each). */
export function clientFrame(opcode: number, payload: Uint8Array, bits: FrameBits = {}): Buffer {
  const key = randomBytes(4);
  return Buffer.concat([clientFrameHeader(opcode, payload.length, key, bits), masked(payload, key)]);
}

/** `count` copies of `frame` back to back, to be written as one big chunk. */
export function repeated(frame: Buffer, count: number): Buffer {
  const out = Buffer.allocUnsafe(frame.length * count);
  for (let i = 0; i < count; i++) frame.copy(out, i * frame.length);
  return out;
}

/**
 * A message compressed the way permessage-deflate wants it (RFC 7692 §7.2.1): raw DEFLATE ending in a sync
 * flush, with the flush's trailing 00 00 ff ff removed (the receiver appends it back before inflating).
 * Compressed on its own, so it is valid with or without context takeover.
 */
export function deflateMessage(data: Uint8Array): Buffer {
  const out = deflateRawSync(data, { finishFlush: constants.Z_SYNC_FLUSH, level: 9 });
  const tail = out.length - 4;
  if (tail >= 0 && out[tail] === 0 && out[tail + 1] === 0 && out[tail + 2] === 0xff && out[tail + 3] === 0xff) {
    return out.subarray(0, tail);
  }
  return out;
}

/**
 * Reads server frames (unmasked, §5.1) from a byte stream: data payloads are skipped by length, control
 * payloads are kept (a close frame's code, §5.5.1), and small text messages are kept when asked (the probes).
 */
export class FrameReader {
  /** close codes received, in order (1005 for a close frame without a code, §7.1.5) */
  readonly closeCodes: number[] = [];
  closeReasons: string[] = [];
  /** complete data messages (a data frame or continuation with FIN) */
  messages = 0;
  pings = 0;
  pongs = 0;
  /** payload bytes of data frames */
  dataBytes = 0;
  /** messages whose first frame had RSV1 set (compressed, RFC 7692 §6) */
  compressed = 0;
  /** kept text messages (only while `keepText` is on), each at most 64 KiB */
  readonly texts: string[] = [];
  keepText = false;

  private pending: Buffer = Buffer.alloc(0);
  /** payload bytes of the current data frame still to skip */
  private skipping = 0;
  private text: Buffer[] = [];
  private inText = false;
  private fin = false;

  push(chunk: Buffer): void {
    const buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    let at = 0;
    while (at < buf.length) {
      if (this.skipping > 0) {
        const take = Math.min(this.skipping, buf.length - at);
        if (this.inText && this.keepText) this.text.push(Buffer.from(buf.subarray(at, at + take)));
        this.skipping -= take;
        this.dataBytes += take;
        at += take;
        if (this.skipping === 0) this.dataFrameDone();
        continue;
      }
      const frame = readHeader(buf, at);
      if (!frame) break; // the header is not complete yet
      if (frame.opcode & 0x8) {
        // a control frame (§5.5): its payload (at most 125 bytes) is read whole
        if (buf.length - frame.payloadAt < frame.length) break;
        this.control(frame.opcode, buf.subarray(frame.payloadAt, frame.payloadAt + frame.length));
        at = frame.payloadAt + frame.length;
        continue;
      }
      if (frame.opcode !== OP_CONTINUATION) {
        this.inText = frame.opcode === OP_TEXT;
        if (frame.rsv1) this.compressed++;
      }
      this.fin = frame.fin;
      at = frame.payloadAt;
      this.skipping = frame.length;
      if (frame.length === 0) this.dataFrameDone();
    }
    this.pending = at < buf.length ? Buffer.from(buf.subarray(at)) : Buffer.alloc(0);
  }

  private dataFrameDone(): void {
    if (!this.fin) return;
    this.messages++;
    if (this.inText && this.keepText) {
      const whole = Buffer.concat(this.text);
      if (whole.length <= 64 * 1024) this.texts.push(whole.toString("utf8"));
    }
    this.text = [];
  }

  private control(opcode: number, payload: Buffer): void {
    if (opcode === OP_PING) this.pings++;
    else if (opcode === OP_PONG) this.pongs++;
    else if (opcode === OP_CLOSE) {
      this.closeCodes.push(payload.length >= 2 ? payload.readUInt16BE(0) : 1005);
      this.closeReasons.push(payload.subarray(2).toString("utf8"));
    }
  }
}

interface Header {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  length: number;
  payloadAt: number;
}

/** The frame header at `at` (§5.2), or null while incomplete. A masked server frame is skipped like any other. */
function readHeader(buf: Buffer, at: number): Header | null {
  if (buf.length - at < 2) return null;
  const b0 = buf[at]!;
  const b1 = buf[at + 1]!;
  let length = b1 & 0x7f;
  let p = at + 2;
  if (length === 126) {
    if (buf.length - p < 2) return null;
    length = buf.readUInt16BE(p);
    p += 2;
  } else if (length === 127) {
    if (buf.length - p < 8) return null;
    length = Number(buf.readBigUInt64BE(p));
    p += 8;
  }
  if (b1 & 0x80) p += 4; // a mask key (servers must not mask, §5.1; skip it anyway)
  if (p > buf.length) return null;
  return { fin: (b0 & 0x80) !== 0, rsv1: (b0 & 0x40) !== 0, opcode: b0 & 0x0f, length, payloadAt: p };
}
