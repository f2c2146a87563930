#!/usr/bin/env node
/**
 * One chat room on three servers — Node, Bun and Deno, on ports PORT, PORT+1, PORT+2 (default 8080) — sharing
 * the room through Redis: REDIS_URL, or a local redis-server started here (and stopped on exit).
 *
 *   pnpm --filter @ws/chat-app cluster            # or: node apps/chat/scripts/cluster.mjs
 *   REDIS_URL=redis://10.0.0.5:6379 PORT=9000 pnpm --filter @ws/chat-app cluster
 *   ENGINE=runtime ...                            # Bun and Deno on their built-in WebSocket instead
 *
 * Open http://localhost:8080/ and http://localhost:8081/ side by side: what is typed in one shows in the other.
 * Ctrl-C stops everything.
 */
import { spawn, execSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";

const appDir = resolve(import.meta.dirname, "..");
const root = resolve(appDir, "../..");
const require = createRequire(join(root, "package.json"));
const BUN = join(dirname(require.resolve("bun/package.json")), "bin/bun.exe");
const DENO = join(dirname(require.resolve("deno/package.json")), "deno");
const basePort = Number(process.env.PORT ?? 8080);
const engine = process.env.ENGINE ?? "core";

if (!existsSync(join(appDir, "dist/server.node.js")) || !existsSync(join(root, "packages/redis/dist/redis-server.js"))) {
  console.log("building the chat app and its packages first…");
  execSync("pnpm turbo run build --filter=@ws/chat-app...", { cwd: root, stdio: "inherit" });
}

let redis = null;
let redisUrl = process.env.REDIS_URL;
if (!redisUrl) {
  const { startRedisServer } = await import("@ws/redis/redis-server");
  redis = await startRedisServer();
  redisUrl = redis.url;
  console.log(`started redis-server at ${redisUrl} (no REDIS_URL given; nothing is saved)`);
}

const servers = [
  { name: "node", cmd: [process.execPath, join(appDir, "dist/server.node.js")] },
  { name: `bun (${engine})`, cmd: [BUN, "--conditions=@ws/source", join(appDir, "src/server.bun.ts")] },
  { name: `deno (${engine})`, cmd: [DENO, "run", "-A", "--conditions=@ws/source", join(appDir, "src/server.deno.ts")] },
];

const children = servers.map(({ name, cmd }, i) => {
  const port = basePort + i;
  const child = spawn(cmd[0], cmd.slice(1), {
    cwd: root,
    env: { ...process.env, PORT: String(port), ENGINE: engine, REDIS_URL: redisUrl },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const prefix = `[${name.padEnd(14)}] `;
  const relay = (stream, out) => {
    let rest = "";
    stream.on("data", (d) => {
      const lines = (rest + d).split("\n");
      rest = lines.pop();
      for (const line of lines) out.write(`${prefix}${line}\n`);
    });
  };
  relay(child.stdout, process.stdout);
  relay(child.stderr, process.stderr);
  child.on("exit", (code, signal) => {
    if (!stopping) console.error(`${prefix}exited (${signal ?? code})`);
  });
  console.log(`${prefix}http://localhost:${port}/  (ws://localhost:${port}/chat)`);
  return child;
});

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await Promise.all(
    children.map(
      (child) =>
        new Promise((r) => {
          if (child.exitCode !== null || child.signalCode !== null) return r();
          const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
          child.once("exit", () => (clearTimeout(timer), r()));
          child.kill("SIGTERM");
        }),
    ),
  );
  await redis?.stop();
  process.exit(0);
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
