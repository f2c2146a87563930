/**
 * @ws/deno under test, on the engine named by BENCH_ENGINE: "core" (@ws/core's protocol over Deno's sockets) or
 * "runtime" (Deno.upgradeWebSocket mapped onto the same Connection). Echo at "/", topics at
 * "/broadcast". Run with deno from the bench folder.
 */
declare const Deno: { env: { get(name: string): string | undefined } };
// everything from the adapter (it re-exports @ws/core), so there is one copy of the core
import { serve, silentLogger } from "../../packages/deno/src/index.ts";
import { benchServices } from "../src/services.ts";

const server = await serve({
  port: Number(Deno.env.get("PORT") ?? 0),
  hostname: "127.0.0.1",
  engine: Deno.env.get("BENCH_ENGINE") === "runtime" ? "runtime" : "core",
  services: benchServices,
  perMessageDeflate: Deno.env.get("BENCH_DEFLATE") === "1",
  logger: silentLogger,
  // the scale scenario opens more than the default 10,000
  ...(Deno.env.get("BENCH_MAX_CONNECTIONS") ? { maxConnections: Number(Deno.env.get("BENCH_MAX_CONNECTIONS")) } : {}),
} as Parameters<typeof serve>[0]);
console.log(`LISTENING ${server.port}`);
