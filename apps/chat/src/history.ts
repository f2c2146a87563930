/**
 * A room's history: the last messages, for whoever joins next. The service takes any `History`; the default
 * keeps them in memory (Node, Bun, Deno: one process's rooms), the Workers entry keeps them in the room's
 * Durable Object storage (they survive hibernation and eviction).
 */
import type { ChatLine } from "./chat-protocol.ts";

export interface History {
  /** keeps `line` as the room's newest, forgetting what falls beyond the history's size */
  add(room: string, line: ChatLine): void | Promise<void>;
  /** the room's kept lines, oldest first */
  recent(room: string): readonly ChatLine[] | Promise<readonly ChatLine[]>;
}

/**
 * In memory: `size` lines per room, `maxRooms` rooms (the room that has gone longest without a message is
 * forgotten first: room names come from the URL, so their number is the client's to choose).
 */
export class MemoryHistory implements History {
  private readonly rooms = new Map<string, ChatLine[]>();
  readonly size: number;
  readonly maxRooms: number;
  constructor(size = 50, maxRooms = 1000) {
    this.size = size;
    this.maxRooms = maxRooms;
  }

  add(room: string, line: ChatLine): void {
    const lines = this.rooms.get(room) ?? [];
    this.rooms.delete(room); // re-inserted last: Map order is the eviction order
    lines.push(line);
    if (lines.length > this.size) lines.splice(0, lines.length - this.size);
    this.rooms.set(room, lines);
    while (this.rooms.size > this.maxRooms) this.rooms.delete(this.rooms.keys().next().value!);
  }

  recent(room: string): readonly ChatLine[] {
    return [...(this.rooms.get(room) ?? [])];
  }

  /** rooms with a history right now */
  get roomCount(): number {
    return this.rooms.size;
  }
}
