/**
 * The echo service with Prometheus metrics and an error hook, on Node: WebSocket at "/", the metrics at
 * GET /metrics on the same port. Port from argv[2] or PORT (default 9002).
 *
 *   pnpm --filter @ws/echo-app build && node apps/echo/dist/metrics.node.js
 *   curl http://127.0.0.1:9002/metrics
 */
import { serve, silentLogger } from "@ws/node";
import { collectDefaultMetrics, Counter, Registry } from "prom-client";
import { echoService } from "./echo-service.ts";
import { promMetrics } from "./prom-metrics.ts";

const registry = new Registry();
collectDefaultMetrics({ register: registry });
const errors = new Counter({ name: "app_errors_total", help: "errors seen by onError, by kind", labelNames: ["kind"] as const, registers: [registry] });

const port = Number(process.argv[2] ?? process.env.PORT ?? 9002);
const server = await serve({
  port,
  host: process.env.HOST ?? "127.0.0.1",
  services: {
    "/": echoService,
    // a handler that fails, to show the error hook: "/fail" throws on every message
    "/fail": {
      received() {
        throw new Error("this handler always fails");
      },
      error(conn, error) {
        conn.send(`error: ${error.message}`);
      },
    },
  },
  metrics: promMetrics(registry),
  onError(error) {
    errors.inc({ kind: error.name === "ProtocolViolationError" ? "protocol" : "handler" });
  },
  async fetch(request) {
    if (new URL(request.url).pathname !== "/metrics") return new Response("not found", { status: 404 });
    return new Response(await registry.metrics(), { headers: { "content-type": registry.contentType } });
  },
  logger: process.env.WS_LOG ? undefined : silentLogger,
});
console.log(`Listening on port ${server.port}`);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void server.close({ timeout: 1000 }).then(() => process.exit(0)));
}
