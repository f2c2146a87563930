/**
 * The echo server on Deno: the same service module as server.node.ts. Port from the first argument or PORT
 * (default 9001); ENGINE=core (default: @ws/core over Deno's sockets) or ENGINE=runtime (Deno.upgradeWebSocket).
 *   deno run -A src/server.deno.ts
 */
import { serve, silentLogger, type Engine } from "@ws/deno";
import { ECHO_MAX_FRAGMENTS, echoService } from "./echo-service.ts";
import { tlsFromEnv } from "./tls-env.ts";

const port = Number(Deno.args[0] ?? Deno.env.get("PORT") ?? 9001);
const engine = (Deno.env.get("ENGINE") ?? "core") as Engine;
const server = await serve({
  engine,
  port,
  // TLS_CERT, TLS_KEY (PEM file paths), HTTP2=1: wss:// and WebSockets over HTTP/2 on this port
  ...tlsFromEnv((name) => Deno.env.get(name)),
  hostname: Deno.env.get("HOST") ?? "127.0.0.1",
  services: { "/": echoService },
  ...(engine === "core" ? { maxFragments: ECHO_MAX_FRAGMENTS } : {}),
  // compression on, as the conformance suite's 12.* and 13.* cases need (the runtime engine has none on Deno)
  perMessageDeflate: { threshold: Number(Deno.env.get("WS_DEFLATE_THRESHOLD") ?? 0) },
  // the conformance suite sends bad input on purpose: keep the log quiet unless asked
  logger: Deno.env.get("WS_LOG") ? undefined : silentLogger,
});
console.log(`Listening on port ${server.port}`);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => void server.close({ timeout: 1000 }).then(() => Deno.exit(0)));
}
