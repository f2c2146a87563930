import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { connect, defineService, serve, silentLogger, type ServeHandle } from "../src/index.ts";

const echo = defineService({ received: (m, c) => void c.send(m) });
let servers: ServeHandle[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close({ timeout: 500 })));
  servers = [];
});

describe("permessage-deflate on Node", () => {
  it("is negotiated with ws (client_max_window_bits offer) and round-trips compressed messages with context takeover", async () => {
    const s = await serve({ host: "127.0.0.1", logger: silentLogger, services: { "/": echo }, perMessageDeflate: { threshold: 0 } });
    servers.push(s);
    const ws = new WebSocket(`${s.url}/`, { perMessageDeflate: { threshold: 0 } });
    await new Promise((r, j) => ws.once("open", r).once("error", j));
    expect(ws.extensions).toContain("permessage-deflate");
    const texts = ["hello hello hello hello", "hello hello hello hello again", "x".repeat(100_000), "ünïcødé ✓ 👋".repeat(50)];
    const got: string[] = [];
    const done = new Promise<void>((r) => ws.on("message", (d) => { got.push(d.toString()); if (got.length === texts.length) r(); }));
    for (const t of texts) ws.send(t);
    await done;
    expect(got).toEqual(texts);
    ws.close();
  });

  it("our client and server agree on no-context-takeover and window bits", async () => {
    const s = await serve({
      host: "127.0.0.1",
      logger: silentLogger,
      services: { "/": echo },
      perMessageDeflate: { threshold: 0, serverNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 11 },
    });
    servers.push(s);
    const conn = await connect(`${s.url}/`, { logger: silentLogger, perMessageDeflate: { threshold: 0 } });
    expect(conn.extensions).toBe("permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=11");
    for (const m of ["abcabcabc", "abcabcabc", new Uint8Array(5000).fill(7)]) {
      await conn.send(m);
      expect(await conn.read({ timeout: 2000 })).toEqual(m);
    }
    await conn.close();
  });

  it("closes with 1009 when a small compressed frame inflates past maxPayload (decompression bomb)", async () => {
    const s = await serve({ host: "127.0.0.1", logger: silentLogger, services: { "/": echo }, perMessageDeflate: true, maxPayload: 64 * 1024 });
    servers.push(s);
    const ws = new WebSocket(`${s.url}/`, { perMessageDeflate: { threshold: 0 } });
    await new Promise((r, j) => ws.once("open", r).once("error", j));
    const code = new Promise<number>((r) => ws.once("close", (c) => r(c)));
    ws.send(Buffer.alloc(10 * 1024 * 1024)); // ~10 KiB on the wire, 10 MiB inflated
    expect(await code).toBe(1009);
  });

  it("is not negotiated when the server leaves it off (the default)", async () => {
    const s = await serve({ host: "127.0.0.1", logger: silentLogger, services: { "/": echo } });
    servers.push(s);
    const conn = await connect(`${s.url}/`, { logger: silentLogger });
    expect(conn.extensions).toBe("");
    await conn.close();
  });
});
