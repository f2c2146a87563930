/**
 * The generator's check of each 101 (wire.ts `HandshakeKeys` and `checkUpgradeResponse`): its fast path must
 * never accept what the full check refuses — a wrong Sec-WebSocket-Accept, a status other than 101, a missing
 * Upgrade or Connection — whether the response arrives whole or split.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { checkUpgradeResponse, HandshakeKeys } from "../src/wire.ts";

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="; // RFC 6455 §1.3's example

function response(lines: string[], tail = ""): Buffer {
  return Buffer.from(lines.join("\r\n") + "\r\n\r\n" + tail, "latin1");
}

const GOOD = ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade", `Sec-WebSocket-Accept: ${ACCEPT}`];

describe("checkUpgradeResponse", () => {
  it("accepts a right 101 and says where the head ends", () => {
    const buf = response(GOOD, "\x81\x02hi");
    const r = checkUpgradeResponse(buf, ACCEPT, false);
    expect(r).toEqual({ headLength: buf.length - 4, extensions: "" });
  });

  it("accepts header names in any case, values with spaces around them, and Connection with several tokens", () => {
    const r = checkUpgradeResponse(
      response(["HTTP/1.1 101 Switching Protocols", "upgrade:WebSocket", "connection:  keep-alive, Upgrade ", `sec-websocket-accept:   ${ACCEPT}  `, "date: x"]),
      ACCEPT,
      false,
    );
    expect(r).not.toBeNull();
    expect(r).not.toHaveProperty("error");
  });

  it("refuses a wrong Sec-WebSocket-Accept", () => {
    const other = createHash("sha1").update("AAAAAAAAAAAAAAAAAAAAAA==258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
    for (const value of [other, ACCEPT.slice(0, -1), ACCEPT + "x", ACCEPT.toLowerCase(), ""]) {
      const lines = GOOD.map((l) => (l.startsWith("Sec-WebSocket-Accept") ? `Sec-WebSocket-Accept: ${value}` : l));
      expect(checkUpgradeResponse(response(lines), ACCEPT, false)).toEqual({ error: "wrong Sec-WebSocket-Accept" });
    }
    // missing, or given twice (once right)
    expect(checkUpgradeResponse(response(GOOD.slice(0, 3)), ACCEPT, false)).toEqual({ error: "wrong Sec-WebSocket-Accept" });
    expect(checkUpgradeResponse(response([...GOOD, `Sec-WebSocket-Accept: ${other}`]), ACCEPT, false)).toEqual({ error: "wrong Sec-WebSocket-Accept" });
  });

  it("refuses any status but 101, even with the right headers", () => {
    for (const status of ["HTTP/1.1 200 OK", "HTTP/1.1 400 Bad Request", "HTTP/1.1 1010", "HTTP/1.1 10", "HTTP/1.0 101 Switching Protocols", "HTTP/2 101", "xHTTP/1.1 101 Switching"]) {
      const r = checkUpgradeResponse(response([status, ...GOOD.slice(1)]), ACCEPT, false);
      expect(r, status).toHaveProperty("error");
      expect((r as { error: string }).error, status).toMatch(/^expected 101/);
    }
  });

  it("refuses a 101 without Upgrade: websocket or without Connection: upgrade", () => {
    const without = (name: string) => GOOD.filter((l) => !l.startsWith(name));
    expect(checkUpgradeResponse(response(without("Upgrade")), ACCEPT, false)).toEqual({ error: "no Upgrade: websocket" });
    expect(checkUpgradeResponse(response(without("Connection")), ACCEPT, false)).toEqual({ error: "no Connection: upgrade" });
    const swap = (name: string, line: string) => GOOD.map((l) => (l.startsWith(name) ? line : l));
    expect(checkUpgradeResponse(response(swap("Upgrade", "Upgrade: h2c")), ACCEPT, false)).toEqual({ error: "no Upgrade: websocket" });
    expect(checkUpgradeResponse(response(swap("Connection", "Connection: keep-alive")), ACCEPT, false)).toEqual({ error: "no Connection: upgrade" });
    expect(checkUpgradeResponse(response(swap("Connection", "Connection: upgrades")), ACCEPT, false)).toEqual({ error: "no Connection: upgrade" });
  });

  it("waits for the rest of a split response (null), and checks it once whole", () => {
    const whole = response(GOOD);
    for (let cut = 1; cut < whole.length; cut++) expect(checkUpgradeResponse(whole.subarray(0, cut), ACCEPT, false), `cut at ${cut}`).toBeNull();
    const bad = response(GOOD.map((l) => l.replace(ACCEPT, ACCEPT.replace("s3p", "s4p"))));
    expect(checkUpgradeResponse(bad, ACCEPT, false)).toEqual({ error: "wrong Sec-WebSocket-Accept" });
  });

  it("checks permessage-deflate when it was offered", () => {
    expect(checkUpgradeResponse(response(GOOD), ACCEPT, true)).toEqual({ error: "permessage-deflate not negotiated" });
    const ext = "permessage-deflate; client_no_context_takeover";
    expect(checkUpgradeResponse(response([...GOOD, `Sec-WebSocket-Extensions: ${ext}`]), ACCEPT, true)).toMatchObject({ extensions: ext });
  });
});

describe("HandshakeKeys", () => {
  it("sends a valid 16-byte key in each request and expects the accept of that key", () => {
    const keys = new HandshakeKeys("127.0.0.1", 8080, "/broadcast", false, 8);
    const seen = new Set<string>();
    for (let i = 0; i < 32; i++) {
      const h = keys.next();
      const text = h.request.toString("latin1");
      const key = /\r\nSec-WebSocket-Key: ([^\r]+)\r\n/.exec(text)![1]!;
      expect(Buffer.from(key, "base64")).toHaveLength(16);
      expect(h.accept).toBe(createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64"));
      expect(text.startsWith("GET /broadcast HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n")).toBe(true);
      expect(text).toContain("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n");
      expect(text.endsWith("\r\nSec-WebSocket-Version: 13\r\n\r\n")).toBe(true);
      seen.add(key);
    }
    expect(seen.size).toBe(8);
    const sample = new HandshakeKeys("127.0.0.1", 8080, "/", false, 1).next();
    expect(checkUpgradeResponse(response(GOOD.map((l) => l.replace(ACCEPT, sample.accept))), sample.accept, false)).not.toHaveProperty("error");
    expect(checkUpgradeResponse(response(GOOD), sample.accept, false)).toEqual({ error: "wrong Sec-WebSocket-Accept" });
  });

  it("offers permessage-deflate when asked", () => {
    const text = new HandshakeKeys("127.0.0.1", 1, "/", true, 1).next().request.toString("latin1");
    expect(text).toContain("\r\nSec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n");
  });
});
