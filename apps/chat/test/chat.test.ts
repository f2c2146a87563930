/**
 * The chat server as a user runs it: the built Node entry started as a child process, driven by real
 * third-party clients (the `websocket` npm package the seed used, `ws`), by headless Chromium on the page and
 * by the terminal client (the built src/client.node.ts), through a server restart.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import websocket from "websocket";
import { chromium, type Browser } from "playwright-core";
import { ChatClient, chatChecks, freshRoom, joinOnPage, pageConversation } from "./chat-checks.ts";

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
    expect(await res.text()).toContain('const PROTOCOL = "chat.v2"');
  });

  chatChecks(() => port);

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

  it("two Chromium tabs on the page: join, see each other online, talk, see the other leave", async () => {
    let browser: Browser | undefined;
    try {
      // playwright-core drives the system Chromium (installed by the test command); it makes its own profile dir
      browser = await launchChromium();
      const context = await browser.newContext();
      const [tab1, tab2] = [await context.newPage(), await context.newPage()];
      await pageConversation(tab1, tab2, `http://127.0.0.1:${port}`);
      // Chromium offers "permessage-deflate; client_max_window_bits"; the server accepts it
      expect(await tab1.getAttribute("#status", "data-extensions")).toMatch(/^permessage-deflate/);
    } finally {
      await browser?.close();
    }
  });
});

const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** A port nothing listens on right now (the restart tests need the same port twice). */
function freePort(): Promise<number> {
  return new Promise((r, j) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port: p } = probe.address() as { port: number };
      probe.close(() => r(p));
    });
    probe.once("error", j);
  });
}

/** The Node entry on `port`; resolves once it listens. */
function startOn(fixedPort: number): Promise<{ child: ChildProcess; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [join(appDir, "dist/server.node.js")], { env: { ...process.env, PORT: String(fixedPort) }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    await exited;
  };
  return new Promise((r, j) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += d;
      if (/Listening on port \d+/.test(out)) r({ child, stop });
    });
    void exited.then(() => j(new Error(`chat server exited: ${out}`)));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, test: () => boolean, timeout = 20_000): Promise<void> {
  for (const start = Date.now(); !test(); await sleep(50)) {
    if (Date.now() - start > timeout) throw new Error(`timed out waiting for ${what}`);
  }
}

describe("the terminal client (Node)", () => {
  it("a refused name: says why and exits with 2 (no reconnecting with it)", async () => {
    const client = spawn(process.execPath, [join(appDir, "dist/client.node.js"), "--name", "x".repeat(33), "--url", `ws://127.0.0.1:${port}/chat`], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    client.stdout!.on("data", (d) => (out += d));
    const code = await new Promise<number | null>((r) => client.once("exit", (c) => r(c)));
    expect(code).toBe(2);
    expect(out).toBe("! a name is at most 32 characters: give another with --name\n");
  });
});

describe("chat through a server restart (Node)", () => {
  it("the terminal client, on pipes: plain lines, reconnects with backoff, sends what was typed during the outage", async () => {
    const fixed = await freePort();
    let server = await startOn(fixed);
    const room = freshRoom("terminal");
    const client = spawn(process.execPath, [join(appDir, "dist/client.node.js"), "--name", "term", "--url", `ws://127.0.0.1:${fixed}${room}`], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    client.stdout!.on("data", (d) => (out += d));
    client.stderr!.on("data", (d) => (out += d));
    const clientExit = new Promise<number | null>((r) => client.once("exit", (code) => r(code)));
    try {
      await until("the client's welcome", () => out.includes("as term"));
      const { client: peer } = await ChatClient.join(fixed, room, "peer");
      await until("the join notice", () => out.includes("* peer joined"));
      client.stdin!.write("before the restart\n");
      expect(await peer.next("message")).toMatchObject({ from: "term", text: "before the restart" });
      peer.say("hi term \u001b[31mred\u001b[0m");
      await until("the peer's line", () => out.includes("peer: hi term"));

      await server.stop();
      await until("the disconnect notice", () => /\* disconnected \(1001.*\), reconnecting in \d+\.\d s/.test(out));
      client.stdin!.write("typed during the outage\n");
      await until("the queued notice", () => out.includes("* not connected: queued (1 waiting)"));
      await sleep(1500); // at least one failed attempt while the server is away
      expect(out).toMatch(/could not connect to ws:\/\/127\.0\.0\.1:\d+\/chat\/\S+, reconnecting in \d+\.\d s; 1 message queued/);
      server = await startOn(fixed);
      const { client: after } = await ChatClient.join(fixed, room, "after");
      // the client comes back (backoff: at most 10 s) and sends the queued line
      const delivered = await after.next("message", (m) => m.from === "term", 20_000);
      expect(delivered.text).toBe("typed during the outage");
      await until("the confirmation", () => out.includes("term: typed during the outage"));
      expect(out).toContain("* sending 1 queued message");

      client.stdin!.end(); // end of input: quits, nothing waits
      expect(await clientExit).toBe(0);
      // clean lines: no prompt, no escape codes (the peer's ANSI shown as "?"), each line whole
      expect(out).not.toMatch(/\u001b/);
      expect(out).not.toContain("term> ");
      expect(out).toContain("peer: hi term ?[31mred?[0m");
      for (const line of out.trimEnd().split("\n")) expect(line).toMatch(/^(\* |! |[\w-]+: )/);
      peer.close();
      after.close();
    } finally {
      client.kill();
      await server.stop();
    }
  });

  it("the page: says it is reconnecting, queues what is typed, sends it after reconnecting", async () => {
    const fixed = await freePort();
    let server = await startOn(fixed);
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const tab = await (await browser.newContext()).newPage();
      const room = `restart-${Math.random().toString(36).slice(2, 8)}`;
      await joinOnPage(tab, `http://127.0.0.1:${fixed}`, "pagey", room);
      await server.stop();
      await tab.waitForSelector('#status[data-state="reconnecting"]');
      expect(await tab.textContent("#status")).toMatch(/^disconnected \(100[16](: [^)]*)?\), reconnecting in \d+ s…$/);
      await tab.fill("#message", "typed while away");
      await tab.press("#message", "Enter");
      await tab.waitForSelector('#messages li.pending:has-text("typed while away")');
      server = await startOn(fixed);
      const { client: peer } = await ChatClient.join(fixed, `/chat/${room}`, "peer");
      const got = await peer.next("message", (m) => m.from === "pagey", 20_000);
      expect(got.text).toBe("typed while away");
      await tab.waitForSelector('#messages li.message.mine:has-text("typed while away")');
      expect(await tab.$$("#messages li.pending")).toEqual([]);
      peer.close();
    } finally {
      await browser?.close();
      await server.stop();
    }
  });
});
