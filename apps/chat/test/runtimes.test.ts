/**
 * The chat and echo apps on Bun and Deno, each with both engines ("core": @ws/core over the runtime's socket;
 * "runtime": the runtime's built-in WebSocket), as a user runs them: the very same service modules behind the
 * runtime's entry (src/server.bun.ts, src/server.deno.ts), started as child processes, driven over real sockets
 * by the `websocket` npm client the seed used, by `ws`, and by headless Chromium. One suite, four servers each.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { connect as connectTcp } from "node:net";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import websocket from "websocket";
import { chromium, type Browser } from "playwright-core";
import { chatChecks, pageConversation } from "./chat-checks.ts";

const root = resolve(import.meta.dirname, "../../..");
const require = createRequire(join(root, "package.json"));
/** the pinned binaries from the workspace's devDependencies (not the npm shims, which would outlive a kill) */
const BUN = join(dirname(require.resolve("bun/package.json")), "bin/bun.exe");
const DENO = join(dirname(require.resolve("deno/package.json")), "deno");

type Runtime = "bun" | "deno";
type Engine = "core" | "runtime";
const combos: Array<{ runtime: Runtime; engine: Engine }> = [
  { runtime: "bun", engine: "core" },
  { runtime: "bun", engine: "runtime" },
  { runtime: "deno", engine: "core" },
  { runtime: "deno", engine: "runtime" },
];

interface Running {
  child: ChildProcess;
  port: number;
  output: () => string;
  exited: Promise<number | null>;
}

/** Starts an app's entry for a runtime with PORT=0 and resolves once it prints its port. */
function start(app: "chat" | "echo", runtime: Runtime, engine: Engine): Promise<Running> {
  const entry = join(root, "apps", app, "src", `server.${runtime}.ts`);
  // the workspace packages' TypeScript sources, as in the vitest runs (never a stale build)
  const cmd = runtime === "bun" ? [BUN, "--conditions=@ws/source", entry] : [DENO, "run", "-A", "--conditions=@ws/source", entry];
  const child = spawn(cmd[0]!, cmd.slice(1), {
    cwd: root,
    env: { ...process.env, PORT: "0", ENGINE: engine, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  child.stderr!.on("data", (d) => (output += d));
  return new Promise((resolvePort, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      output += d;
      const m = /Listening on port (\d+)/.exec(output);
      if (m) resolvePort({ child, port: Number(m[1]), output: () => output, exited });
    });
    void exited.then((code) => reject(new Error(`${app} on ${runtime}/${engine} exited (${code}): ${output}`)));
  });
}

async function stop(server: Running | undefined): Promise<void> {
  if (!server || server.child.exitCode !== null) return;
  server.child.kill("SIGTERM");
  const timer = setTimeout(() => server.child.kill("SIGKILL"), 3000);
  await server.exited;
  clearTimeout(timer);
}

function wsClient(port: number, path = "/chat", protocol: string | string[] = "chat", options?: WebSocket.ClientOptions): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, protocol, options);
  return new Promise((r, j) => ws.once("open", () => r(ws)).once("error", j));
}

