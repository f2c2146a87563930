/**
 * The echo server on Node. Port from argv[2] or PORT (default 9001); the service is at every path "/". TLS_CERT, TLS_KEY
 * and HTTP2=1: wss:// and WebSockets over HTTP/2 (./tls-env.ts). UPGRADE=fetch
 * serves it through serve()'s fetch handler (`info.upgrade`) instead of by path (the autobahn `node-fetch` target).
 */
import { serve, silentLogger, type FetchInfo } from "@ws/node";
import { ECHO_MAX_FRAGMENTS, echoService } from "./echo-service.ts";
import { tlsFromEnv } from "./tls-env.ts";

const port = Number(process.argv[2] ?? process.env.PORT ?? 9001);
const server = await serve({
  port,
  // TLS_CERT, TLS_KEY (PEM file paths), HTTP2=1: wss:// and WebSockets over HTTP/2 on this port
  ...tlsFromEnv((name) => process.env[name]),
  host: process.env.HOST ?? "127.0.0.1",
  // UPGRADE=fetch: the fetch-style path (the handler's info.upgrade), not a registered service
  ...(process.env.UPGRADE === "fetch" ? { fetch: (request: Request, info: FetchInfo) => info.upgrade(request, echoService) } : { services: { "/": echoService } }),
  maxFragments: ECHO_MAX_FRAGMENTS,
  // compression on, as the conformance suite's 12.* and 13.* cases need; every message is compressed
  // (WS_DEFLATE_THRESHOLD sets a size below which messages go uncompressed)
  perMessageDeflate: { threshold: Number(process.env.WS_DEFLATE_THRESHOLD ?? 0) },
  // the conformance suite sends bad input on purpose: keep the log quiet unless asked
  logger: process.env.WS_LOG ? undefined : silentLogger,
});
console.log(`Listening on port ${server.port}`);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void server.close({ timeout: 1000 }).then(() => process.exit(0)));
}
