// A tiny hand-rolled echo server on node:net with switchable bugs, so each grader can be shown to fail on exactly
// the cases a bug affects. Without bugs it is strict: streaming (fail-fast) UTF-8 validation, close code checks,
// control frame rules, fragmentation rules.
import { createHash } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";

export interface Bugs {
  /** never validate UTF-8 in text messages */
  skipUtf8?: boolean;
  /** validate text only once the whole message is in (no fail-fast) */
  noFailFast?: boolean;
  /** echo any close code without validating it; answer an empty close with code 1005 on the wire */
  noCloseCodeValidation?: boolean;
  /** ignore RSV bits */
  acceptRsv?: boolean;
  /** answer pings with a different payload */
  wrongPongPayload?: boolean;
  /** silently skip frames with reserved opcodes */
  acceptReservedOpcodes?: boolean;
}

class Utf8Stream {
  private need = 0;
  private lo = 0x80;
  private hi = 0xbf;
  /** Feed bytes; false as soon as an invalid byte is seen. */
  push(b: Uint8Array): boolean {
    for (const c of b) {
      if (this.need === 0) {
        if (c < 0x80) continue;
        if (c >= 0xc2 && c <= 0xdf) this.need = 1;
        else if (c >= 0xe0 && c <= 0xef) {
          this.need = 2;
          if (c === 0xe0) this.lo = 0xa0;
          if (c === 0xed) this.hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
          this.need = 3;
          if (c === 0xf0) this.lo = 0x90;
          if (c === 0xf4) this.hi = 0x8f;
        } else return false;
      } else {
        if (c < this.lo || c > this.hi) return false;
        this.lo = 0x80;
        this.hi = 0xbf;
        this.need--;
      }
    }
    return true;
  }
  get complete(): boolean {
    return this.need === 0;
  }
}

function frame(opcode: number, payload: Uint8Array): Buffer {
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x80 | opcode, n]) : n < 65536 ? Buffer.from([0x80 | opcode, 126, n >> 8, n & 0xff]) : Buffer.alloc(10);
  if (n >= 65536) {
    head[0] = 0x80 | opcode;
    head[1] = 127;
    head.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
    head.writeUInt32BE(n >>> 0, 6);
  }
  return Buffer.concat([head, payload]);
}

function validCloseCode(c: number): boolean {
  return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1011) || (c >= 3000 && c <= 4999);
}

