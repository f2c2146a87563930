/**
 * What a connection creates only when it is first used (issue 26: the cost of one connection). Each test uses the
 * lazily made thing late — after it has been used and let go once, or after the connection has idled — and checks
 * it still works: a transport's write batch (the shared empty list between turns), the runtime transport's drain
 * waiters and its shared capabilities, the release of an adapter's `raw` accessor (no thrown error), and the
 * ASCII path of the HTTP head parser.
 */
import { describe, expect, it } from "vitest";
import { createUpgradeRequest, HeaderMap, silentLogger, type SendData } from "../src/index.ts";
import { ProtocolTransport, RuntimeSocketTransport, type ByteStream, type RuntimeSocket } from "../src/adapter.ts";
import { parseHttpHead, type HttpHead } from "../src/protocol.ts";
import { releaseRawRequest } from "../src/wire/handshake.ts";
import { NO_TRANSPORT_EVENTS } from "../src/session/transport.ts";
import { DEFAULT_SETTINGS } from "../src/settings/resolve.ts";

const turn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** A byte stream that records each write. */
function recordingStream(): { stream: ByteStream; writes: Uint8Array[] } {
  const writes: Uint8Array[] = [];
  const stream: ByteStream = {
    start: () => {},
    write: (chunk) => (writes.push(chunk.slice()), true),
    end: () => {},
    destroy: () => {},
    bufferedAmount: 0,
  };
  return { stream, writes };
}

/** The text payloads of unmasked server frames (short ones: 7-bit lengths), in order. */
function texts(writes: Uint8Array[]): string[] {
  const out: string[] = [];
  for (const w of writes) {
    for (let at = 0; at < w.length; ) {
      const length = w[at + 1]! & 0x7f;
      out.push(new TextDecoder().decode(w.subarray(at + 2, at + 2 + length)));
      at += 2 + length;
    }
  }
  return out;
}

describe("the write batch, made by the first send of a turn", () => {
  it("carries every turn's sends, in order, after an idle start and after each batch has gone", async () => {
    const { stream, writes } = recordingStream();
    const transport = new ProtocolTransport(stream, { role: "server", settings: DEFAULT_SETTINGS, logger: silentLogger, label: "t" });
    transport.attach(NO_TRANSPORT_EVENTS, false);
    await turn(); // idle: nothing queued, nothing written
    expect(writes).toEqual([]);
    expect(await transport.sendText("a")).toBe(true);
    expect(writes.length).toBe(1);
    // the next turn's batch is a new one: two sends, one write
    const b = transport.sendText("b");
    const c = transport.sendBytes("text", new TextEncoder().encode("c"));
    transport.queueFrame(new Uint8Array([0x81, 1, 0x64])); // "d", a frame made elsewhere
    expect(await Promise.all([b, c])).toEqual([true, true]);
    expect(writes.length).toBe(2);
    await turn();
    expect(await transport.sendText("e")).toBe(true);
    // a turn whose first chunk is a frame made elsewhere (a broadcast's)
    await turn();
    expect(await transport.sendFrame(new Uint8Array([0x81, 1, 0x66]))).toBe(true);
    transport.queueFrame(new Uint8Array([0x81, 1, 0x67]));
    await turn();
    expect(texts(writes)).toEqual(["a", "b", "c", "d", "e", "f", "g"]);
  });
});

/** A runtime's socket whose buffer holds what `buffered` says, with a drain event or without. */
class Socket implements RuntimeSocket {
  readonly engineName = "Test.serve";
  readonly sent: SendData[] = [];
  bufferedAmount = 0;
  readonly hasDrainEvent: boolean;
  ping?: (data: Uint8Array) => void;
  constructor(hasDrainEvent: boolean, withPing: boolean) {
    this.hasDrainEvent = hasDrainEvent;
    if (withPing) this.ping = () => {};
  }
  sendText(text: string): boolean {
    this.sent.push(text);
    return true;
  }
  sendBinary(bytes: Uint8Array): boolean {
    this.sent.push(bytes);
    return true;
  }
  close(): void {}
  terminate(): void {}
}

