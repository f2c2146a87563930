/** The chat's Hono app (hono-app.ts) on Deno. PORT (default 8080); ENGINE=core (default) or runtime. */
import { serve, type Engine } from "@ws/deno";
import { limitsFromEnv } from "./chat-service.ts";
import { createChatApp } from "./hono-app.ts";

const app = createChatApp(limitsFromEnv((name) => Deno.env.get(name)));
const engine = (Deno.env.get("ENGINE") ?? "core") as Engine;
const server = await serve({ engine, port: Number(Deno.env.get("PORT") ?? 8080), fetch: app.fetch, perMessageDeflate: true });
console.log(`Listening on port ${server.port}`);
for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, () => void server.close().then(() => Deno.exit(0)));
