/** The chat's Hono app (hono-app.ts) on Node. PORT (default 8080). */
import { serve } from "@ws/node";
import { limitsFromEnv } from "./chat-service.ts";
import { createChatApp } from "./hono-app.ts";

const app = createChatApp(limitsFromEnv((name) => process.env[name]));
const server = await serve({ port: Number(process.env.PORT ?? 8080), fetch: app.fetch, perMessageDeflate: true });
console.log(`Listening on port ${server.port}`);
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void server.close().then(() => process.exit(0)));
