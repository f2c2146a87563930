/**
 * The chat server on Cloudflare Workers: the page at "/", the chat service in Durable Object rooms —
 * "/chat" is the room "lobby" (the page's default), "/chat/:room" any other — the same service module as
 * server.node.ts. One room = one object (ChatRoom), on the WebSocket Hibernation API: the online list comes
 * from the room's connections (each member's `conn.data` is in its socket's attachment), the last messages
 * from the object's storage (StorageHistory), so both survive hibernation.
 *   pnpm start:workers          (locally on workerd through Miniflare; PORT, default 8080)
 *   wrangler deploy             (wrangler.toml)
 */
import { handler, WebSocketRoom } from "@ws/cloudflare";
import { CHAT_LIMITS, LOBBY, type ChatLine } from "./chat-protocol.ts";
import { createChatService } from "./chat-service.ts";
import type { History } from "./history.ts";
import { pageHandler } from "./page.ts";

interface Env {
  CHAT_ROOMS: DurableObjectNamespace;
}

/**
 * A room's last `size` messages in its Durable Object's storage: one key per message ("line:" and a zero-padded
 * sequence number, so a reverse list is newest first) and "seq", the next number. The object is one room: the
 * `room` arguments are the same on every call.
 */
export class StorageHistory implements History {
  private readonly storage: DurableObjectStorage;
  private readonly size: number;
  constructor(storage: DurableObjectStorage, size = CHAT_LIMITS.historySize) {
    this.storage = storage;
    this.size = size;
  }

  private static key(seq: number): string {
    return `line:${String(seq).padStart(15, "0")}`;
  }

  async add(_room: string, line: ChatLine): Promise<void> {
    const seq = (await this.storage.get<number>("seq")) ?? 0;
    await this.storage.put({ seq: seq + 1, [StorageHistory.key(seq)]: line });
    if (seq >= this.size) await this.storage.delete(StorageHistory.key(seq - this.size));
  }

  async recent(_room: string): Promise<ChatLine[]> {
    const lines = await this.storage.list<ChatLine>({ prefix: "line:", reverse: true, limit: this.size });
    return [...lines.values()].reverse();
  }
}

/** The room of a request that the Worker routed here: "/chat/:room", or the lobby for "/chat". */
function roomOfPath(url: string): string {
  const path = new URL(url, "http://room").pathname.split("/").filter(Boolean);
  try {
    return path.length > 1 ? decodeURIComponent(path[path.length - 1]!) : LOBBY;
  } catch {
    return ""; // refused by the service (not a room's name)
  }
}

export class ChatRoom extends WebSocketRoom<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    const self: { room?: ChatRoom } = {};
    const service = createChatService({
      history: new StorageHistory(ctx.storage),
      // the room's connections, rebuilt from their attachments after hibernation
      members: () => self.room?.server.connections ?? [],
      roomOf: (request) => roomOfPath(request.url),
    });
    super(ctx, env, { service });
    self.room = this;
  }
}

export default {
  fetch: handler<Env>({
    rooms: { "/chat": { namespace: (env) => env.CHAT_ROOMS, defaultRoom: LOBBY } },
    fetch: pageHandler,
  }),
} satisfies ExportedHandler<Env>;
