/**
 * core's client/: `connectWith` (what every adapter's connect() shares: the URL, the defaults, the time the dial
 * may take) and `RefusalBody` (the bounded start of a refusal's body that HandshakeError carries).
 */
import { describe, expect, it } from "vitest";
import { HandshakeError, silentLogger } from "../src/index.ts";
import { connectWith, type DialTarget } from "../src/adapter.ts";
import { bodyExcerpt, RefusalBody, REFUSAL_BODY_LIMIT } from "../src/client/refusal-body.ts";
import { HeaderMap } from "../src/index.ts";
import { memoryPair, type MemoryStream } from "./support/memory-stream.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);

/** A dial that records its target and answers every request with `response` (the stream's peer writes it). */
function answering(response: string) {
  const targets: Array<DialTarget<{ ca: string }>> = [];
  const streams: MemoryStream[] = [];
  const dial = async (target: DialTarget<{ ca: string }>) => {
    targets.push(target);
    const [server, client] = memoryPair();
    server.start({ data: () => void server.write(utf8(response)), drain: () => {}, end: () => {}, close: () => {} });
    streams.push(client);
    return client;
  };
  return { targets, streams, dial };
}

describe("connectWith", () => {
  it("gives the dial the host (IPv6 without brackets), the port or the scheme's default, TLS for wss, the timeout and the adapter's tls", async () => {
    const { targets, dial } = answering("HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope");
    const logger = silentLogger;
    await expect(connectWith("ws://example.com/a", { logger }, { dial })).rejects.toBeInstanceOf(HandshakeError);
    await expect(connectWith("wss://[::1]/a", { logger, tls: { ca: "x" }, handshakeTimeout: 2500 }, { dial })).rejects.toBeInstanceOf(HandshakeError);
    await expect(connectWith("https://h:8443/a", { logger }, { dial })).rejects.toBeInstanceOf(HandshakeError);
    await expect(connectWith("http://h/a", { logger }, { dial })).rejects.toBeInstanceOf(HandshakeError);
    expect(targets.map(({ hostname, port, secure, timeout, tls }) => ({ hostname, port, secure, timeout, tls }))).toEqual([
      { hostname: "example.com", port: 80, secure: false, timeout: 10_000, tls: undefined },
      { hostname: "::1", port: 443, secure: true, timeout: 2500, tls: { ca: "x" } },
      { hostname: "h", port: 8443, secure: true, timeout: 10_000, tls: undefined },
      { hostname: "h", port: 80, secure: false, timeout: 10_000, tls: undefined },
    ]);
  });

  it("refuses a bad URL or option before dialing, naming it", async () => {
    const { targets, dial } = answering("");
    await expect(connectWith("ftp://h/", {}, { dial })).rejects.toThrow(/url: "ftp:\/\/h\/" is not allowed/);
    await expect(connectWith("ws://h/", { handshakeTimeout: 10 }, { dial })).rejects.toThrow(/handshakeTimeout.*milliseconds/);
    expect(targets).toEqual([]);
  });

  it("gives up on a dial that takes longer than handshakeTimeout: aborts its signal, closes a socket that opens late", async () => {
    let target: DialTarget<never> | undefined;
    let opened!: (s: MemoryStream) => void;
    const dial = (t: DialTarget<never>) => {
      target = t;
      return new Promise<MemoryStream>((resolve) => (opened = resolve));
    };
    await expect(connectWith("ws://h/", { handshakeTimeout: 100 }, { dial })).rejects.toThrow("connect to h timed out after 100 ms");
    expect(target!.signal.aborted).toBe(true);
    const [, late] = memoryPair();
    opened(late);
    await new Promise<void>((resolve) => setTimeout(() => resolve(), 0));
    expect(late.closed).toBe(true);
  });

  it("offers permessage-deflate with the runtime's codec unless perMessageDeflate: false", async () => {
    const requests: string[] = [];
    const dial = async () => {
      const [server, client] = memoryPair();
      server.start({
        data: (d) => {
          requests.push(new TextDecoder().decode(d));
          void server.write(utf8("HTTP/1.1 403 Forbidden\r\n\r\n"));
          server.end();
        },
        drain: () => {},
        end: () => {},
        close: () => {},
      });
      return client;
    };
    const deflateCodec = { deflate: () => new Uint8Array(0), inflate: () => new Uint8Array(0) } as never;
    await connectWith("ws://h/", { logger: silentLogger }, { dial, deflateCodec }).catch(() => {});
    await connectWith("ws://h/", { logger: silentLogger, perMessageDeflate: false }, { dial, deflateCodec }).catch(() => {});
    expect(requests[0]).toMatch(/Sec-WebSocket-Extensions: permessage-deflate/i);
    expect(requests[1]).not.toMatch(/Sec-WebSocket-Extensions/i);
  });
});

