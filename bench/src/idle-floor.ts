/**
 * The floor of idle memory per connection on each runtime: what the runtime's own socket costs before any
 * WebSocket code runs. Starts one bare server at a time (runtime/floor/: a node:net server with one data
 * listener, node:http holding each upgraded socket after writing a 101, Bun.listen), opens 100 warm
 * connections, then 5,000 more from rotating loopback source addresses, each sending one upgrade request and
 * getting one reply, and prints the server's RSS growth per connection (/proc, median of 5 reads after 1.5 s,
 * as the idle scenario reads it):
 *
 *   node bench/dist/idle-floor.js [connections=5000]
 *
 * A WebSocket server on a runtime cannot hold an idle connection for less than its floor; what it holds above
 * the floor is its own.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import * as net from "node:net";
import { join } from "node:path";
import { median, rssBytes, sleep } from "./proc.ts";
import { BENCH_DIR, ROOT_DIR } from "./servers.ts";

const N = Number(process.argv[2] ?? 5000);
const REQUEST = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";

const bun = join(ROOT_DIR, "node_modules/bun/bin/bun.exe");
const deno = join(ROOT_DIR, "node_modules/deno/deno");
const floor = (file: string) => join(BENCH_DIR, "runtime/floor", file);
const cases: Array<{ label: string; cmd: string; args: string[] }> = [
  { label: "node: node:net, one data listener", cmd: process.execPath, args: [floor("net.mjs")] },
  { label: "node: node:http, upgraded socket held", cmd: process.execPath, args: [floor("http-upgrade.mjs")] },
  ...(existsSync(deno)
    ? [
        { label: "deno: node:net, one data listener", cmd: deno, args: ["run", "-A", floor("net.mjs")] },
        { label: "deno: node:http, upgraded socket held", cmd: deno, args: ["run", "-A", floor("http-upgrade.mjs")] },
      ]
    : []),
  ...(existsSync(bun)
    ? [
        { label: "bun: Bun.listen", cmd: bun, args: [floor("bun-listen.ts")] },
        { label: "bun: node:http, upgraded socket held", cmd: bun, args: [floor("http-upgrade.mjs")] },
      ]
    : []),
];

function openOne(port: number, localAddress: string): Promise<net.Socket | null> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1", localAddress }, () => {
      socket.write(REQUEST);
      socket.once("data", () => resolve(socket));
    });
    socket.on("error", () => resolve(null));
  });
}

async function openMany(port: number, count: number, firstAddress: number): Promise<net.Socket[]> {
  const out: net.Socket[] = [];
  for (let i = 0; i < count; i += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, count - i) }, (_, j) => {
        const a = firstAddress + Math.floor((i + j) / 2000); // a new source address every 2,000 (see README)
        return openOne(port, `127.${(a >> 8) & 255}.${a & 255}.1`);
      }),
    );
    for (const s of batch) if (s) out.push(s);
  }
  return out;
}

async function settled(pid: number): Promise<number> {
  await sleep(1500);
  const reads: number[] = [];
  for (let i = 0; i < 5; i++) {
    reads.push(rssBytes(pid) ?? NaN);
    await sleep(100);
  }
  return median(reads);
}

for (const c of cases) {
  const child = spawn(c.cmd, c.args, { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => {
      const m = /LISTENING (\d+)/.exec(String(d));
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", () => reject(new Error(`${c.label}: the server exited`)));
  });
  const first = 256 + Math.floor(Math.random() * 30_000);
  const warm = await openMany(port, 100, first);
  const before = await settled(child.pid!);
  const conns = await openMany(port, N, first + 1);
  const after = await settled(child.pid!);
  console.log(JSON.stringify({ floor: c.label, connections: conns.length, rssBytesPerConnection: Math.round((after - before) / conns.length) }));
  for (const s of [...warm, ...conns]) s.destroy();
  child.kill();
  await new Promise((resolve) => child.once("exit", resolve));
}
