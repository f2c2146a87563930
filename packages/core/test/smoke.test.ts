import { describe, expect, it } from "vitest";
import { Connection, type ByteStream, type ByteStreamEvents, silentLogger } from "../src/index.ts";

function pipePair(): [ByteStream, ByteStream] {
  const make = () => {
    let events: ByteStreamEvents | null = null;
    let peer: { deliver(c: Uint8Array): void; endPeer(): void } | null = null;
    let closed = false;
    const s: ByteStream & { deliver(c: Uint8Array): void; endPeer(): void; link(p: typeof peer): void } = {
      start(e) { events = e; },
      write(chunk) { const c = chunk.slice(); queueMicrotask(() => peer?.deliver(c)); return true; },
      end() { queueMicrotask(() => peer?.endPeer()); },
      destroy() { if (!closed) { closed = true; queueMicrotask(() => { events?.close(); peer?.endPeer(); }); } },
      bufferedAmount: 0,
      deliver(c) { if (!closed) events?.data(c); },
      endPeer() { if (!closed) { events?.end(); } },
      link(p) { peer = p; },
    };
    return s;
  };
  const a = make(), b = make();
  a.link(b); b.link(a);
  return [a, b];
}

describe("smoke", () => {
  it("echoes text between a client and server connection in memory", async () => {
    const [sa, sb] = pipePair();
    const req = { method: "GET", url: "/", httpVersion: "1.1", headers: new Headers() };
    const server = new Connection(sa, { role: "server", request: req, logger: silentLogger });
    const client = new Connection(sb, { role: "client", request: req, logger: silentLogger });
    server.onText((t, c) => c.send(t.toUpperCase()));
    server.start(); client.start();
    await client.send("hello");
    expect(await client.read({ timeout: 1000 })).toBe("HELLO");
    const closed = client.close(1000, "bye");
    const info = await server.closed;
    expect(info.code).toBe(1000);
    sa.destroy(); sb.destroy();
    expect((await closed).code).toBe(1000);
  });
});