describe("HandshakeError from a refusal", () => {
  it("carries status, statusText, headers and the body; its message quotes the body", async () => {
    const { dial, streams } = answering("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\nContent-Length: 21\r\n\r\nmissing or bad token\n");
    const e = (await connectWith("ws://h/", { logger: silentLogger }, { dial }).catch((x: unknown) => x)) as HandshakeError;
    expect(e).toBeInstanceOf(HandshakeError);
    expect([e.status, e.statusText, e.headers.get("www-authenticate"), e.body]).toEqual([401, "Unauthorized", "Bearer", "missing or bad token\n"]);
    expect(e.message).toBe("unexpected HTTP status 401 Unauthorized: missing or bad token");
    expect(streams[0]!.closed).toBe(true);
  });

  it("without a response (a timeout): no status, empty headers and body", () => {
    const e = new HandshakeError("no handshake response within 10 ms");
    expect([e.status, e.statusText, [...(e.headers as unknown as Iterable<unknown>)], e.body]).toEqual([undefined, "", [], ""]);
  });
});

describe("RefusalBody", () => {
  const body = (status: number, headers: Record<string, string>, ...chunks: Array<string | Uint8Array>) => {
    const b = new RefusalBody(status, new HeaderMap(headers));
    for (const c of chunks) b.push(typeof c === "string" ? utf8(c) : c);
    return b;
  };

  it("is done at Content-Length, at the last chunk, at once for 204 and 304, and at the limit", () => {
    expect(body(401, { "content-length": "5" }, "hel").done).toBe(false);
    expect(body(401, { "content-length": "5" }, "hel", "lo!!").text()).toBe("hello");
    expect(body(401, { "content-length": "5" }, "hello").done).toBe(true);
    expect(body(401, { "content-length": "0" }).done).toBe(true);
    expect(body(204, {}).done).toBe(true);
    expect(body(304, {}).done).toBe(true);
    expect(body(401, {}, "until close").done).toBe(false);
    const chunked = body(429, { "transfer-encoding": "chunked" }, "3;ext=1\r\nabc\r\n", "2\r\nde\r\n");
    expect([chunked.done, chunked.text()]).toEqual([false, "abcde"]);
    chunked.push(utf8("0\r\n\r\n"));
    expect([chunked.done, chunked.text()]).toEqual([true, "abcde"]);
    const huge = body(403, {}, "x".repeat(3000), "y".repeat(3000));
    expect([huge.done, huge.text().length]).toEqual([true, REFUSAL_BODY_LIMIT]);
  });

  it("bounds a chunked body whose chunks never end, and one of endless chunk lines", () => {
    const b = new RefusalBody(500, new HeaderMap({ "transfer-encoding": "chunked" }));
    for (let i = 0; i < 100 && !b.done; i++) b.push(utf8(`400\r\n${"z".repeat(1024)}\r\n`));
    expect([b.done, b.text().length]).toEqual([true, REFUSAL_BODY_LIMIT]);
    const lines = new RefusalBody(500, new HeaderMap({ "transfer-encoding": "chunked" }));
    for (let i = 0; i < 100 && !lines.done; i++) lines.push(utf8("1;" + "e".repeat(1000)));
    expect([lines.done, lines.text()]).toEqual([true, ""]);
  });

  it("decodes UTF-8 with U+FFFD for bad bytes, and leaves out a character cut at the limit", () => {
    expect(body(400, {}, new Uint8Array([0x6f, 0x6b, 0xff, 0x21])).text()).toBe("ok\uFFFD!");
    const cut = body(400, {}, "a".repeat(REFUSAL_BODY_LIMIT - 1) + "\u00e9tait");
    expect(cut.done).toBe(true);
    expect(cut.text()).toBe("a".repeat(REFUSAL_BODY_LIMIT - 1));
  });

  it("is quoted in the message as one short line: whitespace folded, control characters escaped, cut with …", () => {
    expect(bodyExcerpt("  missing\r\n  or bad\ttoken\n")).toBe("missing or bad token");
    expect(bodyExcerpt("a\u001b[31mb")).toBe("a\\x1b[31mb");
    expect(bodyExcerpt("x".repeat(5000))).toBe(`${"x".repeat(120)}…`);
  });
});
