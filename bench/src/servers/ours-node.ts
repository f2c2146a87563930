/** @ws/node under test: echo at "/", a topic broadcast at "/broadcast". BENCH_DEFLATE=1 turns on permessage-deflate. */
import { serve, silentLogger } from "@ws/node";
import { benchServices } from "../services.ts";

const server = await serve({
  port: Number(process.env.PORT ?? 0),
  host: "127.0.0.1",
  services: benchServices,
  perMessageDeflate: process.env.BENCH_DEFLATE === "1",
  logger: silentLogger,
  // the scale scenario opens more than the default 10,000
  ...(process.env.BENCH_MAX_CONNECTIONS ? { maxConnections: Number(process.env.BENCH_MAX_CONNECTIONS) } : {}),
});
console.log(`LISTENING ${server.port}`);

// exit normally on SIGTERM (so that --cpu-prof writes its profile)
process.once("SIGTERM", () => process.exit(0));
