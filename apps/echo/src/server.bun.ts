/**
 * The echo server on Bun: the same service module as server.node.ts. Port from argv[2] or PORT (default 9001);
 * ENGINE=core (default: @ws/core over Bun's sockets) or ENGINE=runtime (Bun.serve's built-in WebSocket). UPGRADE=fetch
 * serves it through serve()'s fetch handler (`info.upgrade`) instead of by path (the autobahn `bun-fetch` target).
 *   bun --conditions=@ws/source src/server.bun.ts
 */
import { serve, silentLogger, type Engine, type FetchInfo } from "@ws/bun";
import { ECHO_MAX_FRAGMENTS, echoService } from "./echo-service.ts";
import { tlsFromEnv } from "./tls-env.ts";

const port = Number(process.argv[2] ?? process.env.PORT ?? 9001);
const engine = (process.env.ENGINE ?? "core") as Engine;
const server = await serve({
  engine,
  port,
  // TLS_CERT, TLS_KEY (PEM file paths), HTTP2=1: wss:// and WebSockets over HTTP/2 on this port
  ...tlsFromEnv((name) => process.env[name]),
  hostname: process.env.HOST ?? "127.0.0.1",
  // UPGRADE=fetch: the fetch-style path (the handler's info.upgrade), not a registered service
  ...(process.env.UPGRADE === "fetch" ? { fetch: (request: Request, info: FetchInfo) => info.upgrade(request, echoService) } : { services: { "/": echoService } }),
  ...(engine === "core" ? { maxFragments: ECHO_MAX_FRAGMENTS } : {}),
  // compression on, as the conformance suite's 12.* and 13.* cases need (the runtime engine uses Bun's own)
  perMessageDeflate: { threshold: Number(process.env.WS_DEFLATE_THRESHOLD ?? 0) },
  // the conformance suite sends bad input on purpose: keep the log quiet unless asked
  logger: process.env.WS_LOG ? undefined : silentLogger,
});
console.log(`Listening on port ${server.port}`);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void server.close({ timeout: 1000 }).then(() => process.exit(0)));
}
