import { afterEach, describe, expect, it, vi } from "vitest";
import { Connection, ReadTimeoutError, silentLogger, type Fragment, type Message } from "../src/index.ts";
import { bytes, cframe, closePayload, frame, hex, utf8 } from "./support/frames.ts";
import { concatBytes, memoryPair, settle } from "./support/memory-stream.ts";
import { connectionPair, recordingLogger, request, withRawPeer } from "./support/peers.ts";
import { QUEUED_MESSAGE_OVERHEAD } from "../src/protocol/limits.ts";

afterEach(() => {
  vi.useRealTimers();
});

/** Runs `fn` against a deadline so a hang fails the test instead of timing it out. */
async function within<T>(p: Promise<T>, ms = 500): Promise<T | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), ms)));
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

describe("memory stream test double", () => {
  it("write returns false past the high-water mark and emits drain later; end/close semantics", async () => {
    const [a, b] = memoryPair({ highWaterMark: 10 });
    const got: string[] = [];
    a.start({ data: () => got.push("a:data"), drain: () => got.push("a:drain"), end: () => got.push("a:end"), close: () => got.push("a:close") });
    b.start({ data: (c) => got.push(`b:data ${c.length}`), drain: () => got.push("b:drain"), end: () => got.push("b:end"), close: () => got.push("b:close") });
    expect(a.write(new Uint8Array(5))).toBe(true);
    expect(a.bufferedAmount).toBe(5);
    expect(a.write(new Uint8Array(5))).toBe(false);
    await settle();
    expect(got).toEqual(["b:data 10", "a:drain"]);
    expect(a.bufferedAmount).toBe(0);
    a.end();
    await settle();
    expect(got.slice(2)).toEqual(["b:end"]);
    b.end();
    await settle();
    expect(got.slice(3).sort()).toEqual(["a:close", "a:end", "b:close"]);
  });

  it("destroy closes both sides once and drops unsent bytes; pause holds data until resume", async () => {
    const [a, b] = memoryPair();
    const got: string[] = [];
    a.start({ data: () => {}, drain: () => {}, end: () => {}, close: () => got.push("a:close") });
    b.start({ data: (c) => got.push(`b:data ${c.length}`), drain: () => {}, end: () => {}, close: () => got.push("b:close") });
    b.pause();
    a.write(new Uint8Array(3));
    await settle();
    expect(got).toEqual([]);
    b.resume();
    await settle();
    expect(got).toEqual(["b:data 3"]);
    a.write(new Uint8Array(4));
    a.destroy();
    a.destroy();
    await settle();
    expect(got.slice(1).sort()).toEqual(["a:close", "b:close"]);
    expect(a.write(new Uint8Array(1))).toBe(false);
  });
});

