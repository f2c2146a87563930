/**
 * Issue 25 in a browser: headless Chromium loads a page over HTTP/2 from serve({ tls, http2: true }) (@ws/node) and
 * opens its wss:// WebSocket on that same HTTP/2 connection (RFC 8441: an extended CONNECT on the page's session,
 * no new TCP or TLS connection). Proved from the server's side: the connection's `request.httpVersion` is "2", and
 * every stream — the page's GET and the WebSocket's CONNECT — came over one and the same session; and from Chromium's
 * own net log: the extended CONNECT with :protocol websocket was sent, on its one HTTP/2 session.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type * as http2 from "node:http2";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { chromium } from "playwright-core";
import { describe, expect, it } from "vitest";
import { defineService, serve } from "@ws/node";

function selfSignedCert(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), "ws-cert-"));
  try {
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], { stdio: "ignore" });
    return { key: readFileSync(join(dir, "key.pem"), "utf8"), cert: readFileSync(join(dir, "cert.pem"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const PAGE = `<!doctype html><title>loading</title><script>
const ws = new WebSocket("wss://" + location.host + "/echo");
ws.onopen = () => ws.send("over the page's connection");
ws.onmessage = (e) => { document.title = "got: " + e.data; };
ws.onerror = () => { document.title = "error"; };
</script>`;

describe("Chromium and WebSockets over HTTP/2", () => {
  it("opens the page's wss:// WebSocket as a stream of the page's own HTTP/2 session", async () => {
    const versions: string[] = [];
    const echo = defineService({
      connected: (conn) => void versions.push(conn.request.httpVersion),
      received: (message, conn) => void conn.send(message),
    });
    const server = await serve({
      hostname: "127.0.0.1",
      tls: selfSignedCert(),
      http2: true,
      services: { "/echo": echo },
      fetch: () => new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8" } }),
    });
    const sessions = new Set<http2.Http2Session>();
    const streams: string[] = [];
    (server.server as http2.Http2SecureServer).on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
      sessions.add(stream.session!);
      streams.push(`${headers[":method"]} ${headers[":path"]}${headers[":protocol"] ? ` (${headers[":protocol"]})` : ""}`);
    });
    const netLog = join(mkdtempSync(join(tmpdir(), "netlog-")), "net-log.json");
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--ignore-certificate-errors", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", `--log-net-log=${netLog}`, "--net-log-capture-mode=Everything"],
    });
    try {
      const page = await browser.newPage({ ignoreHTTPSErrors: true });
      await page.goto(`https://127.0.0.1:${server.port}/`);
      // (a string: it runs in the page, whose `document` this file's types do not know)
      await page.waitForFunction('document.title.startsWith("got: ") || document.title === "error"', undefined, { timeout: 10_000 });
      expect(await page.title()).toBe("got: over the page's connection");
      expect(versions).toEqual(["2"]);
      expect(streams).toContain("CONNECT /echo (websocket)");
      expect(streams.some((s) => s.startsWith("GET /"))).toBe(true);
      expect(sessions.size).toBe(1); // the page and its WebSocket on one HTTP/2 connection
    } finally {
      await browser.close();
      await server.close({ timeout: 500 });
    }
    // Chromium's own account (its net log, written once the browser has closed): the HTTP/2 session sent the
    // extended CONNECT with :protocol websocket, and it opened exactly one session to the server
    const log = readFileSync(netLog, "utf8");
    rmSync(dirname(netLog), { recursive: true, force: true });
    expect(log).toMatch(/:protocol: websocket/);
    expect(log).toMatch(/:method: CONNECT/);
    const events = (JSON.parse(log) as { constants: { logEventTypes: Record<string, number> }; events: { type: number; params?: { host?: string } }[] });
    const initialized = events.constants.logEventTypes.HTTP2_SESSION_INITIALIZED;
    expect(events.events.filter((e) => e.type === initialized).length).toBe(1);
  }, 60_000);
});
