#!/usr/bin/env node
// Memory of idle connections on the Node server, with and without permessage-deflate, against `ws` with
// permessage-deflate (which keeps a zlib stream pair per connection). Each client sends one 1 KiB message and
// gets its echo (so compression state exists), then stays idle. Reported: server RSS delta / connections,
// after a forced GC. Usage: node scripts/measure-deflate-memory.mjs [connections=2000]
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, "packages/node/package.json"));
const WebSocket = require("ws");
const N = Number(process.argv[2] ?? 2000);

const serverCode = {
  ours: (deflate) => `
    import { serve, defineService, silentLogger } from "@ws/node";
    const echo = defineService({ received: (m, c) => void c.send(m) });
    const s = await serve({ host: "127.0.0.1", logger: silentLogger, services: { "/": echo }, perMessageDeflate: ${deflate ? "{ threshold: 0 }" : "false"},
      fetch: () => { globalThis.gc(); globalThis.gc(); return new Response(JSON.stringify(process.memoryUsage())); } });
    console.log("PORT " + s.port);`,
  ws: (deflate) => `
    import { createRequire } from "node:module";
    import * as http from "node:http";
    const require = createRequire(${JSON.stringify(join(root, "packages/node/package.json"))});
    const { WebSocketServer } = require("ws");
    const server = http.createServer((req, res) => { globalThis.gc(); globalThis.gc(); res.end(JSON.stringify(process.memoryUsage())); });
    const wss = new WebSocketServer({ server, perMessageDeflate: ${deflate ? "{ threshold: 0 }" : "false"} });
    wss.on("connection", (ws) => ws.on("message", (d, isBinary) => ws.send(d, { binary: isBinary })));
    server.listen(0, "127.0.0.1", () => console.log("PORT " + server.address().port));`,
};

async function measure(name, deflate) {
  const child = spawn(process.execPath, ["--expose-gc", "--input-type=module", "-e", serverCode[name](deflate)], { cwd: join(root, "packages/node"), stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise((resolve) => child.stdout.on("data", (d) => { const m = /PORT (\d+)/.exec(String(d)); if (m) resolve(Number(m[1])); }));
  let usage = {};
  const rss = async () => { usage = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.json()); return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))[1]) * 1024; };
  const before = await rss();
  const usageBefore = usage;
  const clients = [];
  const payload = JSON.stringify({ id: 1, items: Array.from({ length: 20 }, (_, i) => ({ i, name: `item-${i}`, ok: true })) }).slice(0, 1024);
  for (let i = 0; i < N; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, N - i) }, () => new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: deflate ? { threshold: 0 } : false });
      ws.once("open", () => ws.send(payload));
      ws.once("message", () => resolve());
      ws.once("error", reject);
      clients.push(ws);
    })));
  }
  await new Promise((r) => setTimeout(r, 500));
  const after = await rss();
  for (const ws of clients) ws.terminate();
  child.kill();
  const perConnection = Math.round((after - before) / N);
  const heap = Math.round((usage.heapUsed - usageBefore.heapUsed) / N);
  const external = Math.round((usage.external + usage.arrayBuffers - usageBefore.external - usageBefore.arrayBuffers) / N);
  console.log(`${name.padEnd(5)} permessage-deflate ${deflate ? "on " : "off"}: ${N} idle connections, ${(perConnection / 1024).toFixed(1)} KiB each (RSS ${(before / 2 ** 20).toFixed(1)} → ${(after / 2 ** 20).toFixed(1)} MiB; JS heap ${(heap / 1024).toFixed(1)} KiB, external ${(external / 1024).toFixed(1)} KiB each)`);
  return perConnection;
}

for (const [name, deflate] of [["ours", false], ["ours", true], ["ws", false], ["ws", true]]) await measure(name, deflate);