describe("Connection: sending", () => {
  it("send: string as text, bytes/ArrayBuffer/views as binary; resolves true", async () => {
    const { conn, peer } = withRawPeer("server");
    conn.start();
    const u16 = new Uint16Array([0x0102, 0x0304]);
    const backing = Uint8Array.from([9, 8, 7, 6, 5]);
    const results = await Promise.all([
      conn.send("Hello"),
      conn.send(bytes(1, 2, 3)),
      conn.send(bytes(4).buffer as ArrayBuffer),
      conn.send(u16),
      conn.send(new DataView(backing.buffer, 1, 3)),
      conn.sendText("é"),
      conn.sendText(utf8("raw")),
      conn.sendBinary(bytes(0xff)),
      conn.sendBinary(new Uint8Array([5, 6]).buffer),
    ]);
    expect(results).toEqual(new Array(9).fill(true));
    await settle();
    const u16bytes = Array.from(new Uint8Array(u16.buffer));
    expect(hex(peer.bytes())).toBe(
      hex(
        concatBytes([
          frame({ opcode: 1, payload: "Hello" }),
          frame({ opcode: 2, payload: bytes(1, 2, 3) }),
          frame({ opcode: 2, payload: bytes(4) }),
          frame({ opcode: 2, payload: Uint8Array.from(u16bytes) }),
          frame({ opcode: 2, payload: bytes(8, 7, 6) }),
          frame({ opcode: 1, payload: "é" }),
          frame({ opcode: 1, payload: "raw" }),
          frame({ opcode: 2, payload: bytes(0xff) }),
          frame({ opcode: 2, payload: bytes(5, 6) }),
        ]),
      ),
    );
  });

  it("frames of one event-loop turn go to the transport in one write", async () => {
    const { conn, a } = withRawPeer("server");
    conn.start();
    void conn.send("a");
    void conn.send("b");
    void conn.ping();
    await settle();
    expect(a.writeCalls).toBe(1);
  });

  it("a client masks every frame with a fresh mask and leaves the caller's buffer alone", async () => {
    const { conn, peer } = withRawPeer("client");
    conn.start();
    const data = utf8("same payload");
    const before = data.slice();
    await conn.send(data);
    await conn.send(data);
    await settle();
    expect(data).toEqual(before);
    const frames = peer.frames();
    expect(frames.map((f) => [f.opcode, f.masked, Array.from(f.payload)])).toEqual([
      [2, true, Array.from(before)],
      [2, true, Array.from(before)],
    ]);
    expect(hex(frames[0]!.mask!)).not.toBe(hex(frames[1]!.mask!));
  });

  it("send resolves false before start, while closing and after close", async () => {
    const { conn, peer } = withRawPeer("server");
    expect(await conn.send("early")).toBe(false);
    conn.start();
    const closing = conn.close(1000);
    expect(conn.readyState).toBe("closing");
    expect(await conn.send("late")).toBe(false);
    expect(await conn.ping()).toBe(false);
    peer.send(cframe({ opcode: 8, payload: closePayload(1000) }));
    await closing;
    expect(conn.readyState).toBe("closed");
    expect(await conn.send("after")).toBe(false);
    expect(await conn.sendBinary(bytes(1))).toBe(false);
  });

  it("ping/onPing/onPong between two connections; the automatic pong carries the payload", async () => {
    const { server, client } = connectionPair();
    const pings: number[][] = [];
    const pongs: number[][] = [];
    server.onPing((p, c) => {
      expect(c).toBe(server);
      pings.push(Array.from(p));
    });
    client.onPong((p) => pongs.push(Array.from(p)));
    server.start();
    client.start();
    expect(await client.ping("hi")).toBe(true);
    expect(await client.ping(bytes(1, 2))).toBe(true);
    await settle();
    expect(pings).toEqual([[0x68, 0x69], [1, 2]]);
    expect(pongs).toEqual([[0x68, 0x69], [1, 2]]);
    await expect(async () => client.ping(new Uint8Array(126))).rejects.toThrow(RangeError);
  });

  it("an unsolicited pong is delivered to onPong", async () => {
    const { server, client } = connectionPair();
    const pongs: number[][] = [];
    server.onPong((p) => pongs.push(Array.from(p)));
    server.start();
    client.start();
    await client.pong("beat");
    await settle();
    expect(pongs).toEqual([Array.from(utf8("beat"))]);
  });
});

