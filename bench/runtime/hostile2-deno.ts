/**
 * The round-2 hostile server on Deno (bench/src/hostile/round2-services.ts): the core engine, every option at
 * its default (the console logger included). PORT (default 0); prints "Listening on port N". Run with
 * --v8-flags=--expose-gc so that /stats?gc=1 can collect first.
 */
declare const Deno: { env: { get(name: string): string | undefined }; addSignalListener(s: string, f: () => void): void; exit(code: number): never };
// everything from the adapter (it re-exports @ws/core), so there is one copy of the core
import { serve } from "../../packages/deno/src/index.ts";
import { round2Fetch, round2Resolve, round2Services } from "../src/hostile/round2-services.ts";

const server = await serve({
  port: Number(Deno.env.get("PORT") ?? 0),
  hostname: "127.0.0.1",
  services: round2Services,
  resolve: round2Resolve,
  fetch: round2Fetch,
} as unknown as Parameters<typeof serve>[0]);
console.log(`Listening on port ${server.port}`);
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
