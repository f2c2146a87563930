// Redis stall: a publishing @ws/node server with a RedisBroker; Redis SIGSTOPped for 20 s while the server publishes
// 4 KiB messages at 20 MiB/s (as fast as a busy chat would not, but bounded); RSS growth and broker stats.
// usage (from a checkout, after `pnpm turbo run build --filter @ws/redis --filter @ws/node`):
//   node --expose-gc bench/redis-stall.mjs            (ROOT=<another checkout> to measure that one)
// Needs redis-server on PATH (Debian: apt-get install redis-server).
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
const root = process.env.ROOT ?? new URL("..", import.meta.url).pathname;
const { serve, defineService } = await import(join(root, "packages/node/dist/index.js"));
const { RedisBroker } = await import(join(root, "packages/redis/dist/index.js"));
const port = 26000 + Math.floor(Math.random() * 1000);
const dir = mkdtempSync(join(tmpdir(), "rstall-"));
const redis = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], { stdio: "ignore" });
await new Promise((r) => setTimeout(r, 500));
const broker = new RedisBroker({ url: `redis://127.0.0.1:${port}` });
const server = await serve({ port: 0, hostname: "127.0.0.1", services: { "/x": defineService({ received() {} }) }, broker, logger: { debug() {}, info() {}, warn() {}, error() {} } });
await broker.ready?.();
global.gc?.();
const mib = () => Math.round(process.memoryUsage().rss / 1048576);
const before = mib();
let peak = before, sent = 0;
redis.kill("SIGSTOP");
const msg = "x".repeat(4096);
const end = Date.now() + 20_000;
while (Date.now() < end) {
  for (let i = 0; i < 512; i++) { try { server.publish("t", msg); sent++; } catch {} }
  peak = Math.max(peak, mib());
  await new Promise((r) => setTimeout(r, 100)); // 512 × 4 KiB per 100 ms = 20 MiB/s
}
const stats = broker.stats ?? {};
console.log(JSON.stringify({ root, rssBefore: before, peakRss: peak, growth: peak - before, published: sent, stats }));
redis.kill("SIGCONT");
redis.kill("SIGKILL");
process.exit(0);
