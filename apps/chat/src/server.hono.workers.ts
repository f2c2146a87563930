/**
 * The chat's Hono app (hono-app.ts) on Cloudflare Workers: the Worker routes "/chat" and "/chat/:room" to the
 * room's Durable Object (handler's `rooms`), whose upgrades the same Hono app decides (`onUpgrade` hands the
 * request to it) with the room's own service; the page comes from the same app. What differs from Node, Bun and
 * Deno is that hop: a Worker's WebSocket can only be used by the request that accepted it, so a room (its topics,
 * its online list, its history) has to live in one Durable Object.
 */
import { handler, WebSocketRoom, type FetchInfo } from "@ws/cloudflare";
import type { Hono } from "hono";
import { LOBBY } from "./chat-protocol.ts";
import { createChatService } from "./chat-service.ts";
import { createChatApp, roomOfPath } from "./hono-app.ts";
import { StorageHistory } from "./server.workers.ts";

interface Env {
  CHAT_ROOMS: DurableObjectNamespace;
}

export class ChatRoom extends WebSocketRoom<Env> {
  private readonly app: Hono;

  constructor(ctx: DurableObjectState, env: Env) {
    const self: { room?: ChatRoom } = {};
    const service = createChatService({
      history: new StorageHistory(ctx.storage),
      members: () => self.room?.server.connections ?? [],
      roomOf: (request) => roomOfPath(request.url),
    });
    super(ctx, env, { service });
    self.room = this;
    this.app = createChatApp({ service });
  }

  protected override onUpgrade(request: Request, info: FetchInfo): Response | Promise<Response> {
    return this.app.fetch(request, info);
  }
}

export default {
  fetch: handler<Env>({
    rooms: { "/chat": { namespace: (env) => env.CHAT_ROOMS, defaultRoom: LOBBY } },
    fetch: createChatApp().fetch,
  }),
} satisfies ExportedHandler<Env>;
