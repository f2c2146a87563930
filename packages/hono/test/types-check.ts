/**
 * Compile-time checks (tsc -p tsconfig.json, the package's typecheck): the data upgradeWebSocket passes is typed by
 * the service, the callback's context by the app's Env, and what @hono/node-server's serve() returns is taken by
 * injectWebSocket without a cast. Nothing here runs.
 */
import { serve } from "@hono/node-server";
import { Hono, type Context } from "hono";
import { defineService } from "@ws/core";
import { upgradeWebSocket } from "../src/index.ts";
import { createNodeWebSocket } from "../src/node.ts";

interface User {
  name: string;
}
type AppEnv = { Variables: { user: User; count: number } };

const chat = defineService<User>({ connected: (conn) => void conn.send(conn.data.name) });
const app = new Hono<AppEnv>();

app.get("/ok", upgradeWebSocket((c: Context<AppEnv>) => ({ service: chat, data: c.get("user") })));
app.get("/refuse", upgradeWebSocket((c: Context<AppEnv>) => (c.get("count") > 3 ? new Response(null, { status: 429 }) : { service: chat, data: c.get("user") })));
app.get("/async", upgradeWebSocket(async (c: Context<AppEnv>) => ({ service: chat, data: c.get("user"), headers: { "x-a": "1" } })));
// @ts-expect-error data of the wrong shape for the service
app.get("/bad-data", upgradeWebSocket((c: Context<AppEnv>) => ({ service: chat, data: { name: c.get("count") } })));
// @ts-expect-error a variable the app's Env does not have
app.get("/bad-var", upgradeWebSocket((c: Context<AppEnv>) => ({ service: chat, data: c.get("nobody") })));
// @ts-expect-error headers are strings
app.get("/bad-headers", upgradeWebSocket(() => ({ service: chat, headers: { "x-n": 1 } })));

const { injectWebSocket } = createNodeWebSocket({ app });
export const ws = injectWebSocket(serve({ fetch: app.fetch, port: 0 })); // ServerType, no cast
