/**
 * ByteStream.afterReads (send-queue.ts): a stream that offers it gets its write batch handed over once the reads
 * that were ready have all been delivered, not at the end of each read's callback, so the replies to the messages
 * of two reads that arrived together (a 4 × 16 KiB burst is a 64 KiB read and a 32-byte one on Node) leave in one
 * write. Counts writes, never times.
 */
import { describe, expect, it } from "vitest";
import { createUpgradeRequest, defineService, HeaderMap, silentLogger } from "../src/index.ts";
import { ServerCore, type ByteStream, type ByteStreamEvents } from "../src/adapter.ts";

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

function binaryFrame(size: number, fill: number, key = [0x0a, 0x0b, 0x0c, 0x0d]): Uint8Array {
  const head = size < 126 ? 2 : size < 65536 ? 4 : 10;
  const out = new Uint8Array(head + 4 + size);
  out[0] = 0x82;
  if (size < 126) out[1] = 0x80 | size;
  else {
    out[1] = 0x80 | 126;
    out[2] = size >> 8;
    out[3] = size & 0xff;
  }
  out.set(key, head);
  for (let i = 0; i < size; i++) out[head + 4 + i] = fill ^ key[i & 3]!;
  return out;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) out.set(c, o), (o += c.length);
  return out;
}

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
    const burst = concat([1, 2, 3, 4].map((fill) => binaryFrame(16 * 1024, fill)));
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
    // the four replies, in order
    for (let i = 0; i < 4; i++) {
      const at = i * (4 + 16 * 1024);
      expect([out[at], out[at + 1]]).toEqual([0x82, 126]);
      expect(out[at + 4]).toBe(i + 1);
      expect(out[at + 4 + 16 * 1024 - 1]).toBe(i + 1);
    }
    await core.close({ timeout: 10 });
  });

  it("without afterReads, each read's replies are written at the end of its own callback (as before)", async () => {
    const core = new ServerCore({ logger: silentLogger, services: { "/": defineService({ received: (m, conn) => void conn.send(m) }) } });
    const stream = new PhasedStream();
    (stream as { afterReads?: unknown }).afterReads = undefined;
    await open(core, stream);
    await tick();
    stream.writes = [];
    const burst = concat([1, 2, 3, 4].map((fill) => binaryFrame(16 * 1024, fill)));
    stream.events!.data(burst.slice(0, 65536));
    await tick();
    stream.events!.data(burst.slice(65536));
    await tick();
    expect(stream.writes.length).toBe(2);
    await core.close({ timeout: 10 });
  });
});
