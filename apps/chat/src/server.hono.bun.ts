/** The chat's Hono app (hono-app.ts) on Bun. PORT (default 8080); ENGINE=core (default) or runtime. */
import { serve, type Engine } from "@ws/bun";
import { limitsFromEnv } from "./chat-service.ts";
import { createChatApp } from "./hono-app.ts";

const app = createChatApp(limitsFromEnv((name) => process.env[name]));
const engine = (process.env.ENGINE ?? "core") as Engine;
const server = await serve({ engine, port: Number(process.env.PORT ?? 8080), fetch: app.fetch, perMessageDeflate: true });
console.log(`Listening on port ${server.port}`);
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void server.close().then(() => process.exit(0)));
