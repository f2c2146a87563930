/**
 * @ws/bun under test, on the engine named by BENCH_ENGINE: "core" (@ws/core's protocol over Bun's native sockets,
 * or over Bun's node:http with BENCH_SOCKETS=node:http) or "runtime" (Bun.serve's built-in WebSocket mapped onto
 * the same Connection). Echo at "/", topics at
 * "/broadcast". Run with bun from the bench folder.
 */
// everything from the adapter (it re-exports @ws/core), so there is one copy of the core
import { serve, silentLogger } from "../../packages/bun/src/index.ts";
import { benchServices } from "../src/services.ts";

const server = await serve({
  port: Number(process.env.PORT ?? 0),
  hostname: "127.0.0.1",
  engine: process.env.BENCH_ENGINE === "runtime" ? "runtime" : "core",
  // the core engine's sockets: Bun's own (default) or Bun's node:http (BENCH_SOCKETS=node:http)
  sockets: process.env.BENCH_SOCKETS === "node:http" ? "node:http" : "bun",
  services: benchServices,
  perMessageDeflate: process.env.BENCH_DEFLATE === "1",
  logger: silentLogger,
  // the scale scenario opens more than the default 10,000
  ...(process.env.BENCH_MAX_CONNECTIONS ? { maxConnections: Number(process.env.BENCH_MAX_CONNECTIONS) } : {}),
} as Parameters<typeof serve>[0]);
console.log(`LISTENING ${server.port}`);
