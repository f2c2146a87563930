/**
 * Issue 21 defect 10 and issue 22 point 4 (the server's side): refused upgrades never make one log line per
 * request at the levels a server logs at (debug each, else one info line per interval), and what the peer sent
 * (its path) is cut short and has its control characters escaped in every line.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { createUpgradeRequest, defineService, HeaderMap, type LogContext, type Logger, type UpgradeRequest } from "../src/index.ts";
import { logText, ServerCore } from "../src/adapter.ts";

afterEach(() => {
  vi.useRealTimers();
});

function upgradeRequest(url: string, headers: Record<string, string> = {}): UpgradeRequest {
  return createUpgradeRequest({
    method: "GET",
    url,
    httpVersion: "1.1",
    headers: new HeaderMap({
      Host: "localhost",
      Upgrade: "websocket",
      Connection: "Upgrade",
      "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
      "Sec-WebSocket-Version": "13",
      ...headers,
    }),
    remoteAddress: "127.0.0.1",
  });
}

/** A logger that keeps every line (level, message, context as JSON), with or without `debug`. */
function recorder(withDebug: boolean) {
  const lines: Array<{ level: string; text: string }> = [];
  const at = (level: string) => (c: LogContext, m: string) => void lines.push({ level, text: `${m} ${JSON.stringify(c)}` });
  const logger: Logger = { info: at("info"), warn: at("warn"), error: at("error"), ...(withDebug ? { debug: at("debug") } : {}) };
  const bytes = (levels: string[]) => lines.filter((l) => levels.includes(l.level)).reduce((n, l) => n + l.text.length, 0);
  return { lines, logger, bytes, at: (levels: string[]) => lines.filter((l) => levels.includes(l.level)) };
}

/** A server with a gate that refuses with 401 on /private; every other path is a 404. */
function server(logger: Logger) {
  return new ServerCore({
    logger,
    services: { "/private": defineService({ upgrade: () => ({ reject: 401, reason: "missing or bad token" }) }) },
  });
}

const longPath = (i: number) => `/${String(i).padStart(8, "0")}${"x".repeat(8 * 1024)}`;

describe("refused upgrades in the log", () => {
  it("1,000 refusals with 8 KiB paths, no debug in the logger: two info lines, not 1,000 (nor 16 MB)", async () => {
    vi.useFakeTimers();
    const log = recorder(false);
    const core = server(log.logger);
    for (let i = 0; i < 990; i++) expect(core.decideNow(upgradeRequest(longPath(i)))).toMatchObject({ ok: false, status: 404 });
    for (let i = 0; i < 10; i++) expect(await core.decideNow(upgradeRequest("/private"))).toMatchObject({ ok: false, status: 401 });
    vi.advanceTimersByTime(10_000);
    const lines = log.at(["info", "warn", "error"]);
    expect(lines.length).toBe(2);
    expect(lines[0]!.text).toMatch(/^upgrade refused \(404\)/);
    expect(lines[1]!.text).toMatch(/^999 upgrades refused in the last 10 s \(404 ×989, 401 ×10\)/);
    expect(log.bytes(["info", "warn", "error"])).toBeLessThan(1024);
    // a quiet interval: no line; the next refusal is logged as itself again
    vi.advanceTimersByTime(10_000);
    expect(log.lines.length).toBe(2);
    core.decideNow(upgradeRequest("/again"));
    expect(log.lines.length).toBe(3);
    expect(log.lines[2]!.text).toMatch(/^upgrade refused \(404\): no WebSocket service at \/again/);
  });

  it("with a debug level: each refusal at debug, bounded in length; info still one line per interval", () => {
    vi.useFakeTimers();
    const log = recorder(true);
    const core = server(log.logger);
    for (let i = 0; i < 1000; i++) core.decideNow(upgradeRequest(longPath(i)));
    vi.advanceTimersByTime(10_000);
    const debug = log.at(["debug"]);
    expect(debug.length).toBe(1000);
    expect(Math.max(...debug.map((l) => l.text.length))).toBeLessThan(700);
    expect(log.at(["info", "warn", "error"]).length).toBe(2);
  });

  it("a path with a LF, an ESC sequence and C1 controls is logged escaped, on one line", () => {
    const log = recorder(true);
    const core = server(log.logger);
    core.decideNow(upgradeRequest("/a\nFORGED line\r\x1b[31mred\x9b\u202e"));
    expect(log.lines.length).toBe(2);
    for (const { text } of log.lines) {
      expect(text).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
      expect(text).toContain("/a\\x0aFORGED line\\x0d\\x1b[31mred\\u009b\\u202e");
    }
  });

  it("close() logs what is counted and not yet logged", async () => {
    const log = recorder(false);
    const core = server(log.logger);
    for (let i = 0; i < 5; i++) core.decideNow(upgradeRequest("/nothing"));
    await core.close({ timeout: 10 });
    expect(log.lines.map((l) => l.text.split(" {")[0])).toEqual([
      "upgrade refused (404): no WebSocket service at /nothing (further refusals: one line per 10 s)",
      "4 upgrades refused in the last 10 s (404 ×4)",
    ]);
  });
});

describe("logText", () => {
  it("cuts to 200 chars and says how many more there were", () => {
    expect(logText("a".repeat(8192))).toBe(`${"a".repeat(200)}…(+7992 chars)`);
    expect(logText("short")).toBe("short");
    expect(logText("abc", 2)).toBe("ab…(+1 chars)");
  });
  it("escapes control characters, never cuts a surrogate pair in half", () => {
    expect(logText("a\0b\tc\u007f\u0085\u2028")).toBe("a\\x00b\\x09c\\x7f\\u0085\\u2028");
    expect(logText("é✓")).toBe("é✓");
    expect(logText(`${"a".repeat(199)}😀`)).toBe(`${"a".repeat(199)}…(+2 chars)`);
  });
});
