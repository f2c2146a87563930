/**
 * Issue 22, point 5: core's reading of each runtime's listen errors, on the shapes captured from Node 20, Bun 1.4
 * (Bun.listen, Bun.serve, node:http) and Deno 2.9 (Deno.serve, node:http). The end-to-end checks, over real sockets
 * on every runtime and engine, are packages/node/test/listen-checks.ts.
 */
import { describe, expect, it } from "vitest";
import { ListenError } from "../src/index.ts";
import { checkTlsPem, listenErrorCode, listening, toListenError } from "../src/adapter.ts";

/** An Error with these own fields, as a runtime throws it. */
const shaped = (message: string, fields: Record<string, unknown> = {}, name?: string) => {
  const e = Object.assign(new Error(message), fields);
  if (name) Object.defineProperty(e, "name", { value: name });
  return e;
};
const at = { hostname: "127.0.0.1", port: 3790 };

describe("ListenError", () => {
  it("reads each runtime's port in use as EADDRINUSE, and names the address, the port and the fix", () => {
    const shapes = [
      shaped("listen EADDRINUSE: address already in use 127.0.0.1:3790", { code: "EADDRINUSE", syscall: "listen", address: "127.0.0.1", port: 3790 }), // Node, Deno's node:http
      shaped("Failed to listen at 127.0.0.1", { code: "EADDRINUSE", errno: 98, syscall: "listen" }), // Bun.listen
      shaped("Failed to start server. Is port 3790 in use?", { code: "EADDRINUSE", errno: 0, syscall: "listen" }), // Bun.serve, Bun's node:http
      shaped("Address already in use (os error 98)", { code: "EADDRINUSE" }, "AddrInUse"), // Deno.serve
    ];
    for (const shape of shapes) expect(listenErrorCode(shape, at)).toBe("EADDRINUSE");
    const error = new ListenError("EADDRINUSE", at, shapes[0]);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("ListenError");
    expect([error.code, error.address, error.port, error.cause]).toEqual(["EADDRINUSE", "127.0.0.1", 3790, shapes[0]]);
    expect(error.message).toBe(
      "cannot listen on 127.0.0.1:3790: the port is in use (EADDRINUSE); pick another port (or 0 for any free one), or stop the process that holds it",
    );
    expect(new ListenError("EADDRINUSE", { port: 80 }).message).toMatch(/^cannot listen on 0\.0\.0\.0:80: /);
    expect(new ListenError("EADDRINUSE", { hostname: "::1", port: 80 }).message).toMatch(/^cannot listen on \[::1\]:80: /);
  });

  it("reads permission denied (EACCES, Deno's PermissionDenied and NotCapable) as EACCES", () => {
    expect(listenErrorCode(shaped("listen EACCES: permission denied 127.0.0.1:80", { code: "EACCES" }), at)).toBe("EACCES");
    expect(listenErrorCode(shaped("Permission denied (os error 13)", { code: "EACCES" }, "PermissionDenied"), at)).toBe("EACCES");
    expect(listenErrorCode(shaped('Requires net access to "0.0.0.0:80"', {}, "NotCapable"), at)).toBe("EACCES");
  });

  it("tells a name that does not resolve (ENOTFOUND) from an address not of this machine (EADDRNOTAVAIL)", () => {
    expect(listenErrorCode(shaped("getaddrinfo ENOTFOUND 256.1.1.1", { code: "ENOTFOUND" }), at)).toBe("ENOTFOUND");
    expect(listenErrorCode(shaped("failed to lookup address information: Name or service not known"), at)).toBe("ENOTFOUND");
    // Bun: the thread's last errno, or none; the adapter's lookup after the failure decides
    expect(listenErrorCode(shaped("permission denied 256.1.1.1:0", { code: "EACCES" }), at, false)).toBe("ENOTFOUND");
    expect(listenErrorCode(shaped("Failed to listen at nowhere.invalid"), at, false)).toBe("ENOTFOUND");
    expect(listenErrorCode(shaped("Failed to start server. Is port 0 in use?", { code: "EADDRINUSE" }), { hostname: "x", port: 0 })).toBe("EADDRNOTAVAIL");
    expect(listenErrorCode(shaped("listen EADDRNOTAVAIL: address not available 192.0.2.1", { code: "EADDRNOTAVAIL" }), at)).toBe("EADDRNOTAVAIL");
    expect(listenErrorCode(shaped("listen EINVAL: invalid argument 192.0.2.1", { code: "EINVAL" }), at)).toBe("EADDRNOTAVAIL"); // Deno's node:http
    expect(listenErrorCode(shaped("Cannot assign requested address (os error 99)", { code: "EADDRNOTAVAIL" }, "AddrNotAvailable"), at)).toBe("EADDRNOTAVAIL");
    expect(listenErrorCode(shaped("something else"), at)).toBe("ELISTEN");
  });

  it("looks the host up after a failure only when it is a name", async () => {
    const looked: string[] = [];
    const lookup = async (host: string) => {
      looked.push(host);
      if (host.endsWith(".invalid")) throw new Error("ENOTFOUND");
    };
    const bunSays = shaped("Failed to start server. Is port 3790 in use?", { code: "EADDRINUSE" });
    expect((await toListenError(bunSays, { hostname: "nowhere.invalid", port: 3790 }, lookup)).code).toBe("ENOTFOUND");
    expect((await toListenError(bunSays, { hostname: "example.test", port: 3790 }, lookup)).code).toBe("EADDRINUSE");
    expect((await toListenError(bunSays, { hostname: "127.0.0.1", port: 3790 }, lookup)).code).toBe("EADDRINUSE");
    expect(looked).toEqual(["nowhere.invalid", "example.test"]);
  });

  it("reads TLS errors (OpenSSL's, BoringSSL's, Deno's) as ETLS, and refuses what is not PEM text before listening", async () => {
    const tls = { ...at, tls: { key: "k", cert: "c" } };
    expect(listenErrorCode(shaped("error:0480006C:PEM routines::no start line", { code: "ERR_OSSL_PEM_NO_START_LINE" }), tls)).toBe("ETLS");
    expect(listenErrorCode(shaped("error:0c00006d:ASN.1 encoding routines:OPENSSL_internal:DECODE_ERROR", { library: "ASN.1", reason: "DECODE_ERROR" }), tls)).toBe("ETLS");
    expect(listenErrorCode(shaped("No certificates found in certificate data", {}, "InvalidData"), tls)).toBe("ETLS");
    expect(() => checkTlsPem({ ...at, tls: { key: "/etc/ssl/key.pem", cert: "/etc/ssl/cert.pem" } })).toThrow(
      /^cannot listen on 127\.0\.0\.1:3790: tls\.cert is not PEM text \("\/etc\/ssl\/cert\.pem" is a path: pass the file's contents\): the TLS key or certificate cannot be used \(ETLS\)/,
    );
    expect(() => checkTlsPem({ ...at, tls: { cert: "-----BEGIN CERTIFICATE-----\n%%%\n-----END CERTIFICATE-----" } })).toThrow(/tls\.cert is not PEM text \(its base64 is corrupt\)/);
    const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    expect(() => checkTlsPem({ ...at, tls: { cert: pem, key: new TextEncoder().encode(pem.replaceAll("CERTIFICATE", "PRIVATE KEY")) } })).not.toThrow();
    let called = false;
    await expect(listening({ ...at, tls: { cert: "nope", key: pem } }, () => (called = true))).rejects.toMatchObject({ name: "ListenError", code: "ETLS" });
    expect(called).toBe(false);
  });
});