describe("the runtime transport's drain waiters, made by the first wait", () => {
  it("let each wait go at its drain, the second wait after the first list was let go too", async () => {
    const socket = new Socket(true, true);
    const transport = new RuntimeSocketTransport(socket, { maxMessageSize: 1024, keepaliveNative: false, logger: silentLogger, label: "r" });
    transport.attach(NO_TRANSPORT_EVENTS);
    for (const round of [1, 2]) {
      socket.bufferedAmount = 10;
      let drained = 0;
      const waits = [transport.drained().then(() => drained++), transport.drained().then(() => drained++)];
      await turn();
      expect(drained).toBe(0);
      socket.bufferedAmount = 0;
      transport.handleDrain();
      await Promise.all(waits);
      expect([round, drained]).toEqual([round, 2]);
    }
  });

  it("let the waits go when the connection ends, and a wait after the end resolves at once", async () => {
    const socket = new Socket(true, true);
    const transport = new RuntimeSocketTransport(socket, { maxMessageSize: 1024, keepaliveNative: false, logger: silentLogger, label: "r" });
    transport.attach(NO_TRANSPORT_EVENTS);
    socket.bufferedAmount = 10;
    const waiting = transport.drained();
    transport.handleClose(1000, "");
    await waiting;
    await transport.drained();
  });

  it("report each socket's own capabilities, though the objects are shared", () => {
    const make = (ping: boolean, keepaliveNative: boolean) =>
      new RuntimeSocketTransport(new Socket(true, ping), { maxMessageSize: 1024, keepaliveNative, logger: silentLogger, label: "r" }).capabilities;
    for (const ping of [false, true]) {
      for (const keepaliveNative of [false, true]) {
        expect(make(ping, keepaliveNative)).toEqual({ fragmentedReceive: false, fragmentedSend: false, ping, rawFrames: false, nativeKeepalive: keepaliveNative });
      }
    }
  });
});

function upgradeRequest() {
  return createUpgradeRequest({
    method: "GET",
    url: "/",
    httpVersion: "1.1",
    headers: new HeaderMap({ host: "x", upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" }),
  });
}

describe("releaseRawRequest", () => {
  it("replaces an adapter's getter-only `raw` (built on first use) without touching it", () => {
    const req = upgradeRequest();
    let built = 0;
    Object.defineProperty(req, "raw", { get: () => (built++, { built: true }), enumerable: true, configurable: true });
    releaseRawRequest(req);
    expect(req.raw).toBeUndefined();
    expect(built).toBe(0);
    expect(Object.keys(req)).toContain("raw");
  });

  it("assigns through an accessor with a setter, and clears a plain `raw`", () => {
    const withSetter = upgradeRequest();
    let stored: unknown = { kept: true };
    Object.defineProperty(withSetter, "raw", { get: () => stored, set: (v) => void (stored = v), enumerable: true, configurable: true });
    releaseRawRequest(withSetter);
    expect(stored).toBeUndefined();
    const plain = createUpgradeRequest({ method: "GET", url: "/", httpVersion: "1.1", headers: new HeaderMap({}), raw: { a: 1 } });
    releaseRawRequest(plain);
    expect(plain.raw).toBeUndefined();
  });

  it("leaves a getter-only `raw` that cannot be replaced as it is, without throwing", () => {
    const req = upgradeRequest();
    Object.defineProperty(req, "raw", { get: () => "kept", enumerable: true, configurable: false });
    expect(() => releaseRawRequest(req)).not.toThrow();
    expect(req.raw).toBe("kept");
  });
});

describe("parseHttpHead's ASCII path", () => {
  const parse = (bytes: number[]) => parseHttpHead(new Uint8Array(bytes)) as HttpHead;
  const ascii = (text: string) => Array.from(text, (c) => c.charCodeAt(0));

  it("reads an ASCII head as the byte-per-char path does, names and values as strings of their own", () => {
    const text = "GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nX-Key: abcdefghijklmnop\r\n\r\n";
    const head = parse(ascii(`${text}rest`));
    expect(head.startLine).toEqual(["GET", "/chat?room=1", "HTTP/1.1"]);
    expect(head.headers.get("host")).toBe("example.com");
    expect(head.headers.get("x-key")).toBe("abcdefghijklmnop");
    expect(head.length).toBe(text.length);
  });

  it("gives each head its own values of the fields whose recent values are shared, through more values than are kept", () => {
    for (let i = 0; i < 200; i++) {
      const host = `host-${i % 70}.example:${8000 + (i % 70)}`;
      const agent = `Agent/${i % 3} (a long user agent string, as browsers send)`;
      const head = parse(ascii(`GET / HTTP/1.1\r\nHost: ${host}\r\nUser-Agent:  ${agent} \r\nORIGIN: http://${host}\r\nCookie: s=${i}\r\n\r\n`));
      expect([head.headers.get("host"), head.headers.get("user-agent"), head.headers.get("origin"), head.headers.get("cookie")]).toEqual([host, agent, `http://${host}`, `s=${i}`]);
    }
  });

  it("reads bytes over 0x7f one char per byte (ISO-8859-1), never as UTF-8", () => {
    // "é" as UTF-8 is C3 A9: two chars here, not one; a lone E9 is "é"
    const head = parse([...ascii("GET / HTTP/1.1\r\nHost: x\r\nX-A: caf"), 0xc3, 0xa9, ...ascii("\r\nX-B: caf"), 0xe9, ...ascii("\r\nUser-Agent: caf"), 0xe9, ...ascii("\r\n\r\n")]);
    expect(head.headers.get("x-a")).toBe("caf\u00c3\u00a9");
    expect(head.headers.get("x-b")).toBe("caf\u00e9");
    expect(head.headers.get("user-agent")).toBe("caf\u00e9");
    expect(head.headers.get("host")).toBe("x");
  });
});
