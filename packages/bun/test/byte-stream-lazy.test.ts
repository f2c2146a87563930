/**
 * What a `BunSocketStream` makes only on first use (issue 26: an idle connection holds no list of its own): the list
 * of bytes that arrive before `start`, and the queue of what the kernel did not take. Each is used late — after the
 * stream has idled, and again after it has emptied once — and must still deliver everything, in order. Checked with
 * a stand-in for Bun's socket, as byte-stream-writev.test.ts does.
 */
import { describe, expect, it } from "vitest";
import type { Socket } from "bun";
import type { ByteStreamEvents } from "@ws/core/adapter";
import { BunSocketStream } from "../src/byte-stream.ts";

/** A socket whose kernel takes `room` bytes at a time until `fill()`; records what it took. */
function socketWithRoom() {
  const taken: number[] = [];
  let room = Infinity;
  const socket = {
    write(chunk: Uint8Array): number {
      const n = Math.min(room, chunk.byteLength);
      room -= n;
      for (const b of chunk.subarray(0, n)) taken.push(b);
      return n;
    },
    stall(bytes: number) {
      room = bytes;
    },
    open() {
      room = Infinity;
    },
    shutdown() {},
    terminate() {},
    pause() {},
    resume() {},
  };
  return { socket, taken };
}

function recorder(): { events: ByteStreamEvents; log: string[] } {
  const log: string[] = [];
  return {
    log,
    events: {
      data: (chunk) => void log.push(`data ${Array.from(chunk).join(",")}`),
      drain: () => void log.push("drain"),
      end: () => void log.push("end"),
      close: (error) => void log.push(`close ${error?.message ?? ""}`),
    },
  };
}

describe("BunSocketStream's lists, made on first use", () => {
  it("hands the bytes that arrived before start to the new owner, in order, then what follows", () => {
    const { socket } = socketWithRoom();
    const stream = new BunSocketStream(socket as unknown as Socket<unknown>);
    const { events, log } = recorder();
    stream.handleData(new Uint8Array([1]));
    stream.handleData(new Uint8Array([2, 3]));
    stream.start(events);
    stream.handleData(new Uint8Array([4]));
    expect(log).toEqual(["data 1", "data 2,3", "data 4"]);
    // a second owner gets only what comes after it
    const second = recorder();
    stream.start(second.events);
    stream.handleData(new Uint8Array([5]));
    expect(second.log).toEqual(["data 5"]);
  });

  it("a start with nothing early delivers nothing, and a close before start is kept for the owner", () => {
    const { socket } = socketWithRoom();
    const stream = new BunSocketStream(socket as unknown as Socket<unknown>);
    stream.handleClose(new Error("reset"));
    const { events, log } = recorder();
    stream.start(events);
    expect(log).toEqual(["close reset"]);
  });

  it("queues what the kernel does not take, writes it on drain in order, and does so again after the queue emptied", () => {
    const { socket, taken } = socketWithRoom();
    const stream = new BunSocketStream(socket as unknown as Socket<unknown>);
    const { events, log } = recorder();
    stream.start(events);
    expect(stream.write(new Uint8Array([1, 2]))).toBe(true); // idle: nothing queued
    for (const round of [0, 1]) {
      const base = 10 * (round + 1);
      socket.stall(1);
      expect(stream.write(new Uint8Array([base, base + 1, base + 2]))).toBe(false);
      expect(stream.write(new Uint8Array([base + 3]))).toBe(false); // behind what waits
      expect(stream.writev([new Uint8Array([base + 4]), new Uint8Array([base + 5])])).toBe(false);
      expect(stream.bufferedAmount).toBe(5);
      socket.open();
      stream.handleDrain();
      expect(stream.bufferedAmount).toBe(0);
    }
    expect(taken).toEqual([1, 2, 10, 11, 12, 13, 14, 15, 20, 21, 22, 23, 24, 25]);
    expect(log).toEqual(["drain", "drain"]);
  });

  it("drops what waits when destroyed or closed, and writes nothing more", () => {
    const { socket, taken } = socketWithRoom();
    const stream = new BunSocketStream(socket as unknown as Socket<unknown>, 10);
    stream.start(recorder().events);
    socket.stall(0);
    expect(stream.write(new Uint8Array([1, 2]))).toBe(false);
    stream.destroy();
    expect(stream.bufferedAmount).toBe(0);
    expect(stream.write(new Uint8Array([3]))).toBe(false);
    stream.handleClose();
    socket.open();
    stream.handleDrain();
    expect(taken).toEqual([]);
  });
});
