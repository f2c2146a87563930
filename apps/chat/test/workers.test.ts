/**
 * The chat app on Cloudflare Workers as a user runs it locally: `node scripts/workers.mjs` (the app's
 * `start:workers`: src/server.workers.ts bundled and run on workerd through Miniflare, the chat service in the
 * ChatRoom Durable Object) started as a child process on an ephemeral port, driven over real sockets by `ws`,
 * by the `websocket` npm client the seed used, and by headless Chromium on the page the Worker serves.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import websocket from "websocket";
import { chromium, type Browser } from "playwright-core";
import { chatChecks, pageConversation } from "./chat-checks.ts";

const appDir = resolve(import.meta.dirname, "..");
let server: ChildProcess;
let exited: Promise<number | null>;
let port = 0;
let output = "";

beforeAll(async () => {
  server = spawn(process.execPath, [join(appDir, "scripts/workers.mjs")], {
    cwd: appDir,
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  exited = new Promise((r) => server.once("exit", (code) => r(code)));
  server.stderr!.on("data", (d) => (output += d));
  port = await new Promise<number>((resolvePort, reject) => {
    server.stdout!.on("data", (d: Buffer) => {
      output += d;
      const m = /Listening on port (\d+)/.exec(output);
      if (m) resolvePort(Number(m[1]));
    });
    void exited.then((code) => reject(new Error(`chat Worker exited (${code}): ${output}`)));
  });
});

afterAll(async () => {
  if (!server || server.exitCode !== null) return;
  server.kill("SIGTERM");
  const timer = setTimeout(() => server.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
});

function wsClient(path = "/chat", protocol: string | string[] = "chat"): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, protocol);
  return new Promise((r, j) => ws.once("open", () => r(ws)).once("error", j));
}

type SeedConnection = websocket.connection;
function seedClient(path = "/chat"): Promise<SeedConnection> {
  const client = new websocket.client();
  return new Promise((r, j) => {
    client.once("connect", r);
    client.once("connectFailed", j);
    client.connect(`ws://127.0.0.1:${port}${path}`, "chat");
  });
}

function nextMessage(ws: WebSocket): Promise<string> {
  return new Promise((r) => ws.once("message", (d) => r(d.toString())));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("chat on Workers (workerd, Durable Object rooms)", () => {
  it("listens on an ephemeral port and serves the page at /", async () => {
    expect(port).toBeGreaterThan(0);
    const res = await fetch(`http://127.0.0.1:${port}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(await res.text()).toContain('const PROTOCOL = "chat.v2"');
  });

  chatChecks(() => port);

  it("two ws clients in a room: a message from one reaches the other, not the sender", async () => {
    const a = await wsClient("/chat/ws-pair");
    const b = await wsClient("/chat/ws-pair");
    expect(a.protocol).toBe("chat");
    expect(b.protocol).toBe("chat");
    const toA: string[] = [];
    a.on("message", (d) => toA.push(d.toString()));
    const atB = nextMessage(b);
    a.send("hello from a — ünïcödé 🎉");
    expect(await atB).toBe("hello from a — ünïcödé 🎉");
    const atA = nextMessage(a);
    b.send("and back from b");
    expect(await atA).toBe("and back from b");
    expect(toA).toEqual(["and back from b"]);
    a.close();
    b.close();
  });

  it("rooms are separate: /chat/:room does not hear another room", async () => {
    const here = await wsClient("/chat/room-one");
    const other = await wsClient("/chat/room-two");
    const heard: string[] = [];
    other.on("message", (d) => heard.push(d.toString()));
    const peer = await wsClient("/chat/room-one");
    const atPeer = nextMessage(peer);
    here.send("only room one");
    expect(await atPeer).toBe("only room one");
    await sleep(200);
    expect(heard).toEqual([]);
    for (const ws of [here, other, peer]) ws.close();
  });

  it("the seed's websocket client with subprotocol chat: relays to ws and back, 1003 for binary", async () => {
    const a = await seedClient("/chat/seed");
    const b = await seedClient("/chat/seed");
    const c = await wsClient("/chat/seed");
    expect(a.protocol).toBe("chat");
    const got: Record<string, string[]> = { a: [], b: [], c: [] };
    a.on("message", (m) => m.type === "utf8" && got.a.push(m.utf8Data));
    b.on("message", (m) => m.type === "utf8" && got.b.push(m.utf8Data));
    c.on("message", (d) => got.c.push(d.toString()));
    a.sendUTF("hello from a");
    await sleep(300);
    c.send("hello from c");
    await sleep(300);
    expect(got.a).toEqual(["hello from c"]);
    expect(got.b).toEqual(["hello from a", "hello from c"]);
    expect(got.c).toEqual(["hello from a"]);
    const closed = new Promise<[number, string]>((r) => a.once("close", (code, desc) => r([code, desc])));
    a.sendBytes(Buffer.from([1, 2, 3]));
    expect(await closed).toEqual([1003, "Chat-Server only accepts text messages"]);
    b.close();
    c.close();
  });

  const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  it("two Chromium tabs on the page served by the Worker: join, see each other online, talk, see the other leave", async () => {
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({
        executablePath: chromiumPath,
        args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      });
      const context = await browser.newContext();
      const [tab1, tab2] = [await context.newPage(), await context.newPage()];
      await pageConversation(tab1, tab2, `http://127.0.0.1:${port}`);
      // workerd itself accepts Chromium's permessage-deflate offer (below the WebSocket API)
      expect(await tab1.getAttribute("#status", "data-extensions")).toMatch(/^permessage-deflate/);
    } finally {
      await browser?.close();
    }
  });

  it("stops on SIGTERM, workerd with it", async () => {
    const workerd = childrenOf(server.pid!).filter((pid) => commOf(pid)?.startsWith("workerd"));
    expect(workerd.length).toBe(1);
    server.kill("SIGTERM");
    // 0 from the start script's own handler, or 128 + 15 from Miniflare's exit hook, whichever runs first
    expect([0, 143]).toContain(await exited);
    for (let i = 0; i < 50 && commOf(workerd[0]!) !== null; i++) await sleep(100);
    expect(commOf(workerd[0]!)).toBeNull();
  });
});

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.push(...readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number));
    } catch {
      // the thread is gone
    }
  }
  return out;
}

function commOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // a zombie is gone for our purpose
    if (/^\d+ \(.*\) Z /.test(stat)) return null;
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return null;
  }
}