describe("Connection: receiving", () => {
  it("onText/onBinary/onMessage get messages with the connection; unsubscribing works", async () => {
    const { conn, peer } = withRawPeer("server");
    const seen: unknown[] = [];
    conn.onText((t, c) => seen.push(["text", t, c === conn]));
    const off = conn.onBinary((b) => seen.push(["binary", Array.from(b)]));
    conn.onMessage((m) => seen.push(["message", typeof m === "string" ? m : Array.from(m)]));
    conn.start();
    peer.send(cframe({ opcode: 1, payload: "Hello" }), cframe({ opcode: 2, payload: bytes(1, 2) }));
    await settle();
    off();
    peer.send(cframe({ opcode: 2, payload: bytes(3) }));
    await settle();
    expect(seen).toEqual([
      ["text", "Hello", true],
      ["message", "Hello"],
      ["binary", [1, 2]],
      ["message", [1, 2]],
      ["message", [3]],
    ]);
  });

  it("a throwing or rejecting handler is logged, never propagated", async () => {
    const log = recordingLogger();
    const { conn, peer } = withRawPeer("server", { logger: log.logger });
    conn.onText(() => {
      throw new Error("boom");
    });
    conn.onText(async () => {
      throw new Error("async boom");
    });
    conn.start();
    peer.send(cframe({ opcode: 1, payload: "x" }));
    await settle();
    // the first failure is logged at once with its stack; the second is counted and summed up at close
    const errors = () => log.lines.filter((l) => l[0] === "error").map((l) => String(l[1]));
    expect(errors().length).toBe(1);
    expect(errors()[0]).toContain("boom");
    expect(conn.readyState).toBe("open");
    conn.drop();
    await conn.closed;
    expect(errors().length).toBe(2);
    expect(errors()[1]).toContain("async boom");
    expect(errors()[1]).toContain("2 in all");
  });

  it("a handler failing on every message: one line with the stack, then a summary at most every 10 s", async () => {
    vi.useFakeTimers();
    try {
      const log = recordingLogger();
      const { conn, peer } = withRawPeer("server", { logger: log.logger, idleTimeout: 0 });
      conn.onText(() => {
        throw new Error("boom");
      });
      conn.start();
      const errors = () => log.lines.filter((l) => l[0] === "error").map((l) => String(l[1]));
      for (let i = 0; i < 100; i++) peer.send(cframe({ opcode: 1, payload: "x" }));
      await vi.advanceTimersByTimeAsync(1);
      expect(errors().length).toBe(1);
      // the stack comes with the Error object itself, as the context's `err`
      const first = log.lines.find((l) => l[0] === "error")!;
      expect(first[2].err).toBeInstanceOf(Error);
      expect((first[2].err as Error).stack).toMatch(/boom\n\s+at /);
      await vi.advanceTimersByTimeAsync(10_000);
      peer.send(cframe({ opcode: 1, payload: "x" }));
      await vi.advanceTimersByTimeAsync(1);
      expect(errors().length).toBe(2);
      expect(errors()[1]).toContain("100 more time(s) (101 in all)");
      expect(errors()[1]).not.toContain("\n");
    } finally {
      vi.useRealTimers();
    }
  });

  it("read() resolves queued and future messages; `for await` ends on close", async () => {
    const { server, client } = connectionPair();
    server.start();
    client.start();
    await client.send("one");
    expect(await server.read()).toBe("one");
    const pending = server.read();
    await client.send(bytes(7));
    expect(await pending).toEqual(bytes(7));
    void client.send("a");
    void client.send("b");
    void client.send("c").then(() => client.close(1000, "done"));
    const got: Message[] = [];
    for await (const m of server) got.push(m);
    expect(got).toEqual(["a", "b", "c"]);
    expect(await server.read()).toBeNull();
  });

  it("read({ timeout }) rejects with ReadTimeoutError when nothing arrives", async () => {
    vi.useFakeTimers();
    const { server, client } = connectionPair();
    server.start();
    client.start();
    const r = server.read({ timeout: 1000 });
    const assertion = expect(r).rejects.toBeInstanceOf(ReadTimeoutError);
    await vi.advanceTimersByTimeAsync(999);
    await vi.advanceTimersByTimeAsync(1);
    await assertion;
    // a message that arrives later is not lost
    await client.send("later");
    expect(await server.read({ timeout: 1000 })).toBe("later");
  });

  it("read() resolves null when the connection closes while waiting", async () => {
    const { conn, b } = withRawPeer("server");
    conn.start();
    const r = conn.read();
    b.destroy();
    expect(await r).toBeNull();
  });

  it("read pauses the transport past readHighWaterMark and resumes when drained below half", async () => {
    // each queued message counts its payload plus QUEUED_MESSAGE_OVERHEAD: room for two 6-byte messages less one byte
    const { conn, a, peer } = withRawPeer("server", { readHighWaterMark: 2 * (QUEUED_MESSAGE_OVERHEAD + 6) - 1 });
    conn.start();
    peer.send(cframe({ opcode: 2, payload: new Uint8Array(6) }));
    await settle();
    expect(a.pauseCalls).toBe(0);
    peer.send(cframe({ opcode: 2, payload: new Uint8Array(6) }));
    await settle();
    expect(a.isPaused).toBe(true);
    peer.send(cframe({ opcode: 1, payload: "held" }));
    await settle();
    expect(((await conn.read()) as Uint8Array).length).toBe(6); // one message left: above half the mark
    expect(a.isPaused).toBe(true);
    expect(((await conn.read()) as Uint8Array).length).toBe(6); // none left: resume
    expect(a.isPaused).toBe(false);
    await settle();
    expect(await conn.read()).toBe("held");
  });

  it("onFragment: chunks with fin as they arrive; messages no longer assembled", async () => {
    const { conn, peer } = withRawPeer("server");
    const frags: Array<[string, number[], boolean]> = [];
    const texts: string[] = [];
    conn.onText((t) => texts.push(t));
    conn.onFragment((f: Fragment) => frags.push([f.type, Array.from(f.data), f.fin]));
    conn.start();
    peer.send(cframe({ opcode: 1, fin: false, payload: "ab" }));
    await settle();
    expect(frags).toEqual([["text", [0x61, 0x62], false]]);
    peer.send(cframe({ opcode: 0, payload: "c" }), cframe({ opcode: 2, payload: bytes(1) }));
    await settle();
    expect(frags).toEqual([
      ["text", [0x61, 0x62], false],
      ["text", [0x63], true],
      ["binary", [1], true],
    ]);
    expect(texts).toEqual([]);
  });

  it("onFragment validates text: invalid UTF-8 closes with 1007", async () => {
    const { conn, peer } = withRawPeer("server");
    const frags: Fragment[] = [];
    conn.onFragment((f) => void frags.push(f));
    conn.start();
    peer.send(cframe({ opcode: 1, fin: false, payload: bytes(0x61, 0xc0) }));
    const info = await conn.closed;
    // 1007 goes on the wire; the connection was failed, so no close frame was read back: 1006 (RFC 6455 §7.1.5)
    expect(info).toEqual({ code: 1006, reason: "invalid UTF-8 in text message", wasClean: false, failed: true });
    expect(frags).toEqual([]);
    expect(peer.frames().map((f) => [f.opcode, Array.from(f.payload.subarray(0, 2))])).toEqual([[8, [0x03, 0xef]]]);
  });

  it("removing the last onFragment listener goes back to whole messages", async () => {
    const { conn, peer } = withRawPeer("server");
    const off = conn.onFragment(() => {});
    off();
    const texts: string[] = [];
    conn.onText((t) => texts.push(t));
    conn.start();
    peer.send(cframe({ opcode: 1, fin: false, payload: "a" }), cframe({ opcode: 0, payload: "b" }));
    await settle();
    expect(texts).toEqual(["ab"]);
  });

  it("a protocol error from the peer closes with the code, logs once, and reports it", async () => {
    const log = recordingLogger();
    const { conn, peer } = withRawPeer("server", { logger: log.logger });
    const codes: number[] = [];
    conn.onClose((code) => codes.push(code));
    conn.start();
    peer.send(frame({ opcode: 1, payload: "unmasked" }));
    const info = await conn.closed;
    expect(info.code).toBe(1006); // no close frame came back from the peer
    expect(peer.frames().map((f) => [f.opcode, Array.from(f.payload.subarray(0, 2))])).toEqual([[8, [0x03, 0xea]]]);
    expect(log.lines.filter((l) => l[0] === "warn").length).toBe(1);
    expect(codes).toEqual([1006]);
  });
});

