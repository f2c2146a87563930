/**
 * Heap allocated per server-side handshake, by allocation site (issue 26): not a timing, so it holds on a
 * loaded machine.
 *
 *   node --expose-gc bench/dist/handshake-alloc.js [ours|ws] [handshakes=4000] [inFlight=64] [--top 25]
 *
 * One process: the server (`serve()` from @ws/node, or `ws`'s WebSocketServer on node:http, both answering at
 * "/") and a raw-TCP client that writes a fixed upgrade request and reads the 101. V8's sampling heap profiler
 * (every 64 bytes on average, objects collected by minor and major GCs included) records every allocation while
 * the handshakes run; a sample is the server's when no frame of its stack is this file's client code. Prints
 * the sampled bytes per handshake (server's; client's), and the top server allocation sites (function and file
 * of the innermost frame that is not a V8 builtin).
 */
import * as http from "node:http";
import * as net from "node:net";
import { Session } from "node:inspector/promises";
import { WebSocketServer } from "ws";
import { defineService, serve, silentLogger } from "@ws/node";

const args = process.argv.slice(2);
const topIndex = args.indexOf("--top");
const TOP = topIndex >= 0 ? Number(args[topIndex + 1]) : 25;
const positional = args.filter((a, i) => !a.startsWith("--") && !(topIndex >= 0 && i === topIndex + 1));
const [which = "ours", nArg, inFlightArg] = positional;
const N = Number(nArg ?? 4000);
const IN_FLIGHT = Number(inFlightArg ?? 64);

async function startServer(): Promise<{ port: number; close(): Promise<void> }> {
  if (which === "ws") {
    const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
    wss.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })));
    const server = http.createServer((_req, res) => res.writeHead(426).end());
    server.on("upgrade", (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req)));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return {
      port: (server.address() as net.AddressInfo).port,
      close: async () => {
        for (const c of wss.clients) c.terminate();
        await new Promise((resolve) => server.close(resolve));
      },
    };
  }
  const echo = defineService({ received: (message, conn) => void conn.send(message) });
  const server = await serve({ port: 0, host: "127.0.0.1", services: { "/": echo }, logger: silentLogger, maxConnections: 1_000_000 });
  return { port: server.port, close: () => server.close({ timeout: 100 }) };
}

const { port, close } = await startServer();
const REQUEST = Buffer.from(
  `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  "latin1",
);

/** The client: one raw handshake, resolved with the socket once the 101's head has arrived. */
function benchClientHandshake(): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => socket.write(REQUEST));
    socket.on("error", reject);
    socket.once("data", function benchClientData(chunk: Buffer) {
      if (chunk.indexOf("HTTP/1.1 101") !== 0) return reject(new Error(`refused: ${chunk.toString("latin1", 0, 40)}`));
      resolve(socket);
    });
  });
}

async function benchClientOpenMany(count: number): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      sockets.push(await benchClientHandshake());
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, count) }, worker));
  return sockets;
}

async function benchClientCloseAll(sockets: net.Socket[]): Promise<void> {
  await Promise.all(sockets.map((s) => new Promise<void>((resolve) => (s.once("close", () => resolve()), s.destroy()))));
}

// warm-up: compiled code paths, grown pools
await benchClientCloseAll(await benchClientOpenMany(Math.min(2000, N)));
await new Promise((r) => setTimeout(r, 300));
(globalThis as { gc?: () => void }).gc?.();

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  id: number;
  children: ProfileNode[];
}
interface Sample { size: number; nodeId: number }

const session = new Session();
session.connect();
await session.post("HeapProfiler.enable");
await session.post("HeapProfiler.startSampling", { samplingInterval: 64, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never);
const cpu0 = process.cpuUsage();
const sockets = await benchClientOpenMany(N);
const cpu = process.cpuUsage(cpu0);
const { profile } = (await session.post("HeapProfiler.stopSampling")) as unknown as { profile: { head: ProfileNode; samples: Sample[] } };
await benchClientCloseAll(sockets);
await close();
session.disconnect();

// per node: its stack (innermost last)
const stacks = new Map<number, ProfileNode[]>();
const walk = (node: ProfileNode, path: ProfileNode[]) => {
  const here = [...path, node];
  stacks.set(node.id, here);
  for (const c of node.children) walk(c, here);
};
walk(profile.head, []);

const short = (url: string) => url.replace(/^file:\/\/.*?\/(packages|node_modules)\//, "$1/").replace(/^.*\/node_modules\//, "");
let serverBytes = 0;
let clientBytes = 0;
const bySite = new Map<string, number>();
for (const sample of profile.samples) {
  const stack = stacks.get(sample.nodeId) ?? [];
  if (stack.some((n) => n.callFrame.functionName.startsWith("benchClient"))) {
    clientBytes += sample.size;
    continue;
  }
  serverBytes += sample.size;
  const site = [...stack].reverse().find((n) => n.callFrame.url !== "" || n.callFrame.functionName === "(root)") ?? stack[stack.length - 1];
  const key = site ? `${site.callFrame.functionName || "(anonymous)"} ${short(site.callFrame.url)}:${site.callFrame.lineNumber + 1}` : "(unknown)";
  bySite.set(key, (bySite.get(key) ?? 0) + sample.size);
}

console.log(
  JSON.stringify({
    server: which,
    handshakes: N,
    inFlight: IN_FLIGHT,
    serverBytesPerHandshake: Math.round(serverBytes / N),
    clientBytesPerHandshake: Math.round(clientBytes / N),
    processCpuMicrosPerHandshake: Math.round((cpu.user + cpu.system) / N),
  }),
);
for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, TOP)) {
  console.log(`${(bytes / N).toFixed(0).padStart(7)} B  ${site}`);
}
