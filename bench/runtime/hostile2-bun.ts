/**
 * The round-2 hostile server on Bun (bench/src/hostile/round2-services.ts): the core engine over Bun's own
 * sockets, every option at its default (the console logger included). PORT (default 0); prints
 * "Listening on port N". Run with bun from the repository root, --conditions=@ws/source.
 */
// everything from the adapter (it re-exports @ws/core), so there is one copy of the core
import { serve } from "../../packages/bun/src/index.ts";
import { round2Fetch, round2Resolve, round2Services } from "../src/hostile/round2-services.ts";

const server = await serve({
  port: Number(process.env.PORT ?? 0),
  hostname: "127.0.0.1",
  services: round2Services,
  resolve: round2Resolve,
  fetch: round2Fetch,
} as unknown as Parameters<typeof serve>[0]);
console.log(`Listening on port ${server.port}`);
process.once("SIGTERM", () => process.exit(0));