describe("Connection: re-entrancy", () => {
  it("drop() inside a message handler: nothing more is delivered from the same chunk, and onClose comes last", async () => {
    const { conn, peer } = withRawPeer("server");
    const seen: string[] = [];
    conn.onText((t) => {
      seen.push(t);
      if (t === "first") conn.drop(4000, "enough");
    });
    conn.onPing(() => void seen.push("ping"));
    conn.onClose((code) => void seen.push(`close ${code}`));
    conn.start();
    peer.send(concatBytes([cframe({ opcode: 1, payload: "first" }), cframe({ opcode: 1, payload: "second" }), cframe({ opcode: 9, payload: "" })]));
    await settle();
    expect(seen).toEqual(["first", "close 4000"]);
  });

  it("drop() inside a fragment handler stops further fragments", async () => {
    const { conn, peer } = withRawPeer("server");
    const seen: number[] = [];
    conn.onFragment((f) => {
      seen.push(f.data.length);
      conn.drop();
    });
    conn.start();
    peer.send(concatBytes([cframe({ opcode: 2, fin: false, payload: "ab" }), cframe({ opcode: 0, payload: "c" })]));
    await settle();
    expect(seen).toEqual([2]);
  });

  it("close() inside a handler: later data in the same chunk is ignored, the handshake completes", async () => {
    const { conn, peer } = withRawPeer("server");
    const seen: string[] = [];
    conn.onText((t) => {
      seen.push(t);
      void conn.close(1000, "stop");
    });
    conn.start();
    peer.send(concatBytes([cframe({ opcode: 1, payload: "a" }), cframe({ opcode: 1, payload: "b" })]));
    await settle();
    peer.send(cframe({ opcode: 8, payload: closePayload(1000) }));
    expect(await conn.closed).toEqual({ code: 1000, reason: "stop", wasClean: true });
    expect(seen).toEqual(["a"]);
  });
});

