/** @ws/node under test: echo at "/", a topic broadcast at "/broadcast". BENCH_DEFLATE=1 turns on permessage-deflate. */
import { defineService, serve, silentLogger } from "@ws/node";

const echo = defineService({
  received(message, conn) {
    void conn.send(message);
  },
});

const broadcast = defineService({
  connected(conn) {
    conn.subscribe("bench");
  },
  received(message, conn) {
    conn.publish("bench", message);
  },
});

const server = await serve({
  port: Number(process.env.PORT ?? 0),
  host: "127.0.0.1",
  services: { "/": echo, "/broadcast": broadcast },
  perMessageDeflate: process.env.BENCH_DEFLATE === "1",
  logger: silentLogger,
});
console.log(`LISTENING ${server.port}`);

// exit normally on SIGTERM (so that --cpu-prof writes its profile)
process.once("SIGTERM", () => process.exit(0));
