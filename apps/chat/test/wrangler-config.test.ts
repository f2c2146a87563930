/**
 * The apps' `wrangler.toml` works with the wrangler the docs name for Node 20 (packages/cloudflare/README.md:
 * `wrangler@4.86.0`, the last release that runs on Node 20, pinned in packages/cloudflare/package.json).
 *  - the compatibility date is not later than the one the workerd bundled with that wrangler carries (the
 *    `workerd` package's own `compatibilityDate`), checked for every app's wrangler.toml;
 *  - `wrangler dev` starts on apps/chat/wrangler.toml (a copy, `main` made absolute; offline: workerd on 127.0.0.1) and the chat answers
 *    an upgrade to /chat/lobby with 101 and the `chat` subprotocol.
 * Before, wrangler.toml asked for 2026-07-01 and `wrangler dev` stopped with "This Worker requires compatibility
 * date "2026-07-01", but the newest date supported by this server binary is "2026-05-03"".
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import WebSocket from "ws";

const root = resolve(import.meta.dirname, "../../..");
const cloudflare = join(root, "packages/cloudflare");
// the wrangler the docs name: the Workers adapter's pinned dev dependency
const wranglerDir = realpathSync(join(cloudflare, "node_modules/wrangler"));
const wranglerVersion: string = JSON.parse(readFileSync(join(wranglerDir, "package.json"), "utf8")).version;
const wranglerBin = join(cloudflare, "node_modules/.bin/wrangler");
const CONFIGS = ["apps/chat/wrangler.toml", "apps/echo/wrangler.toml"];

function compatibilityDate(file: string): string {
  const m = /^compatibility_date\s*=\s*"(\d{4}-\d{2}-\d{2})"/m.exec(readFileSync(join(root, file), "utf8"));
  if (!m) throw new Error(`${file}: no compatibility_date`);
  return m[1]!;
}

const children: Array<ReturnType<typeof spawn>> = [];
afterAll(() => {
  for (const c of children) c.kill("SIGKILL");
});

describe("wrangler.toml and the wrangler the docs name", () => {
  it("the docs name the pinned wrangler", () => {
    expect(readFileSync(join(cloudflare, "package.json"), "utf8")).toContain(`"wrangler": "${wranglerVersion}"`);
    expect(readFileSync(join(cloudflare, "README.md"), "utf8")).toContain(`wrangler@${wranglerVersion}`);
  });

  it.each(CONFIGS)("%s: compatibility_date is one its workerd supports", async (file) => {
    const workerd = realpathSync(join(wranglerDir, "../workerd"));
    const { compatibilityDate: supported } = (await import(pathToFileURL(join(workerd, "lib/main.js")).href)) as { compatibilityDate: string };
    expect(supported).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(compatibilityDate(file) <= supported, `${file}: ${compatibilityDate(file)} > ${supported} (workerd of wrangler ${wranglerVersion})`).toBe(true);
  });

  it("wrangler dev starts on apps/chat/wrangler.toml and the chat answers an upgrade", async () => {
    // wrangler.toml as it is but for `main`, made absolute: wrangler writes its bundle and state next to the
    // config (.wrangler/), so the copy in a temporary folder keeps apps/chat clean
    const dir = mkdtempSync(join(tmpdir(), "ws-wrangler-chat-"));
    const toml = readFileSync(join(root, "apps/chat/wrangler.toml"), "utf8");
    expect(toml).toMatch(/^main = "src\/server\.workers\.ts"$/m);
    writeFileSync(join(dir, "wrangler.toml"), toml.replace(/^main = .*$/m, `main = ${JSON.stringify(join(root, "apps/chat/src/server.workers.ts"))}`));
    const logs = dir;
    const child = spawn(wranglerBin, ["dev", "--config", join(dir, "wrangler.toml"), "--ip", "127.0.0.1", "--port", "0"], {
      cwd: dir,
      env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", WRANGLER_LOG_PATH: logs, XDG_CONFIG_HOME: logs },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let output = "";
    const port = await new Promise<number>((resolvePort, reject) => {
      const take = (chunk: Buffer) => {
        output += chunk.toString();
        const m = /Ready on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
        if (m) resolvePort(Number(m[1]));
      };
      child.stdout!.on("data", take);
      child.stderr!.on("data", take);
      child.once("exit", (code) => reject(new Error(`wrangler dev exited (${code}): ${output}`)));
    });
    const ws = new WebSocket(`ws://127.0.0.1:${port}/chat/lobby`, "chat");
    await new Promise((r, j) => ws.once("open", r).once("error", j));
    expect(ws.protocol).toBe("chat");
    ws.close();
    // SIGTERM lets wrangler stop its workerd (a SIGKILL would leave workerd running)
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  }, 90_000);
});
