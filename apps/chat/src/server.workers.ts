/**
 * The chat server on Cloudflare Workers: the page at "/", the chat service in Durable Object rooms —
 * "/chat" is the room "chat" (the page's), "/chat/:room" any other — the same service module as
 * server.node.ts, unchanged. One room = one object (ChatRoom), on the WebSocket Hibernation API.
 *   pnpm start:workers          (locally on workerd through Miniflare; PORT, default 8080)
 *   wrangler deploy             (wrangler.toml)
 */
import { handler, WebSocketRoom } from "@ws/cloudflare";
import { CHAT_ROOM, chatService } from "./chat-service.ts";
import { pageHandler } from "./page.ts";

interface Env {
  CHAT_ROOMS: DurableObjectNamespace;
}

export class ChatRoom extends WebSocketRoom<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env, { service: chatService });
  }
}

export default {
  fetch: handler<Env>({
    rooms: { "/chat": { namespace: (env) => env.CHAT_ROOMS, defaultRoom: CHAT_ROOM } },
    fetch: pageHandler,
  }),
} satisfies ExportedHandler<Env>;
