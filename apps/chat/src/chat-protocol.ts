/**
 * The chat's wire protocol: small JSON text messages, one object per WebSocket message, with a `type`.
 * Subprotocol "chat.v2" (CHAT_PROTOCOL). Shared by the service, the page (which inlines the same shapes) and
 * the terminal client. No runtime import.
 *
 * Client → server
 *   {"type":"hello","name":"ana"}          join the room under a name (or give it in the URL: /chat?name=ana)
 *   {"type":"message","text":"hi"}         say something (only once joined)
 *
 * Server → client
 *   {"type":"welcome","you":"ana","room":"lobby","online":["bob","ana"],"history":[{from,text,at}…]}
 *                                          you joined: your name (suffixed "-2", "-3"… when taken), who is
 *                                          online (you included, in order of joining), the room's last
 *                                          messages (at most HISTORY_SIZE, oldest first)
 *   {"type":"joined","name":"bob"}         someone joined the room
 *   {"type":"left","name":"bob"}           someone left
 *   {"type":"message","from":"bob","text":"hi","at":1767225600000}
 *                                          a message (`at`: the server's clock, ms since 1970); the sender
 *                                          gets its own back too, which confirms it was delivered
 *   {"type":"error","code":"too-long","message":"…"}
 *                                          a request was refused (the connection stays open): the codes are
 *                                          ErrorCode's
 *
 * Rooms: ws://host/chat is the room "lobby", ws://host/chat/:room any other (ROOM_NAME). Limits (CHAT_LIMITS)
 * are the service's options. The seed's plain-text protocol ("chat", or no subprotocol) is still spoken in the
 * same rooms: a line of text in, the others' lines out ("name: text" for what a chat.v2 user says).
 */

/** The JSON protocol's subprotocol name. */
export const CHAT_PROTOCOL = "chat.v2";
/** The seed's plain-text protocol: text lines, no names, no notices. */
export const PLAIN_PROTOCOL = "chat";
/** The room of the bare `/chat` path. */
export const LOBBY = "lobby";
/** What a room's name may be (the `:room` of `/chat/:room`). */
export const ROOM_NAME = /^[\p{L}\p{N}_.-]{1,64}$/u;

/** The service's bounds, each an option of `createChatService` (see the app README). */
export interface ChatLimits {
  /** characters of a name (longer is refused: `bad-name`). Default 32. */
  maxNameLength: number;
  /** characters of a message's text (longer is refused: `too-long`). Default 4000. */
  maxTextLength: number;
  /** bytes of one WebSocket message, before parsing (larger closes with 1009). Default 16 KiB. */
  maxMessageSize: number;
  /** messages a room keeps for whoever joins next. Default 50. */
  historySize: number;
  /** messages per second a connection may send on average (more are refused: `rate-limited`). Default 5. */
  messagesPerSecond: number;
  /** messages a connection may send at once above that rate. Default 10. */
  messageBurst: number;
  /** refused messages in a row (rate-limited) after which the connection is closed with 1008. Default 20. */
  maxRefusedInARow: number;
}

export const CHAT_LIMITS: Readonly<ChatLimits> = Object.freeze({
  maxNameLength: 32,
  maxTextLength: 4000,
  maxMessageSize: 16 * 1024,
  historySize: 50,
  messagesPerSecond: 5,
  messageBurst: 10,
  maxRefusedInARow: 20,
});

/** One line of a room's conversation. */
export interface ChatLine {
  from: string;
  text: string;
  at: number;
}

export type ErrorCode =
  /** not JSON, or not one of the client's message types */
  | "bad-request"
  /** an empty name, one with control characters, or longer than maxNameLength */
  | "bad-name"
  /** a second hello */
  | "already-joined"
  /** a message before hello */
  | "not-joined"
  /** an empty text */
  | "empty"
  /** a text longer than maxTextLength */
  | "too-long"
  /** more than messagesPerSecond (with messageBurst) */
  | "rate-limited";

export type ClientMessage = { type: "hello"; name: string } | { type: "message"; text: string };

export type ServerMessage =
  | { type: "welcome"; you: string; room: string; online: string[]; history: ChatLine[] }
  | { type: "joined"; name: string }
  | { type: "left"; name: string }
  | ({ type: "message" } & ChatLine)
  | { type: "error"; code: ErrorCode; message: string };

export function encode(message: ServerMessage | ClientMessage): string {
  return JSON.stringify(message);
}

/** A client's message, or why it is not one. */
export function parseClientMessage(text: string): ClientMessage | { error: "bad-request"; message: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { error: "bad-request", message: 'not JSON: send {"type":"message","text":"…"}' };
  }
  if (typeof value === "object" && value !== null) {
    const m = value as Record<string, unknown>;
    if (m.type === "hello" && typeof m.name === "string") return { type: "hello", name: m.name };
    if (m.type === "message" && typeof m.text === "string") return { type: "message", text: m.text };
  }
  return { error: "bad-request", message: 'expected {"type":"hello","name":"…"} or {"type":"message","text":"…"}' };
}

/** A server's message as the client reads it (undefined for anything else: ignore it). */
export function parseServerMessage(text: string): ServerMessage | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string") return value as ServerMessage;
  } catch {
    // not ours
  }
  return undefined;
}

// C0 and C1 controls, DEL, and the bidi overrides/isolates: nothing a name may use to mess with a screen
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;

/** A name as the room shows it (trimmed, inner runs of spaces as one), or why it cannot be one. */
export function checkName(raw: string, maxLength: number): { name: string } | { error: string } {
  const name = raw.trim().replace(/\s+/gu, " ");
  if (name.length === 0) return { error: "a name cannot be empty" };
  if (CONTROL.test(name)) return { error: "a name cannot hold control characters" };
  if ([...name].length > maxLength) return { error: `a name is at most ${maxLength} characters` };
  return { name };
}

/** `name`, or `name-2`, `name-3`… — the first not in `taken` (compared without case), within maxLength. */
export function uniqueName(name: string, taken: Iterable<string>, maxLength: number): string {
  const used = new Set([...taken].map((n) => n.toLowerCase()));
  if (!used.has(name.toLowerCase())) return name;
  for (let i = 2; ; i++) {
    const suffix = `-${i}`;
    const base = [...name].slice(0, maxLength - suffix.length).join("");
    const candidate = `${base}${suffix}`;
    if (!used.has(candidate.toLowerCase())) return candidate;
  }
}

/** Text a terminal can print as one line: control characters (ANSI escapes included) shown as "?". */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/gu, "?").replace(/\n/g, " ⏎ ");
}
