/**
 * The chat service: rooms of named users (chat-protocol.ts has the messages), registered on "/chat" (the
 * lobby) and "/chat/:room". No runtime import: the Node, Bun, Deno and Workers entries all register this
 * very module. Each room is two topics — its JSON users' and its plain-text users' — so with a broker
 * (@ws/redis) messages and notices span processes; the online list, the history and name uniqueness are the
 * process's own (on Workers: the room's Durable Object's).
 *
 * What a member is lives in `conn.data` (ChatMember): a Durable Object room keeps it in the socket's
 * attachment, so after hibernation the online list is rebuilt from the room's connections (`members`).
 */
import { CloseCode, defineService, type Connection, type UpgradeRequest } from "@ws/core";
import {
  CHAT_LIMITS,
  CHAT_PROTOCOL,
  LOBBY,
  PLAIN_PROTOCOL,
  ROOM_NAME,
  checkName,
  encode,
  parseClientMessage,
  uniqueName,
  type ChatLimits,
  type ErrorCode,
  type ServerMessage,
} from "./chat-protocol.ts";
import { MemoryHistory, type History } from "./history.ts";

export { CHAT_PROTOCOL, LOBBY, PLAIN_PROTOCOL } from "./chat-protocol.ts";

/** What the service keeps of a connection (serializable: a Durable Object room saves it for hibernation). */
export interface ChatMember {
  room: string;
  /** the seed's plain-text protocol, not JSON */
  plain: boolean;
  /** null until joined */
  name: string | null;
  /** the rate limit's token bucket: tokens left, and when it was last refilled (ms) */
  tokens: number;
  refilled: number;
  /** rate-limited messages in a row */
  refused: number;
}

export interface ChatServiceOptions extends Partial<ChatLimits> {
  /** where rooms keep their last messages; default: in memory (`historySize` per room) */
  history?: History;
  /**
   * the connections of a room, for the online list and name uniqueness; default: those this service has seen
   * connect. A Durable Object room passes its own (`() => this.server.connections`), which hibernation keeps.
   */
  members?: (room: string) => Iterable<Connection<unknown>>;
  /** the room of an upgrade request; default: the route's `:room`, else the lobby */
  roomOf?: (request: UpgradeRequest) => string;
  /** the clock, ms (tests) */
  now?: () => number;
}

/** The topic of a room's JSON users (`plain`: its plain-text users). */
export function roomTopic(room: string, plain = false): string {
  return `${plain ? "plain" : "json"}:${room}`;
}

