/** A Node socket (net.Socket or tls.TLSSocket) as the core's ByteStream. */
import type { Duplex } from "node:stream";
import type { ByteStream, ByteStreamEvents } from "@ws/core";

type NodeSocket = Duplex & { setNoDelay?(noDelay?: boolean): unknown };

export function socketByteStream(socket: NodeSocket): ByteStream {
  let events: ByteStreamEvents | null = null;
  let lastError: Error | undefined;
  const wire = () => {
    socket.on("data", (chunk: Buffer) => {
      // a plain Uint8Array view: the core never sees Buffer's different slice() semantics
      events!.data(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    });
    socket.on("drain", () => events!.drain());
    socket.on("end", () => events!.end());
    socket.on("error", (error: Error) => {
      lastError = error;
    });
    socket.on("close", () => events!.close(lastError));
  };
  return {
    start(e) {
      const first = events === null;
      events = e;
      if (first) wire();
    },
    write(chunk) {
      return socket.write(chunk);
    },
    writev(chunks) {
      // cork/uncork: all frames of one event-loop turn leave in one writev system call
      socket.cork();
      let ok = true;
      for (const c of chunks) ok = socket.write(c);
      socket.uncork();
      return ok;
    },
    end() {
      socket.end();
    },
    destroy() {
      socket.destroy();
    },
    get bufferedAmount() {
      return socket.writableLength;
    },
    pause() {
      socket.pause();
    },
    resume() {
      socket.resume();
    },
    unrefTimer(timer) {
      (timer as { unref?: () => void }).unref?.();
    },
  };
}
