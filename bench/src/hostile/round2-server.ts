/**
 * The round-2 hostile server on Node (round2-services.ts), `serve()` with every default (the console logger
 * included: what refusals log is measured). PORT (default 0); prints "Listening on port N". Run with
 * --expose-gc so that /stats?gc=1 can collect first.
 */
import { serve, type Service, type UpgradeRequest } from "@ws/node";
import { round2Fetch, round2Resolve, round2Services } from "./round2-services.ts";

const server = await serve({
  port: Number(process.env.PORT ?? 0),
  host: "127.0.0.1",
  services: round2Services as unknown as Record<string, Service>,
  resolve: (req: UpgradeRequest) => round2Resolve(req) as Service | undefined,
  fetch: round2Fetch,
});
console.log(`Listening on port ${server.port}`);
process.once("SIGTERM", () => process.exit(0));
