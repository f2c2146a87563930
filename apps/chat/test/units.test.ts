/** The chat's small pieces on their own: the in-memory history's bounds, names, limits from the environment. */
import { describe, expect, it } from "vitest";
import { MemoryHistory } from "../src/history.ts";
import { checkName, printable, uniqueName } from "../src/chat-protocol.ts";
import { createChatService, limitVariable, limitsFromEnv } from "../src/chat-service.ts";

const line = (text: string) => ({ from: "a", text, at: 0 });

describe("MemoryHistory", () => {
  it("keeps the last `size` lines of a room, oldest first", () => {
    const h = new MemoryHistory(3);
    for (const t of ["1", "2", "3", "4", "5"]) h.add("r", line(t));
    expect(h.recent("r").map((l) => l.text)).toEqual(["3", "4", "5"]);
    expect(h.recent("other")).toEqual([]);
  });

  it("keeps at most `maxRooms` rooms, forgetting the one quiet longest", () => {
    const h = new MemoryHistory(50, 2);
    h.add("a", line("a1"));
    h.add("b", line("b1"));
    h.add("a", line("a2")); // a is now the most recent
    h.add("c", line("c1")); // b goes
    expect(h.roomCount).toBe(2);
    expect(h.recent("b")).toEqual([]);
    expect(h.recent("a").map((l) => l.text)).toEqual(["a1", "a2"]);
    expect(h.recent("c").map((l) => l.text)).toEqual(["c1"]);
  });
});

describe("names", () => {
  it("checkName trims, folds inner spaces, refuses empty, control characters, bidi overrides and over-long names", () => {
    expect(checkName("  ana   b ", 32)).toEqual({ name: "ana b" });
    expect(checkName(" \t ", 32)).toEqual({ error: "a name cannot be empty" });
    expect(checkName("a\u0007", 32)).toEqual({ error: "a name cannot hold control characters" });
    expect(checkName("a\u202eb", 32)).toEqual({ error: "a name cannot hold control characters" });
    expect(checkName("🎉".repeat(32), 32)).toEqual({ name: "🎉".repeat(32) }); // characters, not UTF-16 units
    expect(checkName("x".repeat(33), 32)).toEqual({ error: "a name is at most 32 characters" });
  });

  it("uniqueName suffixes within the length bound, without regard to case", () => {
    expect(uniqueName("ana", [], 32)).toBe("ana");
    expect(uniqueName("ana", ["ANA", "ana-2"], 32)).toBe("ana-3");
    expect(uniqueName("x".repeat(32), ["x".repeat(32)], 32)).toBe(`${"x".repeat(30)}-2`);
  });

  it("printable shows control characters (ANSI escapes) as ?, newlines as ⏎", () => {
    expect(printable("a\u001b[31mb\nc")).toBe("a?[31mb ⏎ c");
  });
});

describe("limits from the environment", () => {
  it("names a variable per limit and reads them", () => {
    expect(limitVariable("messagesPerSecond")).toBe("CHAT_MESSAGES_PER_SECOND");
    expect(limitVariable("maxNameLength")).toBe("CHAT_MAX_NAME_LENGTH");
    const env: Record<string, string> = { CHAT_HISTORY_SIZE: "7", CHAT_MESSAGE_BURST: "", OTHER: "1" };
    expect(limitsFromEnv((n) => env[n])).toEqual({ historySize: 7 });
  });

  it("refuses a limit that is not a positive integer, naming it", () => {
    expect(() => createChatService({ historySize: 0 })).toThrow("historySize must be a positive integer, got 0");
    expect(() => createChatService(limitsFromEnv((n) => (n === "CHAT_MAX_TEXT_LENGTH" ? "lots" : undefined)))).toThrow(/maxTextLength must be a positive integer, got NaN/);
  });
});
