/** A Node socket (net.Socket or tls.TLSSocket) as the core's ByteStream. */
import type { Duplex } from "node:stream";
import type { ByteStream, ByteStreamEvents } from "@ws/core/adapter";

type NodeSocket = Duplex & { setNoDelay?(noDelay?: boolean): unknown };

/**
 * Frames for a Node socket are allocated as Buffers: its writes take them without a conversion.
 *
 * @internal
 */
export const allocateBuffer = (size: number): Uint8Array => Buffer.allocUnsafe(size);

/**
 * Received messages are assembled in memory that is not zero-filled first (every byte is written before the
 * message is handed out), of their own (not a slice of Buffer's shared pool, which a kept message would pin),
 * and seen as a plain Uint8Array (not a Buffer, whose slice() is a view).
 */
export const allocateMessage = (size: number): Uint8Array => {
  const b = Buffer.allocUnsafeSlow(size);
  return new Uint8Array(b.buffer, b.byteOffset, size);
};

/**
 * After the reads that are ready now: the event loop's check phase follows its poll phase, so every read of this
 * turn of the loop has been delivered when `task` runs (what ByteStream.afterReads asks for).
 */
const runAfterReads = (task: () => void): void => void setImmediate(task);

/** Where a socket's listeners (shared by all sockets) find the stream that wraps it. */
const STREAM = Symbol("SocketByteStream");

type WrappedSocket = NodeSocket & { [STREAM]: SocketByteStream };

// one set of listener functions for every socket: `this` is the socket (no closures per connection)
function onData(this: WrappedSocket, chunk: Buffer): void {
  // a plain Uint8Array view: the core never sees Buffer's different slice() semantics
  this[STREAM].events!.data(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
}
function onDrain(this: WrappedSocket): void {
  this[STREAM].events!.drain();
}
function onEnd(this: WrappedSocket): void {
  this[STREAM].events!.end();
}
function onError(this: WrappedSocket, error: Error): void {
  this[STREAM].lastError = error;
}
function onClose(this: WrappedSocket): void {
  const stream = this[STREAM];
  stream.events!.close(stream.lastError);
}

/**
 * One small object per connection with its methods on the prototype, and the socket's listeners shared by all
 * sockets (an idle connection's memory is mostly what it keeps alive).
 */
class SocketByteStream implements ByteStream {
  private readonly socket: NodeSocket;
  /** @internal read by the shared socket listeners */
  events: ByteStreamEvents | null = null;
  /** @internal the socket's last error, reported with its close */
  lastError: Error | undefined = undefined;

  constructor(socket: NodeSocket) {
    this.socket = socket;
  }

  /** on the prototype: no field per connection */
  get allocate(): (size: number) => Uint8Array {
    return allocateBuffer;
  }

  /** on the prototype: no field per connection */
  get allocateMessage(): (size: number) => Uint8Array {
    return allocateMessage;
  }

  /** on the prototype: no field per connection */
  get afterReads(): (task: () => void) => void {
    return runAfterReads;
  }

  start(events: ByteStreamEvents): void {
    const first = this.events === null;
    this.events = events;
    if (!first) return;
    const socket = this.socket as WrappedSocket;
    socket[STREAM] = this;
    socket.on("data", onData);
    socket.on("drain", onDrain);
    socket.on("end", onEnd);
    socket.on("error", onError);
    socket.on("close", onClose);
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

/**
 * A Node socket (`net.Socket`, `tls.TLSSocket`, or the socket of node:http's 'upgrade' event) as the core's ByteStream.
 *
 * @example
 * ```ts
 * import { once } from "node:events";
 * import * as net from "node:net";
 * import { connectOverStream } from "@ws/core/adapter";
 * import { socketByteStream } from "@ws/node";
 *
 * const socket = net.connect({ host: "127.0.0.1", port: 8080 });
 * await once(socket, "connect");
 * const conn = await connectOverStream(socketByteStream(socket), "ws://127.0.0.1:8080/echo");
 * await conn.send("hello");
 * ```
 */
export function socketByteStream(socket: NodeSocket): ByteStream {
  return new SocketByteStream(socket);
}
