/**
 * The core engine's per-message work in process, on Bun, without sockets: a ServerCore with the bench services,
 * N connections over BunSocketStreams on fake sockets (their writes counted and dropped), each fed chunks of K masked 32-byte
 * text frames as Bun's socket would hand them (a fresh buffer per read). Prints ns of CPU per message
 * (process.cpuUsage), writes per message and, with --heap, bytes allocated per message.
 *
 *   bun --conditions=@ws/source bench/runtime/bun-inproc.ts [small|broadcast] [--messages N]
 */
import { ServerCore, type ByteStreamEvents } from "../../packages/core/src/adapter.ts";
import { BunSocketStream } from "../../packages/bun/src/byte-stream.ts";
import { createUpgradeRequest, HeaderMap, silentLogger } from "../../packages/core/src/index.ts";
import { benchServices } from "../src/services.ts";

const scenario = process.argv[2] === "broadcast" ? "broadcast" : "small";
const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const MESSAGES = arg("--messages", 2_000_000);
const CONNS = scenario === "broadcast" ? arg("--receivers", 500) : 64;
const PER_READ = scenario === "broadcast" ? 4 : 8;
const SIZE = scenario === "broadcast" ? 64 : 32;

let writes = 0;
let written = 0;
/** Bun's socket as BunSocketStream uses it: every write taken whole (counted, dropped) */
const fakeSocket = {
  write(chunk: Uint8Array): number {
    writes++;
    written += chunk.byteLength;
    return chunk.byteLength;
  },
  shutdown() {},
  terminate() {},
  pause() {},
  resume() {},
  setKeepAlive() {},
};
class FakeStream extends BunSocketStream {
  events: ByteStreamEvents | null = null;
  constructor() {
    super(fakeSocket as never);
  }
  override start(events: ByteStreamEvents): void {
    this.events = events;
    super.start(events);
  }
}

function frame(text: string): Uint8Array {
  const payload = new TextEncoder().encode(text);
  const out = new Uint8Array(6 + payload.length);
  out[0] = 0x81;
  out[1] = 0x80 | payload.length;
  const mask = crypto.getRandomValues(new Uint8Array(4));
  out.set(mask, 2);
  for (let i = 0; i < payload.length; i++) out[6 + i] = payload[i]! ^ mask[i & 3]!;
  return out;
}
const text = "x".repeat(SIZE);
const one = frame(text);
const read = new Uint8Array(one.length * PER_READ);
for (let i = 0; i < PER_READ; i++) read.set(one, i * one.length);

const core = new ServerCore({ services: benchServices as never, logger: silentLogger, maxConnections: 100_000 } as never);
const streams: FakeStream[] = [];
for (let i = 0; i < CONNS; i++) {
  const request = createUpgradeRequest({
    method: "GET",
    url: scenario === "broadcast" ? "/broadcast" : "/",
    httpVersion: "1.1",
    headers: new HeaderMap({ host: "localhost", upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" }),
    remoteAddress: "127.0.0.1",
  });
  const outcome = await core.negotiate(request, core.route(request));
  if (!outcome.ok) throw new Error("refused");
  const s = new FakeStream();
  outcome.accept(s, undefined);
  streams.push(s);
}
await new Promise((r) => setTimeout(r, 10));

// one "event-loop turn" per read: the data callback, then the microtasks (as after a native callback)
async function run(messages: number): Promise<void> {
  const senders = scenario === "broadcast" ? [streams[0]!] : streams;
  let sent = 0;
  while (sent < messages) {
    for (const s of senders) {
      s.handleData(read.slice()); // a fresh buffer, as Bun's data callback
      sent += PER_READ;
    }
    await new Promise<void>((r) => setImmediate(r));
  }
}
await run(MESSAGES / 10); // warm-up
writes = 0;
written = 0;
Bun.gc(true);
const h0 = (globalThis as any).Bun ? (require("bun:jsc") as any).heapStats?.() : null;
const c0 = process.cpuUsage();
const t0 = Bun.nanoseconds();
await run(MESSAGES);
const c1 = process.cpuUsage(c0);
const wall = (Bun.nanoseconds() - t0) / MESSAGES;
const cpu = ((c1.user + c1.system) * 1000) / MESSAGES;
const deliveries = scenario === "broadcast" ? MESSAGES * (CONNS - 1) : MESSAGES;
console.log(JSON.stringify({ scenario, messages: MESSAGES, cpuNsPerMessage: Math.round(cpu), wallNsPerMessage: Math.round(wall), cpuNsPerDelivery: Math.round((cpu * MESSAGES) / deliveries), writesPerMessage: +(writes / MESSAGES).toFixed(3), bytesOut: written }));
process.exit(0);
