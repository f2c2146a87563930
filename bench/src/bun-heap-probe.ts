/**
 * What an idle connection of the Bun core engine holds in JavaScriptCore's heap: starts runtime/bun-heap.ts
 * (the bench's @ws/bun server, which answers SIGWINCH with a full GC and `bun:jsc` heapStats), opens 100 warm
 * connections, then `connections` more (raw-socket handshakes from rotating loopback source addresses), and
 * prints heap bytes, objects and RSS per connection after a full GC, and the object types that grew:
 *
 *   node bench/dist/bun-heap-probe.js [connections=5000]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sleep } from "./proc.ts";
import { BENCH_DIR, ROOT_DIR } from "./servers.ts";

interface HeapReading {
  heapSize: number;
  objectCount: number;
  counts: Record<string, number>;
  rss: number;
}

const N = Number(process.argv[2] ?? 5000);
const out = join(mkdtempSync(join(tmpdir(), "bun-heap-")), "heap.json");
const child = spawn(join(ROOT_DIR, "node_modules/bun/bin/bun.exe"), ["--conditions=@ws/source", join(BENCH_DIR, "runtime/bun-heap.ts")], {
  stdio: ["ignore", "pipe", "inherit"],
  env: { ...process.env, PORT: "0", HEAP_OUT: out },
});
const port = await new Promise<number>((resolve) =>
  child.stdout.on("data", (d: Buffer) => {
    const m = /LISTENING (\d+)/.exec(String(d));
    if (m) resolve(Number(m[1]));
  }),
);
const REQUEST =
  "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

async function open(count: number, firstAddress: number): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  for (let i = 0; i < count; i += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, count - i) }, (_, j) =>
        new Promise<void>((resolve) => {
          const a = firstAddress + Math.floor((i + j) / 2000); // a new source address every 2,000 (bench/README)
          const s = net.connect({ port, host: "127.0.0.1", localAddress: `127.${(a >> 8) & 255}.${a & 255}.1` }, () => {
            sockets.push(s);
            s.write(REQUEST);
            s.once("data", () => resolve());
          });
          s.on("error", () => resolve());
        }),
      ),
    );
  }
  return sockets;
}

async function reading(): Promise<HeapReading> {
  child.kill("SIGWINCH");
  await sleep(1500);
  return JSON.parse(readFileSync(out, "utf8")) as HeapReading;
}

const first = 256 + Math.floor(Math.random() * 30_000);
const warm = await open(100, first);
await sleep(500);
const before = await reading();
const conns = await open(N, first + 1);
await sleep(500);
const after = await reading();
const n = conns.length;
console.log(
  JSON.stringify({
    connections: n,
    heapBytesPerConnection: Math.round((after.heapSize - before.heapSize) / n),
    objectsPerConnection: Number(((after.objectCount - before.objectCount) / n).toFixed(1)),
    rssBytesPerConnectionAfterGc: Math.round((after.rss - before.rss) / n),
  }),
);
const grown = Object.entries(after.counts)
  .map(([type, count]) => [type, (count - (before.counts[type] ?? 0)) / n] as const)
  .filter(([, d]) => Math.abs(d) >= 0.5)
  .sort((a, b) => b[1] - a[1]);
for (const [type, d] of grown) console.log(`${type.padEnd(32)} ${d.toFixed(2)} per connection`);
for (const s of [...warm, ...conns]) s.destroy();
child.kill();
process.exit(0);
