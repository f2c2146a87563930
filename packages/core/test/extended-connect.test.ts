/**
 * Issue 25: the extended CONNECT (RFC 8441 §4–5) as the server validates it and the client builds it, and the server
 * core's outcome for it (a 200's header fields, no 101 head), runtime-agnostic.
 */
import { describe, expect, it } from "vitest";
import { createUpgradeRequest, HeaderMap, defineService } from "../src/index.ts";
import { ServerCore } from "../src/adapter.ts";
import { isHttp2, validateExtendedConnect, validateUpgradeRequest } from "../src/protocol.ts";
import { extendedConnectHeaders } from "../src/client/extended-connect.ts";

const base = { ":protocol": "websocket", ":scheme": "https", ":path": "/chat", ":authority": "example.com", "sec-websocket-version": "13" };
const connect = (headers: Record<string, string>, method = "CONNECT") => ({ method, url: "/chat", httpVersion: "2", headers: new HeaderMap(headers) });

describe("validateExtendedConnect (RFC 8441 §4–5)", () => {
  it("accepts :protocol websocket with :scheme, :path, :authority and version 13; no key", () => {
    const result = validateExtendedConnect(connect({ ...base, "sec-websocket-protocol": "chat, superchat", "sec-websocket-extensions": "permessage-deflate" }));
    expect(result).toEqual({ ok: true, key: "", protocols: ["chat", "superchat"], extensions: [{ name: "permessage-deflate", params: {} }] });
    // validateUpgradeRequest takes it the same way when httpVersion is HTTP/2's
    expect(validateUpgradeRequest(connect(base)).ok).toBe(true);
    expect(validateUpgradeRequest({ ...connect(base), httpVersion: "2.0" }).ok).toBe(true);
  });

  it("refuses what RFC 8441 does not allow, with the right status", () => {
    const { ":protocol": _p, ...noProtocol } = base;
    const { ":authority": _a, ...noAuthority } = base;
    expect(validateExtendedConnect(connect(base, "GET"))).toMatchObject({ ok: false, status: 405 });
    expect(validateExtendedConnect(connect(noProtocol))).toMatchObject({ ok: false, status: 400 });
    expect(validateExtendedConnect(connect({ ...base, ":protocol": "webtransport" }))).toMatchObject({ ok: false, status: 501 });
    expect(validateExtendedConnect(connect(noAuthority))).toMatchObject({ ok: false, status: 400 });
    expect(validateExtendedConnect(connect({ ...base, "sec-websocket-version": "8" }))).toMatchObject({ ok: false, status: 426, headers: { "Sec-WebSocket-Version": "13" } });
    expect(validateExtendedConnect(connect({ ...base, "sec-websocket-protocol": "a b" }))).toMatchObject({ ok: false, status: 400 });
  });

  it("isHttp2 knows HTTP/2's version strings only", () => {
    expect([isHttp2("2"), isHttp2("2.0"), isHttp2("1.1"), isHttp2("1.0")]).toEqual([true, true, false, false]);
  });
});

describe("the server core's outcome for an extended CONNECT", () => {
  it("is the 200's header fields (subprotocol, the gate's), with no 101 head and no Sec-WebSocket-Accept", async () => {
    const core = new ServerCore({ services: { "/chat": defineService({ protocols: ["chat"], upgrade: () => ({ headers: { "X-Room": "lobby" } }) }) } });
    const request = createUpgradeRequest({ method: "CONNECT", url: "/chat", httpVersion: "2", headers: new HeaderMap({ ...base, "sec-websocket-protocol": "chat" }) });
    const outcome = await core.negotiate(request);
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.headers).toEqual({ "Sec-WebSocket-Protocol": "chat", "X-Room": "lobby" });
    expect(outcome.response.length).toBe(0);
    outcome.release();
  });

  it("carries a refusal's own header fields for the adapter to write on the stream", async () => {
    const core = new ServerCore({ services: { "/chat": defineService({ upgrade: () => ({ reject: 401, reason: "no token", headers: { "WWW-Authenticate": "Bearer" } }) }) } });
    const outcome = await core.negotiate(createUpgradeRequest(connect(base)));
    expect(outcome).toMatchObject({ ok: false, status: 401, reason: "no token", headers: { "WWW-Authenticate": "Bearer" } });
  });
});

describe("extendedConnectHeaders (the client's request)", () => {
  it("has the pseudo-header fields, version 13, the offers; user headers in lowercase, connection-specific ones left out", () => {
    const headers = extendedConnectHeaders(new URL("wss://example.com:8443/chat?room=1"), { protocols: ["chat"], origin: "https://example.com", headers: { Authorization: "Bearer t", Connection: "close", Host: "evil" } }, [{ name: "permessage-deflate", params: { client_max_window_bits: true } }]);
    expect(headers).toEqual({
      ":method": "CONNECT",
      ":protocol": "websocket",
      ":scheme": "https",
      ":path": "/chat?room=1",
      ":authority": "example.com:8443",
      "sec-websocket-version": "13",
      "sec-websocket-protocol": "chat",
      "sec-websocket-extensions": "permessage-deflate; client_max_window_bits",
      origin: "https://example.com",
      authorization: "Bearer t",
    });
    expect(extendedConnectHeaders(new URL("ws://example.com/"), {}, [])[":scheme"]).toBe("http");
  });
});
