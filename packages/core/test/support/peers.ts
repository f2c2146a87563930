/** Connections over the memory stream pair, and a raw peer that speaks bytes. */
import { Connection, createUpgradeRequest, HeaderMap, silentLogger, type LogContext, type UpgradeRequest } from "../../src/index.ts";
import { type ConnectionOptions } from "../../src/adapter.ts";
import { decodeFrames, type DecodedFrame } from "./frames.ts";
import { memoryPair, type MemoryStream, type MemoryStreamOptions } from "./memory-stream.ts";

export const request: UpgradeRequest = createUpgradeRequest({ method: "GET", url: "/test", httpVersion: "1.1", headers: new HeaderMap({ host: "localhost" }) });

export type Options = Partial<Omit<ConnectionOptions, "role" | "request">>;

/** A server Connection and a client Connection joined by a memory stream pair. */
export function connectionPair(server: Options = {}, client: Options = {}, stream: MemoryStreamOptions = {}) {
  const [a, b] = memoryPair(stream);
  const s = Connection.overStream(a, { role: "server", request, logger: silentLogger, ...server });
  const c = Connection.overStream(b, { role: "client", request, logger: silentLogger, ...client });
  return { a, b, server: s, client: c };
}

/** A raw peer on the far end of a stream: records the bytes it gets, sends whatever bytes it is given. */
export class RawPeer {
  readonly stream: MemoryStream;
  ended = false;
  closed = false;
  /**
   * `autoEnd`: answer EOF with EOF, as a socket without half-open support does (Node's default); without it
   * the peer keeps its side open after the other side ended.
   */
  constructor(stream: MemoryStream, autoEnd = true) {
    this.stream = stream;
    stream.start({
      data: () => {},
      drain: () => {},
      end: () => {
        this.ended = true;
        if (autoEnd) stream.end();
      },
      close: () => (this.closed = true),
    });
  }
  send(...frames: Uint8Array[]): void {
    for (const f of frames) this.stream.write(f);
  }
  /** The frames received so far (decoded, unmasked). */
  frames(): DecodedFrame[] {
    return decodeFrames(this.stream.received());
  }
  bytes(): Uint8Array {
    return this.stream.received();
  }
}

/** A Connection in the given role with a raw peer on the other end. */
export function withRawPeer(role: "server" | "client" = "server", options: Options = {}, stream: MemoryStreamOptions & { autoEnd?: boolean } = {}) {
  const [a, b] = memoryPair(stream);
  const conn = Connection.overStream(a, { role, request, logger: silentLogger, ...options });
  const peer = new RawPeer(b, stream.autoEnd ?? true);
  return { a, b, conn, peer };
}

/** A logger that records what it is given: level, message, context (pino-style calls: context first). */
export function recordingLogger() {
  const lines: Array<[string, string, LogContext]> = [];
  return {
    lines,
    logger: {
      info: (c: LogContext, m: string) => void lines.push(["info", m, c]),
      warn: (c: LogContext, m: string) => void lines.push(["warn", m, c]),
      error: (c: LogContext, m: string) => void lines.push(["error", m, c]),
    },
  };
}
