/**
 * Options checked where they are given (issue 15.5): one clear error naming the option, the value and what is
 * allowed — not a route at "/received", a typo that piles messages up, or a handshake that fails later.
 */
import { describe, expect, it } from "vitest";
import { defineService, InvalidOptionError, Router, silentLogger } from "../src/index.ts";
import { checkClientOptions, checkPort, ServerCore } from "../src/adapter.ts";

const chat = defineService({ received() {} });

function error(fn: () => unknown): InvalidOptionError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidOptionError);
    return e as InvalidOptionError;
  }
  throw new Error("no error thrown");
}

describe("server options", () => {
  it("a service given in place of the path map is refused, saying so", () => {
    const e = error(() => new ServerCore({ services: chat as never, logger: silentLogger }));
    expect(e.option).toBe('services["received"]');
    expect(e.message).toMatch(/in place of the map/);
  });

  it("a misspelt service key is refused with the near key named", () => {
    const e = error(() => new ServerCore({ services: { "/chat": { recieved() {} } as never }, logger: silentLogger }));
    expect(e.option).toBe('services["/chat"].recieved');
    expect(e.message).toMatch(/did you mean received\?/);
  });

  it("permessage-deflate preferences that no handshake could agree to are refused up front", () => {
    const e = error(() => new ServerCore({ perMessageDeflate: { serverMaxWindowBits: 42 }, logger: silentLogger }));
    expect(e.option).toBe("perMessageDeflate.serverMaxWindowBits");
    expect(e.message).toMatch(/from 9 to 15/);
    expect(error(() => new ServerCore({ perMessageDeflate: { windowBits: 10 } as never })).option).toBe("perMessageDeflate.windowBits");
    expect(error(() => new ServerCore({ perMessageDeflate: { historySize: 40000 } })).option).toBe("perMessageDeflate.historySize");
    expect(() => new ServerCore({ perMessageDeflate: { historySize: 0 }, logger: silentLogger })).not.toThrow();
  });

  it("sizes, timeouts and policies are checked, on the server and in each service", () => {
    expect(error(() => new ServerCore({ maxConnections: -1 })).option).toBe("maxConnections");
    expect(error(() => new ServerCore({ maxMessageSize: "16MB" as never })).option).toBe("maxMessageSize");
    expect(error(() => new ServerCore({ connectionTimeout: Number.NaN })).option).toBe("connectionTimeout");
    expect(error(() => new ServerCore({ idleTimeout: Number.NaN })).option).toBe("idleTimeout");
    expect(error(() => new ServerCore({ backpressure: "drop" as never })).option).toBe("backpressure");
    expect(error(() => new ServerCore({ services: { "/a": { closeTimeout: -5 } } })).option).toBe('services["/a"].closeTimeout');
    expect(error(() => new ServerCore({ services: { "/a": { received: "echo" as never } } })).option).toBe('services["/a"].received');
    expect(error(() => new ServerCore({ logger: {} as never })).option).toBe("logger");
    // the valid forms still pass: Infinity for no limit, 0 to turn a timeout off, a Router
    expect(() => new ServerCore({ maxBufferedAmount: Infinity, messageTimeout: 0, services: new Router({ "/c": chat }), logger: silentLogger })).not.toThrow();
  });

  it("options that are not an object: a clear error, not a property read of null", () => {
    expect(error(() => new ServerCore(null as never)).option).toBe("options");
    expect(error(() => new ServerCore("chat" as never)).option).toBe("options");
  });

  it("services registered at run time are checked too", () => {
    const router = new Router();
    expect(error(() => router.register("/x", { conected() {} } as never)).message).toMatch(/did you mean connected\?/);
  });
});

describe("client and listening options", () => {
  it("a URL that is not ws(s) or http(s), and bad client options", () => {
    expect(error(() => checkClientOptions("ftp://example.com", {})).option).toBe("url");
    expect(error(() => checkClientOptions("not a url", {})).option).toBe("url");
    expect(error(() => checkClientOptions("ws://example.com", { protocols: "chat" as never })).option).toBe("protocols");
    expect(error(() => checkClientOptions("ws://example.com", { handshakeTimeout: -1 })).option).toBe("handshakeTimeout");
    expect(() => checkClientOptions(new URL("wss://example.com/x"), { protocols: ["chat"] })).not.toThrow();
  });

  it("a port must be 0–65535 (a numeric string from PORT is taken as its number)", () => {
    expect(error(() => checkPort("abc")).option).toBe("port");
    expect(error(() => checkPort(70000)).option).toBe("port");
    expect(checkPort("8080")).toBe(8080);
    expect(checkPort(undefined)).toBeUndefined();
  });
});
