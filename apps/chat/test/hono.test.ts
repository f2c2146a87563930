/**
 * Issue 23: the chat as one Hono app module (src/hono-app.ts), unchanged on Node (in process, @ws/node's serve),
 * Bun and Deno (their entries src/server.hono.bun.ts / src/server.hono.deno.ts as child processes, core engine)
 * and Workers (src/server.hono.workers.ts on workerd: each room's Durable Object serves the app): the chat
 * protocol's checks (chat-checks.ts) against each, and the page at "/".
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startWorker, type RunningWorker } from "@ws/cloudflare/dev";
import { serve, silentLogger } from "@ws/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createChatApp } from "../src/hono-app.ts";
import { chatChecks } from "./chat-checks.ts";

const root = resolve(import.meta.dirname, "../../..");
const require = createRequire(join(root, "package.json"));
const BUN = join(dirname(require.resolve("bun/package.json")), "bin/bun.exe");
const DENO = join(dirname(require.resolve("deno/package.json")), "deno");

interface Running {
  port: number;
  stop(): Promise<void>;
}

/** Starts an entry with PORT=0 and resolves once it prints its port. */
function start(cmd: string[]): Promise<Running> {
  const child: ChildProcess = spawn(cmd[0]!, cmd.slice(1), { cwd: root, env: { ...process.env, PORT: "0", NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  child.stderr!.on("data", (d) => (output += d));
  const stop = async () => {
    if (child.exitCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolvePort, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      output += d;
      const m = /Listening on port (\d+)/.exec(output);
      if (m) resolvePort({ port: Number(m[1]), stop });
    });
    void exited.then((code) => reject(new Error(`${cmd.join(" ")} exited (${code}): ${output}`)));
  });
}

const entry = (name: string) => join(root, "apps/chat/src", name);

const targets: Array<{ name: string; start(): Promise<Running> }> = [
  {
    name: "Node (@ws/node serve({ fetch: app.fetch }))",
    async start() {
      const server = await serve({ port: 0, hostname: "127.0.0.1", logger: silentLogger, fetch: createChatApp().fetch });
      return { port: server.port, stop: () => server.close({ timeout: 1000 }) };
    },
  },
  { name: "Bun (@ws/bun, core engine)", start: () => start([BUN, "--conditions=@ws/source", entry("server.hono.bun.ts")]) },
  { name: "Deno (@ws/deno, core engine)", start: () => start([DENO, "run", "-A", entry("server.hono.deno.ts")]) },
  {
    name: "Workers (workerd: the app in each room's Durable Object)",
    async start() {
      const worker: RunningWorker = await startWorker({ entry: entry("server.hono.workers.ts"), name: "ws-chat-hono", durableObjects: { CHAT_ROOMS: "ChatRoom" } });
      return { port: worker.port, stop: () => worker.dispose() };
    },
  },
];

for (const target of targets) {
  describe(`the chat's Hono app on ${target.name}`, () => {
    let running: Running | undefined;
    beforeAll(async () => {
      running = await target.start();
    }, 60_000);
    afterAll(async () => {
      await running?.stop();
    });

    it("serves the page at / and 404 elsewhere", async () => {
      const page = await fetch(`http://127.0.0.1:${running!.port}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('const PROTOCOL = "chat.v2"');
      const missing = await fetch(`http://127.0.0.1:${running!.port}/nowhere`);
      expect(missing.status).toBe(404);
      await missing.body?.cancel();
    });

    chatChecks(() => running!.port);
  });
}
