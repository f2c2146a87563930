import { describe, expect, it } from "vitest";
import { HeaderMap, type UpgradeRequestInit } from "../src/index.ts";
import { buildRejectResponse } from "../src/adapter.ts";
import { acceptKey, base64Decode, base64Encode, buildAcceptResponse, createClientHandshake, parseExtensionHeader, parseHeaderList, parseHttpHead, selectProtocol, serializeExtensions, sha1, validateHandshakeResponse, validateUpgradeRequest } from "../src/protocol.ts";
import { hex, utf8 } from "./support/frames.ts";
import { isWebSocketKey } from "../src/wire/handshake.ts";
import { RawHeaders } from "../src/wire/http.ts";

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

function request(headers: Record<string, string>, overrides: Partial<UpgradeRequestInit> = {}): UpgradeRequestInit {
  return {
    method: "GET",
    url: "/chat",
    httpVersion: "1.1",
    headers: new HeaderMap({
      Host: "server.example.com",
      Upgrade: "websocket",
      Connection: "Upgrade",
      "Sec-WebSocket-Key": KEY,
      "Sec-WebSocket-Version": "13",
      ...headers,
    }),
    ...overrides,
  };
}

describe("sha1 and base64", () => {
  it("sha1 matches the FIPS 180 vectors", () => {
    const h = (s: string) => hex(sha1(utf8(s))).replace(/ /g, "");
    expect(h("abc")).toBe("a9993e364706816aba3e25717850c26c9cd0d89d");
    expect(h("")).toBe("da39a3ee5e6b4b0d3255bfef95601890afd80709");
    expect(h("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")).toBe("84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    expect(h("a".repeat(1000000))).toBe("34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  });

  it("sha1 across the padding boundaries (55, 56, 63, 64, 65 bytes)", () => {
    const expected: Record<number, string> = {
      55: "c1c8bbdc22796e28c0e15163d20899b65621d65a",
      56: "c2db330f6083854c99d4b5bfb6e8f29f201be699",
      64: "0098ba824b5c16427bd7a1122a5a442a25ec644d",
    };
    for (const [n, digest] of Object.entries(expected)) {
      expect(hex(sha1(utf8("a".repeat(Number(n))))).replace(/ /g, ""), `${n} bytes`).toBe(digest);
    }
  });

  it("base64 round trip and strictness", () => {
    expect(base64Encode(utf8("the sample nonce"))).toBe(KEY);
    expect(base64Decode(KEY)).toEqual(utf8("the sample nonce"));
    expect(base64Decode("")).toEqual(new Uint8Array(0));
    expect(base64Decode("QQ==")).toEqual(utf8("A"));
    for (const bad of ["QQ", "QQ=", "Q===", "QR==", "QQ==QQ==", "Q Q=", "QQ=a", "@@@@", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZR=="]) {
      expect(base64Decode(bad), bad).toBeNull();
    }
  });
});

describe("server handshake (RFC 6455 §4.2.1)", () => {
  // RFC 6455 §1.3 / §4.2.2: the accept value for the sample nonce is "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" (also what
  // node:crypto computes for SHA-1 of key + GUID); the brief quoted "s3pPLMBiTxaQ9kYGJzPo+xo4YzI=", which is not it.
  it("acceptKey with the RFC example", () => {
    expect(acceptKey(KEY)).toBe("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  });

  it("accepts a valid request, case-insensitive Upgrade and Connection lists", () => {
    for (const [upgrade, connection] of [
      ["websocket", "Upgrade"],
      ["WebSocket", "upgrade"],
      ["WEBSOCKET", "keep-alive, Upgrade"],
      ["websocket", "Upgrade, keep-alive"],
      ["h2c, websocket", "keep-alive,UPGRADE"],
    ]) {
      const r = validateUpgradeRequest(request({ Upgrade: upgrade!, Connection: connection! }));
      expect(r, `${upgrade} / ${connection}`).toEqual({ ok: true, key: KEY, protocols: [], extensions: [] });
    }
  });

  it("lists the offered protocols and extensions", () => {
    const r = validateUpgradeRequest(
      request({ "Sec-WebSocket-Protocol": "chat, superchat", "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits" }),
    );
    expect(r).toEqual({
      ok: true,
      key: KEY,
      protocols: ["chat", "superchat"],
      extensions: [{ name: "permessage-deflate", params: { client_max_window_bits: true } }],
    });
  });

  const rejections: Array<[string, UpgradeRequestInit, number]> = [
    ["method POST", request({}, { method: "POST" }), 405],
    ["HTTP/1.0", request({}, { httpVersion: "1.0" }), 400],
    ["HTTP version garbage", request({}, { httpVersion: "x" }), 400],
    ["no Upgrade", request({ Upgrade: "" }), 400],
    ["Upgrade: h2c", request({ Upgrade: "h2c" }), 400],
    ["Connection: keep-alive", request({ Connection: "keep-alive" }), 400],
    ["Connection: upgraded", request({ Connection: "upgraded" }), 400],
    ["no key", request({ "Sec-WebSocket-Key": "" }), 400],
    ["key of 15 bytes", request({ "Sec-WebSocket-Key": base64Encode(new Uint8Array(15)) }), 400],
    ["key of 17 bytes", request({ "Sec-WebSocket-Key": base64Encode(new Uint8Array(17)) }), 400],
    ["key not base64", request({ "Sec-WebSocket-Key": "!!!!!!!!!!!!!!!!!!!!!!==" }), 400],
    ["bad protocol token", request({ "Sec-WebSocket-Protocol": "chat, a b" }), 400],
    ["malformed extensions", request({ "Sec-WebSocket-Extensions": "permessage-deflate; =1" }), 400],
  ];
  for (const [name, req, status] of rejections) {
    it(`rejects ${name} with ${status}`, () => {
      const r = validateUpgradeRequest(req);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.status).toBe(status);
        expect(r.reason.length).toBeGreaterThan(0);
      }
    });
  }

  it("a version other than 13 (or none) → 426 with Sec-WebSocket-Version: 13", () => {
    for (const v of ["8", "12", "14", ""]) {
      const r = validateUpgradeRequest(request({ "Sec-WebSocket-Version": v }));
      expect(r).toMatchObject({ ok: false, status: 426, headers: { "Sec-WebSocket-Version": "13" } });
    }
  });

  it("selectProtocol: the client's first choice the server supports; a selector must pick an offered one", () => {
    expect(selectProtocol(["a", "b", "c"], ["c", "b"])).toBe("b");
    expect(selectProtocol(["a"], ["b"])).toBeNull();
    expect(selectProtocol([], ["b"])).toBeNull();
    expect(selectProtocol(["a"], undefined)).toBeNull();
    expect(selectProtocol(["a", "b"], (offered) => offered[1])).toBe("b");
    expect(selectProtocol(["a", "b"], () => "z")).toBeNull();
    expect(selectProtocol(["a", "b"], () => null)).toBeNull();
  });

  it("buildAcceptResponse bytes", () => {
    expect(buildAcceptResponse({ key: KEY })).toBe(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
    );
    expect(
      buildAcceptResponse({
        key: KEY,
        protocol: "chat",
        extensions: [{ name: "permessage-deflate", params: { server_no_context_takeover: true, server_max_window_bits: "10" } }],
        headers: { "X-Extra": "1" },
      }),
    ).toBe(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
        "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; server_max_window_bits=10\r\nX-Extra: 1\r\n\r\n",
    );
  });

  it("buildRejectResponse: a complete response with a body and Content-Length", () => {
    expect(buildRejectResponse(426, "version", { "Sec-WebSocket-Version": "13" })).toBe(
      "HTTP/1.1 426 Upgrade Required\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 8\r\nSec-WebSocket-Version: 13\r\n\r\nversion\n",
    );
    expect(buildRejectResponse(400, "é")).toContain("Content-Length: 3\r\n");
  });
});

describe("the handshake's checks without allocation agree with the general ones", () => {
  it("isWebSocketKey accepts exactly the keys base64Decode decodes to 16 bytes", () => {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const keys = [KEY, "", "=", "dGhlIHNhbXBsZSBub25jZQ=", "dGhlIHNhbXBsZSBub25jZR==", "dGhlIHNhbXBsZSBub25jZQ===", "dGhlIHNhbXBsZSBub25jZQ==x", "dGhl IHNhbXBsZSBub25jZQ=", "dGhlIHNhbXBsZSBub25jZ\u00e9==", "dGhlIHNhbXBsZSBub25jZQ-_"];
    // every last digit (only A, Q, g, w leave the 4 unused bits zero), and random keys with a stray character
    for (const c of alphabet) keys.push(`dGhlIHNhbXBsZSBub25jZ${c}==`);
    for (let i = 0; i < 2000; i++) {
      const bytes = crypto.getRandomValues(new Uint8Array(i % 3 === 0 ? 15 + (i % 4) : 16));
      let k = base64Encode(bytes);
      if (i % 5 === 0) k = k.slice(0, i % 24) + String.fromCharCode(32 + (i % 96)) + k.slice((i % 24) + 1);
      keys.push(k);
    }
    for (const k of keys) expect([k, isWebSocketKey(k)]).toEqual([k, base64Decode(k)?.length === 16]);
  });

  it("RawHeaders.get finds names in any case, non-ASCII names included, and joins repeated fields", () => {
    const h = new RawHeaders(["Host", "a", "UPGRADE", "websocket", "X-Caf\u00c9", "1", "x-caf\u00e9", "2", "sec-WebSocket-Key", "k"]);
    expect([h.get("host"), h.get("Upgrade"), h.get("sec-websocket-key"), h.get("x-caf\u00e9"), h.get("hos"), h.get("hostx")]).toEqual(["a", "websocket", "k", "1, 2", null, null]);
  });

  it("RawHeaders.sharing keeps every name and value exactly as sent (case included), in order", () => {
    const sent = ["Host", "a:1", "upgrade", "WebSocket", "CONNECTION", "keep-alive, Upgrade", "Sec-WebSocket-Key", KEY, "sec-websocket-version", "13", "X-Other", "websocket"];
    const raw = [...sent];
    const h = RawHeaders.sharing(raw);
    expect(raw).toEqual(sent);
    expect([h.get("upgrade"), h.get("connection"), h.get("sec-websocket-key"), h.get("x-other")]).toEqual(["WebSocket", "keep-alive, Upgrade", KEY, "websocket"]);
  });

  it("Upgrade and Connection are lists: the token anywhere in them, in any case, with spaces or tabs", () => {
    const ok = (upgrade: string, connection: string) => validateUpgradeRequest(request({ Upgrade: upgrade, Connection: connection })).ok;
    expect([ok("WebSocket", "keep-alive, Upgrade"), ok("h2c,\twebsocket ", "UPGRADE"), ok("websockets", "upgrade"), ok("web socket", "upgrade"), ok("websocket", "upgraded"), ok("websocket", ",,upgrade,")]).toEqual([true, true, false, false, false, true]);
  });
});

describe("Sec-WebSocket-Extensions parsing", () => {
  it("parses names, flags, token and quoted values", () => {
    expect(parseExtensionHeader('permessage-deflate; client_max_window_bits; server_max_window_bits="10", x-foo;a=1 ;b = "two" , bar')).toEqual([
      { name: "permessage-deflate", params: { client_max_window_bits: true, server_max_window_bits: "10" } },
      { name: "x-foo", params: { a: "1", b: "two" } },
      { name: "bar", params: {} },
    ]);
    expect(parseExtensionHeader(null)).toEqual([]);
    expect(parseExtensionHeader("  ")).toEqual([]);
    expect(parseExtensionHeader("a, , b")).toEqual([
      { name: "a", params: {} },
      { name: "b", params: {} },
    ]);
  });

  it("marks duplicate parameters (the first value is kept)", () => {
    const r = parseExtensionHeader("permessage-deflate; server_max_window_bits=10; server_max_window_bits=11")!;
    expect(r.length).toBe(1);
    expect(r[0]!.params["server_max_window_bits"]).toBe("10");
    expect(Object.keys(r[0]!.params).some((k) => k.includes("duplicate"))).toBe(true);
  });

  it("returns null for malformed headers", () => {
    for (const bad of ["a;", "a; =1", 'a; b="unterminated', 'a; b="not a token"', "a; b=", "a b", "a; b=1 c", ";a", "a; b=@", "a; b==1"]) {
      expect(parseExtensionHeader(bad), bad).toBeNull();
    }
  });

  it("serializeExtensions is the inverse for simple values", () => {
    const v = "permessage-deflate; client_no_context_takeover; server_max_window_bits=12, other";
    expect(serializeExtensions(parseExtensionHeader(v)!)).toBe(v);
  });

  it("parseHeaderList trims and drops empty elements", () => {
    expect(parseHeaderList(" a ,b,, c ")).toEqual(["a", "b", "c"]);
    expect(parseHeaderList(null)).toEqual([]);
  });
});

describe("client handshake (RFC 6455 §4.1)", () => {
  function response(headers: Record<string, string>, status = 101) {
    return { status, headers: new HeaderMap(headers) };
  }

  it("createClientHandshake: a GET with a fresh 16-byte key, protocols, origin and headers", () => {
    const a = createClientHandshake("ws://example.com:8080/chat?room=1", { protocols: ["chat", "v2"], origin: "http://example.com", headers: { "X-Token": "t" } });
    const b = createClientHandshake("ws://example.com/chat");
    expect(base64Decode(a.key)!.length).toBe(16);
    expect(a.key).not.toBe(b.key);
    expect(a.request).toBe(
      `GET /chat?room=1 HTTP/1.1\r\nHost: example.com:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${a.key}\r\n` +
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, v2\r\nOrigin: http://example.com\r\nX-Token: t\r\n\r\n",
    );
    expect(b.request.startsWith("GET /chat HTTP/1.1\r\nHost: example.com\r\n")).toBe(true);
    expect(() => createClientHandshake("ws://x/", { protocols: ["a b"] })).toThrow(SyntaxError);
    expect(() => createClientHandshake("ws://x/", { protocols: ["a", "a"] })).toThrow(SyntaxError);
  });

  it("the server side accepts what the client builds", () => {
    const hs = createClientHandshake("ws://example.com/chat", { protocols: ["chat"] });
    const head = parseHttpHead(utf8(hs.request));
    if (!head || head instanceof Error) throw new Error("unparsable request");
    const v = validateUpgradeRequest({ method: head.startLine[0], url: head.startLine[1], httpVersion: head.startLine[2].replace("HTTP/", ""), headers: head.headers });
    expect(v).toEqual({ ok: true, key: hs.key, protocols: ["chat"], extensions: [] });
  });

  it("validateHandshakeResponse accepts a correct 101", () => {
    const hs = createClientHandshake("ws://x/", { protocols: ["chat"] });
    const ok = validateHandshakeResponse(response({ Upgrade: "WebSocket", Connection: "upgrade", "Sec-WebSocket-Accept": acceptKey(hs.key), "Sec-WebSocket-Protocol": "chat" }), hs);
    expect(ok).toEqual({ ok: true, protocol: "chat", extensions: [] });
    const none = validateHandshakeResponse(response({ Upgrade: "websocket", Connection: "Upgrade", "Sec-WebSocket-Accept": acceptKey(hs.key) }), hs);
    expect(none).toEqual({ ok: true, protocol: null, extensions: [] });
  });

  it("validateHandshakeResponse rejections carry a reason", () => {
    const hs = createClientHandshake("ws://x/", { protocols: ["chat"], extensions: [{ name: "permessage-deflate", params: {} }] });
    const good = { Upgrade: "websocket", Connection: "Upgrade", "Sec-WebSocket-Accept": acceptKey(hs.key) };
    const cases: Array<[string, { status: number; headers: HeaderMap }, RegExp]> = [
      ["status 200", response(good, 200), /status 200/],
      ["no upgrade", response({ ...good, Upgrade: "" }), /Upgrade/],
      ["no connection", response({ ...good, Connection: "close" }), /Connection/],
      ["wrong accept", response({ ...good, "Sec-WebSocket-Accept": acceptKey(KEY) }), /Accept/],
      ["missing accept", response({ Upgrade: "websocket", Connection: "Upgrade" }), /Accept/],
      ["protocol not offered", response({ ...good, "Sec-WebSocket-Protocol": "other" }), /subprotocol/],
      ["extension not offered", response({ ...good, "Sec-WebSocket-Extensions": "x-unknown" }), /extension/],
      ["extension twice", response({ ...good, "Sec-WebSocket-Extensions": "permessage-deflate, permessage-deflate" }), /twice/],
      ["malformed extensions", response({ ...good, "Sec-WebSocket-Extensions": "permessage-deflate;" }), /malformed/],
    ];
    for (const [name, res, reason] of cases) {
      const r = validateHandshakeResponse(res, hs);
      expect(r.ok, name).toBe(false);
      if (!r.ok) expect(r.reason, name).toMatch(reason);
    }
  });
});

describe("HTTP head parsing", () => {
  it("parses a request head and reports its length", () => {
    const text = "GET /chat HTTP/1.1\r\nHost: a\r\nX-Multi: 1\r\nx-multi: 2\r\n\r\nREST";
    const head = parseHttpHead(utf8(text));
    if (!head || head instanceof Error) throw new Error("expected a head");
    expect(head.startLine).toEqual(["GET", "/chat", "HTTP/1.1"]);
    expect(head.headers.get("x-multi")).toBe("1, 2");
    expect(head.length).toBe(text.length - 4);
  });
  it("reads each field as sent: values without surrounding whitespace, names case-insensitive, repeats joined", () => {
    const text = "GET /x?y=1 HTTP/1.1\r\nHost:a\r\nUpgrade: \twebsocket \t\r\nsec-websocket-key: k\r\nEmpty:\r\nA: 1\r\na: 2\r\n\r\n";
    const head = parseHttpHead(utf8(text));
    if (!head || head instanceof Error) throw new Error("expected a head");
    expect(head.headers.get("host")).toBe("a");
    expect(head.headers.get("UPGRADE")).toBe("websocket");
    expect(head.headers.get("Sec-WebSocket-Key")).toBe("k");
    expect(head.headers.get("empty")).toBe("");
    expect(head.headers.get("missing")).toBeNull();
    const seen: Array<[string, string]> = [];
    head.headers.forEach((value, name) => seen.push([name, value]));
    expect(seen).toEqual([["host", "a"], ["upgrade", "websocket"], ["sec-websocket-key", "k"], ["empty", ""], ["a", "1, 2"]]);
    const bare = parseHttpHead(utf8("GET / HTTP/1.1\r\n\r\n"));
    if (!bare || bare instanceof Error) throw new Error("expected a head");
    expect(bare.startLine).toEqual(["GET", "/", "HTTP/1.1"]);
    expect(bare.headers.get("host")).toBeNull();
    const response = parseHttpHead(utf8("HTTP/1.1 101\r\nUpgrade: websocket\r\n\r\n"));
    if (!response || response instanceof Error) throw new Error("expected a head");
    expect(response.startLine).toEqual(["HTTP/1.1", "101", ""]);
  });
  it("refuses a field name with whitespace in it or none at all", () => {
    for (const line of ["Bad\tName: x", " Host: x", "Host : x", ": x", "no colon", "Na\u00a0me: x"]) {
      expect(parseHttpHead(new Uint8Array([...`GET / HTTP/1.1\r\n${line}\r\n\r\n`].map((c) => c.charCodeAt(0)))), line).toBeInstanceOf(Error);
    }
  });
  it("needs more bytes, or fails on malformed input", () => {
    expect(parseHttpHead(utf8("GET / HTTP/1.1\r\nHost: a\r\n"))).toBeNull();
    expect(parseHttpHead(utf8("GARBAGE\r\n\r\n"))).toBeInstanceOf(Error);
    expect(parseHttpHead(utf8("GET / HTTP/1.1\r\nBad Header: x\r\n\r\n"))).toBeInstanceOf(Error);
    expect(parseHttpHead(new Uint8Array(17 * 1024).fill(0x41))).toBeInstanceOf(Error);
    const status = parseHttpHead(utf8("HTTP/1.1 101\r\n\r\n"));
    expect(status && !(status instanceof Error) ? status.startLine : null).toEqual(["HTTP/1.1", "101", ""]);
  });
});
