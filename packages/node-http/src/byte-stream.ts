/** A Node socket (net.Socket or tls.TLSSocket) as the core's ByteStream. */
import type { Duplex } from "node:stream";
import type { ByteStream, ByteStreamEvents } from "@ws/core/adapter";

type NodeSocket = Duplex & { setNoDelay?(noDelay?: boolean): unknown };

/** Frames for a Node socket are allocated as Buffers: its writes take them without a conversion. */
export const allocateBuffer = (size: number): Uint8Array => Buffer.allocUnsafe(size);

/**
 * One small object per connection with its methods on the prototype, and the socket's listeners bound once
 * (an idle connection's memory is mostly what it keeps alive).
 */
class SocketByteStream implements ByteStream {
  private readonly socket: NodeSocket;
  private events: ByteStreamEvents | null = null;
  private lastError: Error | undefined = undefined;

  constructor(socket: NodeSocket) {
    this.socket = socket;
  }

  /** on the prototype: no field per connection */
  get allocate(): (size: number) => Uint8Array {
    return allocateBuffer;
  }

  start(events: ByteStreamEvents): void {
    const first = this.events === null;
    this.events = events;
    if (!first) return;
    const socket = this.socket;
    socket.on("data", (chunk: Buffer) => {
      // a plain Uint8Array view: the core never sees Buffer's different slice() semantics
      this.events!.data(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    });
    socket.on("drain", () => this.events!.drain());
    socket.on("end", () => this.events!.end());
    socket.on("error", (error: Error) => {
      this.lastError = error;
    });
    socket.on("close", () => this.events!.close(this.lastError));
  }

  write(chunk: Uint8Array): boolean {
    return this.socket.write(chunk);
  }

  writev(chunks: Uint8Array[]): boolean {
    // cork/uncork: all frames of one event-loop turn leave in one writev system call
    const socket = this.socket;
    socket.cork();
    let ok = true;
    for (const c of chunks) ok = socket.write(c);
    socket.uncork();
    return ok;
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  get bufferedAmount(): number {
    return this.socket.writableLength;
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  unrefTimer(timer: unknown): void {
    (timer as { unref?: () => void }).unref?.();
  }
}

export function socketByteStream(socket: NodeSocket): ByteStream {
  return new SocketByteStream(socket);
}
