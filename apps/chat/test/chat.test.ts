/**
 * The chat server as a user runs it: the built Node entry started as a child process, driven by real
 * third-party clients (the `websocket` npm package the seed used, `ws`) and by headless Chromium.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import websocket from "websocket";
import { chromium, type Browser } from "playwright-core";

const appDir = resolve(import.meta.dirname, "..");
let server: ChildProcess;
let port = 0;
let output = "";

beforeAll(async () => {
  server = spawn(process.execPath, [join(appDir, "dist/server.node.js")], { env: { ...process.env, PORT: "0" }, stdio: ["ignore", "pipe", "pipe"] });
  server.stderr!.on("data", (d) => (output += d));
  port = await new Promise<number>((resolvePort, reject) => {
    server.stdout!.on("data", (d: Buffer) => {
      output += d;
      const m = /Listening on port (\d+)/.exec(output);
      if (m) resolvePort(Number(m[1]));
    });
    server.once("exit", (code) => reject(new Error(`chat server exited (${code}): ${output}`)));
  });
});

afterAll(() => {
  server.kill("SIGTERM");
});

function wsClient(): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/chat`, "chat");
  return new Promise((r, j) => ws.once("open", () => r(ws)).once("error", j));
}

type WsConnection = websocket.connection;
function seedClient(): Promise<WsConnection> {
  const client = new websocket.client();
  return new Promise((r, j) => {
    client.once("connect", r);
    client.once("connectFailed", j);
    client.connect(`ws://127.0.0.1:${port}/chat`, "chat");
  });
}

function nextMessage(ws: WebSocket): Promise<string> {
  return new Promise((r) => ws.once("message", (d) => r(d.toString())));
}

describe("chat server (Node)", () => {
  it("logs the port it listens on and serves the page at /", async () => {
    expect(output).toMatch(/Listening on port \d+/);
    const res = await fetch(`http://127.0.0.1:${port}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(await res.text()).toContain('new WebSocket(scheme + "//" + location.host + "/chat", "chat")');
  });

  it("relays text from the seed's websocket client to every other client, not back to the sender", async () => {
    const a = await seedClient();
    const b = await seedClient();
    const c = await wsClient();
    expect(a.protocol).toBe("chat");
    expect(c.protocol).toBe("chat");
    const got: Record<string, string[]> = { a: [], b: [], c: [] };
    a.on("message", (m) => m.type === "utf8" && got.a.push(m.utf8Data));
    b.on("message", (m) => m.type === "utf8" && got.b.push(m.utf8Data));
    c.on("message", (d) => got.c.push(d.toString()));
    a.sendUTF("hello from a");
    await new Promise((r) => setTimeout(r, 300));
    c.send("hello from c");
    await new Promise((r) => setTimeout(r, 300));
    expect(got.a).toEqual(["hello from c"]);
    expect(got.b).toEqual(["hello from a", "hello from c"]);
    expect(got.c).toEqual(["hello from a"]);
    a.close();
    b.close();
    c.close();
  });

  it("closes a client that sends binary with 1003 and the seed's reason", async () => {
    const a = await seedClient();
    const closed = new Promise<[number, string]>((r) => a.once("close", (code, desc) => r([code, desc])));
    a.sendBytes(Buffer.from([1, 2, 3]));
    expect(await closed).toEqual([1003, "Chat-Server only accepts text messages"]);
  });

  it("does not relay to a client that was closed for sending binary", async () => {
    const bad = await wsClient();
    const badClosed = new Promise<number>((r) => bad.once("close", (code) => r(code)));
    bad.send(Buffer.from([9]));
    expect(await badClosed).toBe(1003);
    const a = await wsClient();
    const b = await wsClient();
    const m = nextMessage(b);
    a.send("still here");
    expect(await m).toBe("still here");
    a.close();
    b.close();
  });

  const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  it("two Chromium tabs on the page see each other's lines", async () => {
    let browser: Browser | undefined;
    try {
      // playwright-core drives the system Chromium (installed by the test command); it makes its own profile dir
      browser = await chromium.launch({
        executablePath: chromiumPath,
        args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      });
      const context = await browser.newContext();
      const [tab1, tab2] = [await context.newPage(), await context.newPage()];
      for (const tab of [tab1, tab2]) {
        await tab.goto(`http://127.0.0.1:${port}/`);
        await tab.waitForSelector('#status[data-state="open"]');
        expect(await tab.getAttribute("#status", "data-protocol")).toBe("chat");
        // Chromium offers "permessage-deflate; client_max_window_bits"; the server accepts it
        expect(await tab.getAttribute("#status", "data-extensions")).toMatch(/^permessage-deflate/);
      }
      await tab1.fill("#message", "hello from tab 1");
      await tab1.click("#send");
      await tab2.waitForSelector('#messages li:has-text("hello from tab 1")');
      await tab2.fill("#message", "and back from tab 2");
      await tab2.press("#message", "Enter");
      await tab1.waitForSelector('#messages li:not(.mine):has-text("and back from tab 2")');
      const tab1Lines = await tab1.$$eval("#messages li", (els) => els.map((e) => e.textContent));
      expect(tab1Lines).toEqual(["hello from tab 1", "and back from tab 2"]);
    } finally {
      await browser?.close();
    }
  });
});
