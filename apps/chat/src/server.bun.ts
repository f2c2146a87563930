/**
 * The chat server on Bun: the page at "/", the chat service at "/chat" (the lobby) and "/chat/:room" — the same modules as server.node.ts.
 * PORT (default 8080); ENGINE=core (default) or ENGINE=runtime (Bun.serve's built-in WebSocket).
 *   bun --conditions=@ws/source src/server.bun.ts
 */
import { serve, type Engine } from "@ws/bun";
import { RedisBroker } from "@ws/redis";
import { createChatService, limitsFromEnv } from "./chat-service.ts";
import { pageHandler } from "./page.ts";
import { tlsFromEnv } from "./tls-env.ts";

const port = Number(process.env.PORT ?? process.argv[2] ?? 8080);
const engine = (process.env.ENGINE ?? "core") as Engine;
// REDIS_URL: share the rooms with every other chat server on the same Redis (any host, any runtime)
// CHAT_MESSAGES_PER_SECOND, CHAT_HISTORY_SIZE, …: the service's limits (apps/chat/README.md)
const chatService = createChatService(limitsFromEnv((name) => process.env[name]));
const redisUrl = process.env.REDIS_URL;
const broker = redisUrl ? new RedisBroker({ url: redisUrl }) : undefined;
const server = await serve({ engine, port, ...tlsFromEnv((name) => process.env[name]), services: { "/chat": chatService, "/chat/:room": chatService }, fetch: pageHandler, perMessageDeflate: true, broker });
console.log(`Listening on port ${server.port}${redisUrl ? ` (rooms shared through ${redisUrl})` : ""}`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void server.close().then(() => process.exit(0));
  });
}
