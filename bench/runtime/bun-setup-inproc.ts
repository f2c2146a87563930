/**
 * The core engine's per-connection setup in process, on Bun, without sockets: a ServerCore with the bench
 * services; for each of N connections, the upgrade request's head parsed (parseHttpHead), the UpgradeRequest
 * made, negotiated and accepted over a BunSocketStream on a fake socket (its writes counted and dropped), as
 * native.ts does. Prints µs of CPU per connection set up (process.cpuUsage, GC included) and heap bytes per
 * connection kept open (after a full GC). SETUP_ROOT=DIR runs another checkout's sources (A/B).
 *
 *   bun bench/runtime/bun-setup-inproc.ts [connections=20000] [rounds=5]
 */
import { heapStats } from "bun:jsc";
import { resolve } from "node:path";

const root = resolve(process.env.SETUP_ROOT ?? resolve(import.meta.dir, "../.."));
const { ServerCore } = await import(`${root}/packages/core/src/adapter.ts`);
const { createUpgradeRequest, silentLogger } = await import(`${root}/packages/core/src/index.ts`);
const { parseHttpHead } = await import(`${root}/packages/core/src/protocol.ts`);
const { BunSocketStream } = await import(`${root}/packages/bun/src/byte-stream.ts`);
const { bunAcceptKey } = await import(`${root}/packages/bun/src/native.ts`);
const { benchServices } = await import(`${root}/bench/src/services.ts`);

const N = Number(process.argv[2] ?? 20000);
const ROUNDS = Number(process.argv[3] ?? 5);
const HEAD = new TextEncoder().encode(
  "GET / HTTP/1.1\r\nHost: 127.0.0.1:40000\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
);

class FakeSocket {
  remoteAddress = "127.0.0.1";
  remotePort = 40000;
  write(chunk: Uint8Array): number {
    return chunk.byteLength;
  }
  end() {}
  shutdown() {}
  terminate() {}
  pause() {}
  resume() {}
  setKeepAlive() {}
}

const core = new ServerCore({ services: benchServices, logger: silentLogger, maxConnections: 1_000_000 }, { acceptKey: bunAcceptKey });

function setUp(keep: unknown[]): void {
  const socket = new FakeSocket();
  const bytes = HEAD.slice();
  const head = parseHttpHead(bytes);
  const stream = new BunSocketStream(socket, 5000);
  const request = createUpgradeRequest({
    method: head.startLine[0],
    url: head.startLine[1],
    httpVersion: "1.1",
    headers: head.headers,
    remoteAddress: socket.remoteAddress,
    remotePort: socket.remotePort,
  });
  const outcome = core.negotiateNow(request, core.route(request));
  if (!outcome.ok) throw new Error(`refused: ${outcome.status}`);
  keep.push(outcome.accept(stream, undefined), stream);
}

const cpu: number[] = [];
const heap: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const keep: unknown[] = [];
  Bun.gc(true);
  const before = heapStats().heapSize;
  const t0 = process.cpuUsage();
  for (let i = 0; i < N; i++) setUp(keep);
  const t = process.cpuUsage(t0);
  Bun.gc(true);
  const after = heapStats().heapSize;
  cpu.push((t.user + t.system) / N);
  heap.push((after - before) / N);
  for (let i = 0; i < keep.length; i += 2) (keep[i] as { drop(): void }).drop();
  await new Promise((r) => setTimeout(r, 50));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
console.log(JSON.stringify({ root, connections: N, rounds: ROUNDS, cpuMicrosPerSetup: Number(median(cpu).toFixed(2)), heapBytesPerConnection: Math.round(median(heap)), all: cpu.map((c) => Number(c.toFixed(2))) }));
process.exit(0);
