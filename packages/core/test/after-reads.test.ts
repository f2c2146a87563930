/**
 * ByteStream.afterReads (send-queue.ts): a stream that offers it gets its write batch handed over once the reads
 * that were ready have all been delivered, not at the end of each read's callback, so the replies to the messages
 * of two reads that arrived together (a 4 × 16 KiB burst is a 64 KiB read and a 32-byte one on Node) leave in one
 * write. Counts writes, never times.
 */
import { describe, expect, it } from "vitest";
import { createUpgradeRequest, defineService, HeaderMap, silentLogger } from "../src/index.ts";
import { ServerCore, type ByteStream, type ByteStreamEvents } from "../src/adapter.ts";
import { cframe, decodeFrames } from "./support/frames.ts";
import { concatBytes } from "./support/memory-stream.ts";

/** A stream that writes nothing until its afterReads tasks are run by the test (the end of an I/O phase). */
class PhasedStream implements ByteStream {
  events: ByteStreamEvents | null = null;
  writes: Uint8Array[] = [];
  bufferedAmount = 0;
  tasks: Array<() => void> = [];
  readonly afterReads = (task: () => void): void => void this.tasks.push(task);
  start(events: ByteStreamEvents): void {
    this.events = events;
  }
  write(chunk: Uint8Array): boolean {
    this.writes.push(chunk.slice());
    return true;
  }
  end(): void {}
  destroy(): void {}
  /** the end of the I/O phase: runs what was scheduled */
  endPhase(): void {
    const tasks = this.tasks;
    this.tasks = [];
    for (const t of tasks) t();
  }
}

/** Four masked 16 KiB binary frames, each filled with its number (1–4): 65,568 bytes. */
const burst = concatBytes([1, 2, 3, 4].map((fill) => cframe({ opcode: 2, payload: new Uint8Array(16 * 1024).fill(fill) })));

async function open(core: ServerCore, stream: ByteStream): Promise<void> {
  const request = createUpgradeRequest({
    method: "GET",
    url: "/",
    httpVersion: "1.1",
    headers: new HeaderMap({ host: "x", upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" }),
  });
  const outcome = await core.negotiate(request, core.route(request));
  if (!outcome.ok) throw new Error("refused");
  outcome.accept(stream, undefined);
}

const tick = () => new Promise<void>((r) => setTimeout(r, 0));

describe("ByteStream.afterReads", () => {
  it("the replies to a burst split over two reads of one I/O phase leave in one write", async () => {
    const core = new ServerCore({ logger: silentLogger, services: { "/": defineService({ received: (m, conn) => void conn.send(m) }) } });
    const stream = new PhasedStream();
    await open(core, stream);
    stream.endPhase(); // the 101
    await tick();
    stream.writes = [];
    // as Node reads it: 64 KiB (three frames and most of the fourth), then the last 32 bytes
    stream.events!.data(burst.slice(0, 65536));
    await tick(); // the read's callback and its microtasks are over
    stream.events!.data(burst.slice(65536));
    await tick();
    expect(stream.writes.length).toBe(0); // nothing before the phase ends
    stream.endPhase();
    expect(stream.writes.length).toBe(1);
    const out = stream.writes[0]!;
    expect(out.length).toBe(4 * (4 + 16 * 1024));
    // the four replies, in order: unmasked binary frames of 16 KiB, each its message's bytes
    const replies = decodeFrames(out);
    expect(replies.map((f) => [f.fin, f.opcode, f.masked, f.payload.length])).toEqual([1, 2, 3, 4].map(() => [true, 2, false, 16 * 1024]));
    replies.forEach((f, i) => expect(f.payload.every((b) => b === i + 1)).toBe(true));
    await core.close({ timeout: 10 });
  });

  it("without afterReads, each read's replies are written at the end of its own callback (as before)", async () => {
    const core = new ServerCore({ logger: silentLogger, services: { "/": defineService({ received: (m, conn) => void conn.send(m) }) } });
    const stream = new PhasedStream();
    (stream as { afterReads?: unknown }).afterReads = undefined;
    await open(core, stream);
    await tick();
    stream.writes = [];
    stream.events!.data(burst.slice(0, 65536));
    await tick();
    stream.events!.data(burst.slice(65536));
    await tick();
    expect(stream.writes.length).toBe(2);
    await core.close({ timeout: 10 });
  });
});
