/**
 * The chat server on Deno: the page at "/", the chat service at "/chat" (the lobby) and "/chat/:room" — the same modules as server.node.ts.
 * PORT (default 8080); ENGINE=core (default) or ENGINE=runtime (Deno.upgradeWebSocket).
 *   deno run -A src/server.deno.ts
 */
import { serve, type Engine } from "@ws/deno";
import { RedisBroker } from "@ws/redis";
import { createChatService, limitsFromEnv } from "./chat-service.ts";
import { pageHandler } from "./page.ts";
import { tlsFromEnv } from "./tls-env.ts";

const port = Number(Deno.env.get("PORT") ?? Deno.args[0] ?? 8080);
const engine = (Deno.env.get("ENGINE") ?? "core") as Engine;
// REDIS_URL: share the rooms with every other chat server on the same Redis (any host, any runtime)
// CHAT_MESSAGES_PER_SECOND, CHAT_HISTORY_SIZE, …: the service's limits (apps/chat/README.md)
const chatService = createChatService(limitsFromEnv((name) => Deno.env.get(name)));
const redisUrl = Deno.env.get("REDIS_URL");
const broker = redisUrl ? new RedisBroker({ url: redisUrl }) : undefined;
const server = await serve({ engine, port, ...tlsFromEnv((name) => Deno.env.get(name)), services: { "/chat": chatService, "/chat/:room": chatService }, fetch: pageHandler, perMessageDeflate: true, broker });
console.log(`Listening on port ${server.port}${redisUrl ? ` (rooms shared through ${redisUrl})` : ""}`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => {
    void server.close().then(() => Deno.exit(0));
  });
}