describe("Connection: closing", () => {
  it("close(): graceful handshake; both ends report the code once; transports closed", async () => {
    const { server, client, a, b } = connectionPair();
    const serverCloses: Array<[number, string]> = [];
    const clientCloses: Array<[number, string]> = [];
    server.onClose((c, r) => void serverCloses.push([c, r]));
    client.onClose((c, r) => void clientCloses.push([c, r]));
    server.start();
    client.start();
    const info = await client.close(4000, "bye");
    expect(info).toEqual({ code: 4000, reason: "bye", wasClean: true });
    expect(await server.closed).toEqual({ code: 4000, reason: "bye", wasClean: true });
    await settle();
    expect(serverCloses).toEqual([[4000, "bye"]]);
    expect(clientCloses).toEqual([[4000, "bye"]]);
    expect(a.closed && b.closed).toBe(true);
    expect(a.destroyCalls + b.destroyCalls).toBe(0); // ended cleanly, not destroyed
    expect(server.readyState).toBe("closed");
    // the second close() is a no-op returning the same promise
    expect(await client.close()).toEqual(info);
    // onClose after the fact still fires, once
    const late: number[] = [];
    client.onClose((c) => void late.push(c));
    await settle();
    expect(late).toEqual([4000]);
  });

  it("close() with an invalid code throws RangeError and sends nothing", () => {
    const { conn, a } = withRawPeer("server");
    conn.start();
    for (const code of [999, 1005, 1006, 1015, 2000, 5000]) expect(() => conn.close(code)).toThrow(RangeError);
    expect(a.writeCalls).toBe(0);
  });

  it("the close frame on the wire is byte-exact", async () => {
    const { conn, peer } = withRawPeer("server");
    conn.start();
    void conn.close(1001, "away");
    await settle();
    expect(hex(peer.bytes())).toBe("88 06 03 e9 61 77 61 79");
  });

  it("the close timeout drops a peer that never answers, reported as 1006", async () => {
    vi.useFakeTimers();
    const { conn, peer, a } = withRawPeer("server", { closeTimeout: 1000 });
    conn.start();
    let done = false;
    const closed = conn.close(1000).then((i) => ((done = true), i));
    await vi.advanceTimersByTimeAsync(999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toBe(true);
    expect(await closed).toEqual({ code: 1006, reason: "no close frame received", wasClean: false });
    expect(a.destroyCalls).toBe(1);
    expect(peer.frames().map((f) => f.opcode)).toEqual([8]);
  });

  it("after the handshake, a peer that never closes its side is dropped after the close timeout", async () => {
    vi.useFakeTimers();
    const { conn, peer, a } = withRawPeer("server", { closeTimeout: 1000 }, { autoEnd: false });
    conn.start();
    peer.send(cframe({ opcode: 8, payload: closePayload(1000, "x") }));
    await vi.advanceTimersByTimeAsync(0);
    expect(peer.ended).toBe(true); // we half-closed after the echo
    expect(conn.readyState).toBe("closing");
    await vi.advanceTimersByTimeAsync(1000);
    expect(a.destroyCalls).toBe(1);
    expect(await conn.closed).toEqual({ code: 1000, reason: "x", wasClean: true });
  });

  it("drop(): immediate, code reported, close frame sent best effort; peer sees the code", async () => {
    const { server, client, a } = connectionPair();
    server.start();
    client.start();
    const codes: number[] = [];
    server.onClose((c) => void codes.push(c));
    server.drop(4001, "kicked");
    expect(server.readyState).toBe("closed");
    expect(await server.closed).toEqual({ code: 4001, reason: "kicked", wasClean: false });
    expect(a.destroyCalls).toBe(1);
    // the close frame was handed to the transport; destroy() may discard it (the memory stream does, as the
    // ByteStream contract allows), so the peer sees the transport die: 1006
    expect(hex(a.sentBytes)).toBe(hex(frame({ opcode: 8, payload: closePayload(4001, "kicked") })));
    const c = await client.closed;
    expect(c.code).toBe(1006);
    server.drop(1000);
    await settle();
    expect(codes).toEqual([4001]);
  });

  it("drop() without a code: nothing sent, 1006 at both ends", async () => {
    const { server, client, a } = connectionPair();
    server.start();
    client.start();
    server.drop();
    expect(await server.closed).toEqual({ code: 1006, reason: "", wasClean: false });
    expect((await client.closed).code).toBe(1006);
    expect(a.sentBytes.length).toBe(0);
  });

  it("the transport dying without a close frame reports 1006 once, and nothing is sent", async () => {
    const { conn, b, a } = withRawPeer("server");
    const codes: number[] = [];
    conn.onClose((c) => void codes.push(c));
    conn.start();
    b.destroy();
    const info = await conn.closed;
    expect(info.code).toBe(1006);
    expect(info.wasClean).toBe(false);
    await settle();
    expect(codes).toEqual([1006]);
    expect(a.sentBytes.length).toBe(0);
  });

  it("EOF from the peer before any close frame reports 1006", async () => {
    const { conn, b } = withRawPeer("server");
    conn.start();
    b.end();
    expect((await conn.closed).code).toBe(1006);
  });

  it("an empty close from the peer is answered with an empty close and reported as 1005", async () => {
    const { conn, peer } = withRawPeer("server");
    conn.start();
    peer.send(cframe({ opcode: 8, payload: bytes() }));
    await settle();
    expect(hex(peer.bytes())).toBe("88 00");
    peer.stream.end();
    expect(await conn.closed).toEqual({ code: 1005, reason: "", wasClean: true });
  });
});

describe("Connection: fragmented send with stream()", () => {
  it("produces Text fin=0, Continuation fin=0, Continuation fin=1", async () => {
    const { conn, peer } = withRawPeer("server");
    conn.start();
    const w = conn.stream("text");
    expect(await w.write("Hel")).toBe(true);
    expect(await w.write(utf8("l"))).toBe(true);
    expect(await w.end("o")).toBe(true);
    await settle();
    expect(hex(peer.bytes())).toBe(hex(bytes(0x01, 3, 0x48, 0x65, 0x6c, 0x00, 1, 0x6c, 0x80, 1, 0x6f)));
    await expect(w.write("x")).rejects.toThrow();
  });

  it("binary stream ended without a chunk sends an empty final continuation", async () => {
    const { conn, peer } = withRawPeer("server");
    conn.start();
    const w = conn.stream();
    await w.write(bytes(1, 2));
    await w.end();
    await settle();
    expect(hex(peer.bytes())).toBe("02 02 01 02 80 00");
  });

  it("a send() during a streamed message waits for its end, while a ping may go between its frames", async () => {
    const { conn, peer } = withRawPeer("server");
    conn.start();
    const w = conn.stream("binary");
    await w.write(bytes(1));
    const sent = conn.send("after");
    await conn.ping("p");
    await w.write(bytes(2));
    await settle();
    expect(peer.frames().map((f) => [f.opcode, f.fin])).toEqual([
      [2, false],
      [9, true],
      [0, false],
    ]);
    await w.end(bytes(3));
    expect(await sent).toBe(true);
    await settle();
    expect(peer.frames().map((f) => [f.opcode, f.fin, Array.from(f.payload)])).toEqual([
      [2, false, [1]],
      [9, true, [0x70]],
      [0, false, [2]],
      [0, true, [3]],
      [1, true, Array.from(utf8("after"))],
    ]);
  });

  it("a second stream waits for the first; a client's streamed frames are masked", async () => {
    const { conn, peer } = withRawPeer("client");
    conn.start();
    const w1 = conn.stream("text");
    const w2 = conn.stream("binary");
    await w1.write("a");
    const second = w2.end(bytes(9));
    await w1.end("b");
    await second;
    await settle();
    expect(peer.frames().map((f) => [f.opcode, f.fin, f.masked, Array.from(f.payload)])).toEqual([
      [1, false, true, [0x61]],
      [0, true, true, [0x62]],
      [2, true, true, [9]],
    ]);
  });

  it("pending sends resolve false when the connection closes during a stream", async () => {
    const { conn, b } = withRawPeer("server");
    conn.start();
    const w = conn.stream();
    await w.write(bytes(1));
    const waiting = conn.send("queued");
    b.destroy();
    expect(await waiting).toBe(false);
    expect(await w.end(bytes(2))).toBe(false);
  });
});

describe("Connection: backpressure", () => {
  it("bufferedAmount, drained() and onDrain with a full transport", async () => {
    const { conn, a, peer } = withRawPeer("server", {}, { highWaterMark: 16 });
    conn.start();
    a.stall();
    const drains: number[] = [];
    conn.onDrain(() => void drains.push(conn.bufferedAmount));
    expect(conn.bufferedAmount).toBe(0);
    void conn.send(new Uint8Array(100));
    expect(conn.bufferedAmount).toBe(102); // queued in the connection
    await settle();
    expect(a.writeResults).toEqual([false]);
    expect(conn.bufferedAmount).toBe(102); // now in the transport
    let drained = false;
    const d = conn.drained().then(() => (drained = true));
    await settle();
    expect(drained).toBe(false);
    a.unstall();
    await d;
    expect(drains).toEqual([0]);
    expect(conn.bufferedAmount).toBe(0);
    expect(peer.frames().map((f) => f.payload.length)).toEqual([100]);
  });

  it("drained() resolves once everything was handed to a transport that is not full", async () => {
    const { conn } = withRawPeer("server");
    conn.start();
    void conn.send("x");
    expect(await within(conn.drained())).not.toBe("timeout");
  });

  it("stream() with a highWaterMark below the transport's does not wait for a drain that never comes", async () => {
    const { conn, peer } = withRawPeer("server");
    conn.start();
    const w = conn.stream("binary", { highWaterMark: 10 });
    const done = (async () => {
      for (let i = 0; i < 3; i++) await w.write(new Uint8Array(100));
      return w.end(new Uint8Array(1));
    })();
    expect(await within(done)).toBe(true);
    await settle();
    expect(peer.frames().map((f) => [f.opcode, f.fin, f.payload.length])).toEqual([
      [2, false, 100],
      [0, false, 100],
      [0, false, 100],
      [0, true, 1],
    ]);
  });

  it("stream() waits for the transport to drain when it is full", async () => {
    const { conn, a, peer } = withRawPeer("server", {}, { highWaterMark: 50 });
    conn.start();
    a.stall();
    const w = conn.stream("binary", { highWaterMark: 10 });
    let wrote = false;
    const first = w.write(new Uint8Array(100)).then(() => (wrote = true));
    await settle();
    expect(wrote).toBe(false);
    a.unstall();
    await first;
    await w.end();
    await settle();
    expect(peer.frames().map((f) => f.payload.length)).toEqual([100, 0]);
  });

  it("maxBufferedAmount with backpressure 'close' drops with 1008", async () => {
    const { conn, a, peer } = withRawPeer("server", { maxBufferedAmount: 50, backpressure: "close" }, { highWaterMark: 16 });
    conn.start();
    a.stall();
    expect(await conn.send(new Uint8Array(40))).toBe(true); // an empty buffer always admits one message
    expect(await conn.send(new Uint8Array(40))).toBe(false);
    const info = await conn.closed;
    expect(info.code).toBe(1008);
    void peer;
  });

  it("maxBufferedAmount with backpressure 'reject' refuses the send and stays open", async () => {
    const { conn, a, peer } = withRawPeer("server", { maxBufferedAmount: 50, backpressure: "reject" }, { highWaterMark: 16 });
    conn.start();
    a.stall();
    expect(await conn.send(new Uint8Array(40))).toBe(true);
    expect(await conn.send(new Uint8Array(40))).toBe(false);
    expect(await conn.send(new Uint8Array(8))).toBe(true); // 42 + 8 fits
    expect(conn.readyState).toBe("open");
    a.unstall();
    await settle();
    expect(await conn.send(new Uint8Array(40))).toBe(true);
    await settle();
    expect(peer.frames().map((f) => f.payload.length)).toEqual([40, 8, 40]);
  });
});

describe("Connection: keepalive (idleTimeout)", () => {
  it("pings after half the timeout of silence and drops (1006) after the second half without an answer", async () => {
    vi.useFakeTimers();
    const { conn, peer, a } = withRawPeer("server", { idleTimeout: 10_000 });
    const codes: number[] = [];
    conn.onClose((c) => void codes.push(c));
    conn.start();
    await vi.advanceTimersByTimeAsync(4999);
    expect(peer.frames()).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(peer.frames().map((f) => f.opcode)).toEqual([9]);
    await vi.advanceTimersByTimeAsync(4999);
    expect(conn.readyState).toBe("open");
    await vi.advanceTimersByTimeAsync(1);
    expect(conn.readyState).toBe("closed");
    expect((await conn.closed).code).toBe(1006);
    expect(codes).toEqual([1006]);
    expect(a.destroyCalls).toBe(1);
    expect(peer.frames().map((f) => f.opcode)).toEqual([9]); // no close frame: the peer is gone
  });

  it("a peer that answers pings stays connected", async () => {
    vi.useFakeTimers();
    const { server, client } = connectionPair({ idleTimeout: 10_000 });
    const pings: number[] = [];
    client.onPing(() => void pings.push(Date.now()));
    server.start();
    client.start();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(server.readyState).toBe("open");
    expect(pings.length).toBeGreaterThanOrEqual(5);
  });

  it("a peer that keeps sending data is never pinged", async () => {
    vi.useFakeTimers();
    const { conn, peer } = withRawPeer("server", { idleTimeout: 10_000 });
    conn.start();
    for (let i = 0; i < 12; i++) {
      peer.send(cframe({ opcode: 1, payload: "tick" }));
      await vi.advanceTimersByTimeAsync(2500);
    }
    expect(conn.readyState).toBe("open");
    expect(peer.frames()).toEqual([]);
  });
});

describe("Connection: identity", () => {
  it("exposes id, role, request, protocol, extensions, data", () => {
    const [a] = memoryPair();
    const conn = Connection.overStream<{ user: string }>(a, { role: "server", request, protocol: "chat", extensions: "", id: "c1", logger: silentLogger });
    conn.data = { user: "u" };
    expect([conn.id, conn.role, conn.request.url, conn.protocol, conn.extensions, conn.data.user, conn.readyState]).toEqual([
      "c1",
      "server",
      "/test",
      "chat",
      "",
      "u",
      "connecting",
    ]);
    const other = Connection.overStream(a, { role: "server", request, logger: silentLogger });
    const third = Connection.overStream(a, { role: "server", request, logger: silentLogger });
    // generated ids: a per-process random prefix and a counter, unique within and across processes
    expect(other.id).toMatch(/^[0-9a-f]{12}-[0-9a-z]+$/);
    expect(third.id).not.toBe(other.id);
    expect(third.id.split("-")[0]).toBe(other.id.split("-")[0]);
    expect(other.protocol).toBeNull();
  });

  it("topics need a hub", () => {
    const [a] = memoryPair();
    const conn = Connection.overStream(a, { role: "server", request, logger: silentLogger });
    expect(() => conn.subscribe("x")).toThrow();
  });
});