function handleConnection(sock: Socket, bugs: Bugs): void {
  sock.setNoDelay(true);
  let buf = Buffer.alloc(0);
  let upgraded = false;
  let closing = false;
  // frame state
  let header: { fin: boolean; rsv: number; opcode: number; len: number; mask: Buffer } | null = null;
  let got = 0;
  let framePayload: Buffer[] = [];
  let msgOpcode = 0;
  let msgParts: Buffer[] | null = null;
  let utf8: Utf8Stream | null = null;

  const fail = (code: number) => {
    if (closing) return;
    closing = true;
    sock.write(frame(8, Buffer.from([code >> 8, code & 0xff])));
    sock.end();
  };

  const onFrameData = (chunk: Buffer) => {
    // streaming part of a data frame: fail fast on text
    if (!header || header.opcode >= 8) return true;
    if (utf8 && !bugs.skipUtf8 && !bugs.noFailFast && !utf8.push(chunk)) {
      fail(1007);
      return false;
    }
    return true;
  };

  const onFrameEnd = () => {
    const h = header!;
    const payload = Buffer.concat(framePayload);
    header = null;
    framePayload = [];
    got = 0;
    if (h.opcode === 8) {
      if (payload.length === 1) return fail(1002);
      let code: number | undefined;
      if (payload.length >= 2) {
        code = payload.readUInt16BE(0);
        if (!bugs.noCloseCodeValidation && !validCloseCode(code)) return fail(1002);
        const st = new Utf8Stream();
        if (!(st.push(payload.subarray(2)) && st.complete)) return fail(1007);
      }
      closing = true;
      if (code === undefined) sock.write(bugs.noCloseCodeValidation ? frame(8, Buffer.from([0x03, 0xed])) : frame(8, Buffer.alloc(0)));
      else sock.write(frame(8, Buffer.from([code >> 8, code & 0xff])));
      sock.end();
      return;
    }
    if (h.opcode === 9) {
      sock.write(frame(10, bugs.wrongPongPayload ? Buffer.concat([payload, Buffer.from("!")]) : payload));
      return;
    }
    if (h.opcode === 10) return;
    if (h.opcode === 0) msgParts!.push(payload);
    else msgParts = [payload];
    if (!h.fin) return;
    const whole = Buffer.concat(msgParts!);
    msgParts = null;
    if (msgOpcode === 1 && !bugs.skipUtf8) {
      if (bugs.noFailFast) {
        const st = new Utf8Stream();
        if (!(st.push(whole) && st.complete)) return fail(1007);
      } else if (!utf8!.complete) return fail(1007);
    }
    utf8 = null;
    sock.write(frame(msgOpcode, whole));
  };

  const parse = () => {
    for (;;) {
      if (closing) return;
      if (!header) {
        if (buf.length < 2) return;
        const fin = (buf[0] & 0x80) !== 0;
        const rsv = (buf[0] >> 4) & 7;
        const opcode = buf[0] & 0x0f;
        const masked = (buf[1] & 0x80) !== 0;
        let len = buf[1] & 0x7f;
        let pos = 2;
        if (len === 126) {
          if (buf.length < 4) return;
          len = buf.readUInt16BE(2);
          pos = 4;
        } else if (len === 127) {
          if (buf.length < 10) return;
          len = buf.readUInt32BE(2) * 2 ** 32 + buf.readUInt32BE(6);
          pos = 10;
        }
        if (buf.length < pos + 4) return;
        const mask = Buffer.from(buf.subarray(pos, pos + 4));
        buf = buf.subarray(pos + 4);
        if (!masked) return fail(1002);
        if (rsv !== 0 && !bugs.acceptRsv) return fail(1002);
        const reserved = (opcode >= 3 && opcode <= 7) || opcode >= 11;
        if (reserved && !bugs.acceptReservedOpcodes) return fail(1002);
        if (opcode >= 8 && (!fin || len > 125)) return fail(1002);
        if (opcode === 0 && !msgParts) return fail(1002);
        if ((opcode === 1 || opcode === 2) && msgParts) return fail(1002);
        if (opcode === 1 || opcode === 2) {
          msgOpcode = opcode;
          msgParts = [];
          utf8 = opcode === 1 ? new Utf8Stream() : null;
        }
        header = { fin, rsv, opcode: reserved ? -1 : opcode, len, mask };
        got = 0;
        framePayload = [];
      }
      const h = header;
      const take = Math.min(h.len - got, buf.length);
      if (take > 0) {
        const part = Buffer.from(buf.subarray(0, take));
        for (let i = 0; i < part.length; i++) part[i] ^= h.mask[(got + i) & 3];
        buf = buf.subarray(take);
        got += take;
        if (h.opcode !== -1) {
          framePayload.push(part);
          if (!onFrameData(part)) return;
        }
      }
      if (got < h.len) return;
      if (h.opcode === -1) {
        header = null;
        continue;
      }
      onFrameEnd();
    }
  };

  sock.on("data", (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    if (!upgraded) {
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = buf.subarray(0, end).toString("latin1");
      buf = buf.subarray(end + 4);
      const key = /sec-websocket-key:\s*(\S+)/i.exec(head)?.[1] ?? "";
      const accept = createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
      sock.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      upgraded = true;
    }
    parse();
  });
  sock.on("error", () => {});
}

export function startRawEchoServer(bugs: Bugs = {}): Promise<{ port: number; url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    handleConnection(s, bugs);
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const a = server.address();
      const port = typeof a === "object" && a ? a.port : 0;
      resolve({
        port,
        url: `ws://127.0.0.1:${port}/`,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}
