/**
 * The chat as one Hono app module: the page at "/", the chat service at "/chat" (the lobby) and "/chat/:room",
 * upgraded by `upgradeWebSocket` from @ws/hono. No runtime import: the Node, Bun and Deno entries
 * (server.hono.node.ts, server.hono.bun.ts, server.hono.deno.ts) serve this very module with their adapter's
 * `serve({ fetch: app.fetch })`; on Workers (server.hono.workers.ts) each room's Durable Object serves it with the
 * room's own service, and the Worker routes "/chat…" to the rooms (a Worker's WebSockets cannot share topics).
 */
import { Hono } from "hono";
import type { Service } from "@ws/core";
import { upgradeWebSocket } from "@ws/hono";
import { LOBBY } from "./chat-protocol.ts";
import { createChatService, type ChatMember, type ChatServiceOptions } from "./chat-service.ts";
import { pageHandler } from "./page.ts";

/**
 * The room of an upgrade request from its path: "/chat/:room", or the lobby for "/chat". (The fetch-style upgrade
 * has no route params of the server's router: the Hono app did the routing.)
 */
export function roomOfPath(url: string): string {
  const path = new URL(url, "http://room").pathname.split("/").filter(Boolean);
  try {
    return path.length > 1 ? decodeURIComponent(path[path.length - 1]!) : LOBBY;
  } catch {
    return ""; // refused by the service (not a room's name)
  }
}

export interface ChatAppOptions extends ChatServiceOptions {
  /** the chat service to upgrade to (a Durable Object room passes its own); default: one made with the other options */
  service?: Service<ChatMember>;
}

/** The chat's Hono app. */
export function createChatApp(options: ChatAppOptions = {}): Hono {
  const { service: given, ...serviceOptions } = options;
  const service = given ?? createChatService({ roomOf: (request) => roomOfPath(request.url), ...serviceOptions });
  const chat = upgradeWebSocket(service);
  const app = new Hono();
  app.get("/", (c) => pageHandler(c.req.raw));
  app.get("/index.html", (c) => pageHandler(c.req.raw));
  app.get("/chat", chat);
  app.get("/chat/:room", chat);
  app.notFound((c) => pageHandler(c.req.raw)); // its 404, as the other entries answer
  return app;
}
