/**
 * The chat server on Node: the page at "/", the chat service at "/chat" (the lobby) and "/chat/:room". PORT (default
 * 8080); TLS_CERT, TLS_KEY and HTTP2=1: https://, wss:// and WebSockets over HTTP/2 (./tls-env.ts).
 */
import { serve } from "@ws/node";
import { RedisBroker } from "@ws/redis";
import { createChatService, limitsFromEnv } from "./chat-service.ts";
import { pageHandler } from "./page.ts";
import { tlsFromEnv } from "./tls-env.ts";

const port = Number(process.env.PORT ?? process.argv[2] ?? 8080);
// REDIS_URL: share the rooms with every other chat server on the same Redis (any host, any runtime)
// CHAT_MESSAGES_PER_SECOND, CHAT_HISTORY_SIZE, …: the service's limits (apps/chat/README.md)
const chatService = createChatService(limitsFromEnv((name) => process.env[name]));
const redisUrl = process.env.REDIS_URL;
const broker = redisUrl ? new RedisBroker({ url: redisUrl }) : undefined;
const server = await serve({ port, ...tlsFromEnv((name) => process.env[name]), services: { "/chat": chatService, "/chat/:room": chatService }, fetch: pageHandler, perMessageDeflate: true, broker });
console.log(`Listening on port ${server.port}${redisUrl ? ` (rooms shared through ${redisUrl})` : ""}`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void server.close().then(() => process.exit(0));
  });
}
