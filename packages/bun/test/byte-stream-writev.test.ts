/**
 * Issue 21 #3 on Bun's own sockets: `BunSocketStream.writev` copies a turn's small buffers together for one
 * system call, but what the kernel does not take waits as the original buffers, not as the copy, so a broadcast
 * frame queued for many slow receivers stays one buffer in memory. Checked with a stand-in for Bun's socket
 * (the stream's logic is plain TypeScript; Bun's `socket.write` returns how many bytes the kernel took).
 */
import { describe, expect, it } from "vitest";
import type { Socket } from "bun";
import { BunSocketStream } from "../src/byte-stream.ts";

/** A socket whose kernel takes `room` bytes, then nothing until `open()`; records each buffer written. */
function stallingSocket(room: number) {
  const writes: Uint8Array[] = [];
  let left = room;
  const socket = {
    write(chunk: Uint8Array): number {
      writes.push(chunk);
      const n = Math.min(left, chunk.byteLength);
      left -= n;
      return n;
    },
    open() {
      left = Infinity;
    },
    shutdown() {},
    terminate() {},
    pause() {},
    resume() {},
  };
  return { socket, writes };
}

describe("BunSocketStream.writev keeps shared frames shared", () => {
  it("what the kernel did not take of a joined write waits as the original buffers, and is written from them", () => {
    const { socket, writes } = stallingSocket(100);
    const stream = new BunSocketStream(socket as unknown as Socket<unknown>);
    const [a, b, c] = [new Uint8Array(300).fill(1), new Uint8Array(300).fill(2), new Uint8Array(300).fill(3)];
    expect(stream.writev([a, b, c])).toBe(false);
    expect(writes.length).toBe(1); // one system call for the three
    expect(stream.bufferedAmount).toBe(800);
    // later frames of a full socket queue as they are
    const d = new Uint8Array(300).fill(4);
    const e = new Uint8Array(300).fill(5);
    expect(stream.writev([d, e])).toBe(false);
    expect(writes.length).toBe(1);
    socket.open();
    stream.handleDrain();
    const drained = writes.slice(1);
    expect(drained[0]!.buffer).toBe(a.buffer); // the rest of `a`: a view of it
    expect(drained[0]!.byteLength).toBe(200);
    expect(drained.slice(1)).toEqual([b, c, d, e]);
    for (let i = 1; i < drained.length; i++) expect(drained[i]).toBe([b, c, d, e][i - 1]);
    expect(stream.bufferedAmount).toBe(0);
  });
});
