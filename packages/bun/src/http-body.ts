/**
 * A request's message body as it arrives on the connection (RFC 9112 §6): a fixed `Content-Length`, or the
 * chunked transfer coding (§7.1) with its chunk-size lines, chunk data and trailer section. The decoder takes the
 * connection's bytes as they come and hands out the body's data; what follows the body is the next request.
 */

/** Longest chunk-size line (size, extensions) and the trailer section together, bytes; beyond: malformed. */
const MAX_CHUNK_LINE = 4 * 1024;
const MAX_TRAILER = 16 * 1024;

const Chunked = {
  /** reading a chunk-size line */
  Size: 0,
  /** reading chunk data (`remaining` bytes left) */
  Data: 1,
  /** the CRLF after chunk data */
  DataEnd: 2,
  /** the trailer section, up to its empty line */
  Trailer: 3,
} as const;
type Chunked = (typeof Chunked)[keyof typeof Chunked];

/** Decodes one request body; `feed` returns where the body ended in the bytes given, or -1 if it goes on. */
export class BodyDecoder {
  private remaining: number;
  private readonly chunked: boolean;
  private state: Chunked = Chunked.Size;
  /** the line being read (chunk size or trailer), as bytes seen so far */
  private lineLength = 0;
  private line = "";
  private sawCR = false;
  private trailerBytes = 0;
  done = false;

  /** `length`: the Content-Length, or -1 for the chunked coding */
  constructor(length: number) {
    this.chunked = length < 0;
    this.remaining = this.chunked ? 0 : length;
    if (length === 0) this.done = true;
  }

  /**
   * Feeds the connection's bytes: each piece of body data goes to `out` (a view of `bytes`). Returns the offset in
   * `bytes` where the body ended (what follows is the next request), or -1 when the body goes on. Throws an Error
   * on a malformed chunked body.
   */
  feed(bytes: Uint8Array, out: (data: Uint8Array) => void): number {
    let at = 0;
    while (at < bytes.length && !this.done) {
      if (!this.chunked || this.state === Chunked.Data) {
        const take = Math.min(this.remaining, bytes.length - at);
        if (take > 0) out(bytes.subarray(at, at + take));
        at += take;
        this.remaining -= take;
        if (this.remaining === 0) {
          if (this.chunked) this.state = Chunked.DataEnd;
          else this.done = true;
        }
        continue;
      }
      // a line: chunk size, the CRLF after data, or a trailer field; CRLF only (a bare LF is malformed)
      const byte = bytes[at++]!;
      if (this.sawCR) {
        if (byte !== 0x0a) throw new Error("malformed chunked body: CR without LF");
        this.sawCR = false;
        this.endLine();
        continue;
      }
      if (byte === 0x0d) {
        this.sawCR = true;
        continue;
      }
      if (byte === 0x0a) throw new Error("malformed chunked body: bare LF");
      if (this.state === Chunked.DataEnd) throw new Error("malformed chunked body: no CRLF after chunk data");
      if (this.state === Chunked.Size) {
        if (++this.lineLength > MAX_CHUNK_LINE) throw new Error("malformed chunked body: chunk-size line too long");
        // only the size is kept: the extensions (after ";") are ignored (RFC 9112 §7.1.1)
        if (this.line.length < 14 && !this.line.includes(";")) this.line += String.fromCharCode(byte);
        else if (byte === 0x3b) this.line += ";";
      } else {
        if (++this.trailerBytes > MAX_TRAILER) throw new Error("malformed chunked body: trailer section too long");
        this.lineLength++;
      }
    }
    return this.done ? at : -1;
  }

  private endLine(): void {
    switch (this.state) {
      case Chunked.DataEnd:
        this.state = Chunked.Size;
        return;
      case Chunked.Size: {
        const size = this.line.split(";")[0]!.trim();
        if (!/^[0-9a-fA-F]{1,13}$/.test(size)) throw new Error("malformed chunked body: bad chunk size");
        this.remaining = parseInt(size, 16);
        this.line = "";
        this.lineLength = 0;
        this.state = this.remaining === 0 ? Chunked.Trailer : Chunked.Data;
        return;
      }
      case Chunked.Trailer:
        // the empty line ends the message; trailer fields are read and dropped
        if (this.lineLength === 0) this.done = true;
        this.lineLength = 0;
        return;
      default:
        return;
    }
  }
}