type SeedConnection = websocket.connection;
function seedClient(port: number): Promise<SeedConnection> {
  const client = new websocket.client();
  return new Promise((r, j) => {
    client.once("connect", r);
    client.once("connectFailed", j);
    client.connect(`ws://127.0.0.1:${port}/chat`, "chat");
  });
}

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; binary: boolean }> {
  return new Promise((r) => ws.once("message", (data: Buffer, binary: boolean) => r({ data, binary })));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
let browser: Browser | undefined;
async function getBrowser(): Promise<Browser> {
  browser ??= await chromium.launch({
    executablePath: chromiumPath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  return browser;
}

const servers = new Map<string, Running>();
beforeAll(async () => {
  // all eight servers start together: the startup cost is paid once
  const started = await Promise.allSettled(
    combos.flatMap(({ runtime, engine }) =>
      (["chat", "echo"] as const).map(async (app) => servers.set(`${app}/${runtime}/${engine}`, await start(app, runtime, engine))),
    ),
  );
  const failed = started.find((s) => s.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([...servers.values()].map(stop));
});

describe.each(combos)("$runtime, engine $engine", ({ runtime, engine }) => {
  const chat = () => servers.get(`chat/${runtime}/${engine}`)!;
  const echo = () => servers.get(`echo/${runtime}/${engine}`)!;

  describe("chat", () => {
    it("logs its port and serves the page at /", async () => {
      expect(chat().output()).toMatch(/Listening on port \d+/);
      const res = await fetch(`http://127.0.0.1:${chat().port}/`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("text/html");
      expect(await res.text()).toContain('const PROTOCOL = "chat.v2"');
    });

    chatChecks(() => chat().port);

    it("refuses an upgrade on a path without a service (404)", async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${chat().port}/nowhere`);
      const status = await new Promise<number>((r) => ws.once("unexpected-response", (_req, res) => r(res.statusCode ?? 0)));
      expect(status).toBe(404);
    });

    it("relays text from the seed's websocket client to every other client, not back to the sender", async () => {
      const port = chat().port;
      const a = await seedClient(port);
      const b = await seedClient(port);
      const c = await wsClient(port);
      expect(a.protocol).toBe("chat");
      expect(c.protocol).toBe("chat");
      const got: Record<string, string[]> = { a: [], b: [], c: [] };
      a.on("message", (m) => m.type === "utf8" && got.a.push(m.utf8Data));
      b.on("message", (m) => m.type === "utf8" && got.b.push(m.utf8Data));
      c.on("message", (d) => got.c.push(d.toString()));
      a.sendUTF("hello from a");
      await sleep(200);
      c.send("hello from c — ünïcödé 🎉");
      await sleep(200);
      expect(got.a).toEqual(["hello from c — ünïcödé 🎉"]);
      expect(got.b).toEqual(["hello from a", "hello from c — ünïcödé 🎉"]);
      expect(got.c).toEqual(["hello from a"]);
      a.close();
      b.close();
      c.close();
    });

    it("closes a client that sends binary with 1003 and the seed's reason", async () => {
      const a = await seedClient(chat().port);
      const closed = new Promise<[number, string]>((r) => a.once("close", (code, desc) => r([code, desc])));
      a.sendBytes(Buffer.from([1, 2, 3]));
      expect(await closed).toEqual([1003, "Chat-Server only accepts text messages"]);
    });

    it("two Chromium tabs on the page: join, see each other online, talk, see the other leave", async () => {
      const context = await (await getBrowser()).newContext();
      try {
        await pageConversation(await context.newPage(), await context.newPage(), `http://127.0.0.1:${chat().port}`);
      } finally {
        await context.close();
      }
    });
  });

  describe("echo", () => {
    it("answers an offered subprotocol it does not speak with none (RFC 6455 §4.2.2)", async () => {
      const head = await new Promise<string>((r, j) => {
        const socket = connectTcp(echo().port, "127.0.0.1", () =>
          socket.write(
            "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, x\r\n\r\n",
          ),
        );
        socket.once("data", (d) => {
          r(d.toString("latin1"));
          socket.destroy();
        });
        socket.once("error", j);
      });
      expect(head).toMatch(/^HTTP\/1\.1 101 /);
      expect(head).toMatch(/sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/i);
      expect(head).not.toMatch(/sec-websocket-protocol/i);
    });

    it("echoes text as text and binary as binary, 1 MiB included, with and without compression", async () => {
      for (const perMessageDeflate of [false, true]) {
        const ws = await wsClient(echo().port, "/", [], { perMessageDeflate });
        const text = "echo ✓ ".repeat(1000);
        let reply = nextMessage(ws);
        ws.send(text);
        let m = await reply;
        expect(m.binary).toBe(false);
        expect(m.data.toString()).toBe(text);
        const big = Buffer.alloc(1024 * 1024);
        for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
        reply = nextMessage(ws);
        ws.send(big);
        m = await reply;
        expect(m.binary).toBe(true);
        expect(Buffer.compare(m.data, big)).toBe(0);
        const closed = new Promise<number>((r) => ws.once("close", (code) => r(code)));
        ws.close(1000, "done");
        expect(await closed).toBe(1000);
      }
    });

    it("inflates compressed messages that refer back into earlier messages (context takeover)", async () => {
      const ws = await wsClient(echo().port, "/", [], { perMessageDeflate: { threshold: 0 } });
      const base = JSON.stringify({ room: "lobby", text: "hello world ".repeat(150) });
      for (const text of [base, base, `${base}!`, base.toUpperCase(), base]) {
        const reply = nextMessage(ws);
        ws.send(text);
        const m = await reply;
        expect(m.data.toString()).toBe(text);
      }
      const closed = new Promise<number>((r) => ws.once("close", (code) => r(code)));
      ws.close(1000, "done");
      expect(await closed).toBe(1000);
    });

    it("keeps the order of many pipelined messages", async () => {
      const ws = await wsClient(echo().port, "/", []);
      const n = 500;
      const received: string[] = [];
      const all = new Promise<void>((r) => ws.on("message", (d: Buffer) => received.push(d.toString()) === n && r()));
      for (let i = 0; i < n; i++) ws.send(`m${i}`);
      await all;
      expect(received).toEqual(Array.from({ length: n }, (_, i) => `m${i}`));
      ws.close();
    });

    // Deno's built-in WebSocket accepts unmasked client frames: a known gap of the runtime engine on Deno (README)
    const unmaskedAccepted = runtime === "deno" && engine === "runtime";
    it(`${unmaskedAccepted ? "[known gap: accepts]" : "closes with 1002 on"} a protocol error from the peer (an unmasked frame)`, async () => {
      const ws = await wsClient(echo().port, "/", []);
      const closed = new Promise<number>((r) => ws.once("close", (code) => r(code)));
      const echoed = new Promise<string>((r) => ws.once("message", (d: Buffer) => r(d.toString())));
      // a raw unmasked text frame "hi" straight onto the socket: servers must fail the connection (RFC 6455 §5.1)
      (ws as unknown as { _socket: import("node:net").Socket })._socket.write(Buffer.from([0x81, 0x02, 0x68, 0x69]));
      if (unmaskedAccepted) {
        expect(await echoed).toBe("hi");
        ws.terminate();
        return;
      }
      const code = await closed;
      // core: 1002 close frame; Bun's and Deno's built-in sockets also fail it (1002, or a drop: 1006)
      expect([1002, 1006]).toContain(code);
    });

    it("on SIGTERM closes every connection with 1001 and exits", async () => {
      const a = await wsClient(echo().port, "/", []);
      const b = await wsClient(echo().port, "/", []);
      const codes = Promise.all([a, b].map((ws) => new Promise<number>((r) => ws.once("close", (code) => r(code)))));
      echo().child.kill("SIGTERM");
      expect(await codes).toEqual([1001, 1001]);
      expect(await echo().exited).toBe(0);
    });
  });
});