export function createChatService(options: ChatServiceOptions = {}) {
  const limits: ChatLimits = { ...CHAT_LIMITS };
  for (const key of Object.keys(CHAT_LIMITS) as Array<keyof ChatLimits>) {
    const value = options[key];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`createChatService: ${key} must be a positive integer, got ${String(value)}`);
    limits[key] = value;
  }
  const history = options.history ?? new MemoryHistory(limits.historySize);
  const now = options.now ?? Date.now;
  const roomOf = options.roomOf ?? ((request: UpgradeRequest) => request.params.room ?? LOBBY);
  // the default member list: this service's own connections, by room
  const rooms = new Map<string, Set<Connection<ChatMember>>>();
  const members = options.members ?? ((room: string) => rooms.get(room) ?? []);

  function online(room: string): string[] {
    const names: string[] = [];
    for (const conn of members(room)) {
      const member = conn.data as ChatMember | undefined;
      if (member?.room === room && member.name !== null && conn.readyState !== "closing" && conn.readyState !== "closed") names.push(member.name);
    }
    return names;
  }

  function send(conn: Connection<ChatMember>, message: ServerMessage): void {
    if (!conn.data.plain) void conn.send(encode(message));
    else if (message.type === "error") void conn.send(`error: ${message.message}`);
  }

  function refuse(conn: Connection<ChatMember>, code: ErrorCode, message: string): void {
    send(conn, { type: "error", code, message });
  }

  /** Takes `name` (made unique) for `conn`, says so to the room, welcomes `conn` with the room's state. */
  async function join(conn: Connection<ChatMember>, requested: string): Promise<void> {
    const member = conn.data;
    const taken = online(member.room);
    const name = uniqueName(requested, taken, limits.maxNameLength);
    member.name = name; // before any await: a second hello of the same name sees this one taken
    conn.subscribe(roomTopic(member.room, member.plain)); // the room's traffic from now on, not before joining
    conn.publish(roomTopic(member.room), encode({ type: "joined", name }));
    if (member.plain) return;
    const lines = await history.recent(member.room);
    send(conn, { type: "welcome", you: name, room: member.room, online: online(member.room), history: [...lines] });
  }

  /** The rate limit: a token bucket of `messageBurst`, refilled at `messagesPerSecond`. */
  function admit(member: ChatMember): boolean {
    const t = now();
    member.tokens = Math.min(limits.messageBurst, member.tokens + ((t - member.refilled) / 1000) * limits.messagesPerSecond);
    member.refilled = t;
    if (member.tokens < 1) {
      member.refused++;
      return false;
    }
    member.tokens--;
    member.refused = 0;
    return true;
  }

  async function say(conn: Connection<ChatMember>, text: string): Promise<void> {
    const member = conn.data;
    if (member.name === null) return refuse(conn, "not-joined", 'say hello first: {"type":"hello","name":"…"}');
    if (text.trim().length === 0) return refuse(conn, "empty", "an empty message was not sent");
    if (text.length > limits.maxTextLength) {
      return refuse(conn, "too-long", `a message is at most ${limits.maxTextLength} characters; this one (${text.length}) was not sent`);
    }
    const line = { from: member.name, text, at: now() };
    const json = encode({ type: "message", ...line });
    conn.publish(roomTopic(member.room), json);
    if (member.plain) conn.publish(roomTopic(member.room, true), text); // the seed's relay: the line as it was
    else {
      void conn.send(json); // the sender's confirmation
      conn.publish(roomTopic(member.room, true), `${member.name}: ${text}`);
    }
    await history.add(member.room, line);
  }

  return defineService<ChatMember>({
    // the client's preference decides (RFC 6455 §4.2.2); without a subprotocol: the seed's plain text
    protocols: [CHAT_PROTOCOL, PLAIN_PROTOCOL],
    idleTimeout: 60_000,
    maxMessageSize: limits.maxMessageSize,
    upgrade(request) {
      const room = roomOf(request);
      if (!ROOM_NAME.test(room)) return { reject: 400, reason: "a room's name is 1 to 64 letters, digits, '_', '.' or '-'" };
      return { data: { room, plain: true, name: null, tokens: limits.messageBurst, refilled: now(), refused: 0 } };
    },
    async connected(conn) {
      const member = conn.data;
      member.plain = conn.protocol !== CHAT_PROTOCOL;
      member.refilled = now();
      if (options.members === undefined) {
        let set = rooms.get(member.room);
        if (!set) rooms.set(member.room, (set = new Set()));
        set.add(conn);
      }
      const asked = conn.request.query.get("name");
      if (asked !== null) {
        const checked = checkName(asked, limits.maxNameLength);
        if ("name" in checked) return join(conn, checked.name);
        refuse(conn, "bad-name", `${checked.error}; send {"type":"hello","name":"…"}`);
      }
      // the seed's clients never say hello: they join as a guest
      if (member.plain) return join(conn, "guest");
    },
    received(message, conn) {
      const member = conn.data;
      if (typeof message !== "string") {
        conn.unsubscribe(roomTopic(member.room, member.plain));
        void conn.close(CloseCode.UnsupportedData, "Chat-Server only accepts text messages");
        return;
      }
      // every message counts for the rate (a hello, a bad request): each refusal is an answer to bound too
      if (!admit(member)) {
        if (member.refused >= limits.maxRefusedInARow) {
          void conn.close(CloseCode.PolicyViolation, "too many messages");
          return;
        }
        return refuse(conn, "rate-limited", `slow down: at most ${limits.messagesPerSecond} messages a second; this one was not sent`);
      }
      if (member.plain) return say(conn, message);
      const parsed = parseClientMessage(message);
      if ("error" in parsed) return refuse(conn, parsed.error, parsed.message);
      if (parsed.type === "message") return say(conn, parsed.text);
      if (member.name !== null) return refuse(conn, "already-joined", `you are ${member.name} already`);
      const checked = checkName(parsed.name, limits.maxNameLength);
      if ("error" in checked) return refuse(conn, "bad-name", checked.error);
      return join(conn, checked.name);
    },
    disconnected(conn) {
      const member = conn.data;
      rooms.get(member.room)?.delete(conn);
      if (rooms.get(member.room)?.size === 0) rooms.delete(member.room);
      if (member.name !== null) conn.publish(roomTopic(member.room), encode({ type: "left", name: member.name }));
    },
  });
}

/** The environment variable of each limit: CHAT_MAX_NAME_LENGTH, CHAT_MESSAGES_PER_SECOND, … */
export function limitVariable(limit: keyof ChatLimits): string {
  return `CHAT_${limit.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

/** The limits set in the environment (`get`: process.env's or Deno.env's lookup); a bad value throws. */
export function limitsFromEnv(get: (name: string) => string | undefined): Partial<ChatLimits> {
  const limits: Partial<ChatLimits> = {};
  for (const key of Object.keys(CHAT_LIMITS) as Array<keyof ChatLimits>) {
    const raw = get(limitVariable(key));
    if (raw !== undefined && raw !== "") limits[key] = Number(raw);
  }
  return limits;
}

/** The service with the default limits (CHAT_LIMITS). */
export const chatService = createChatService();
