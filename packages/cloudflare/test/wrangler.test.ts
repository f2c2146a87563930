/**
 * What the README promises a Workers user about wrangler: `wrangler deploy` bundles a Worker built on
 * @ws/cloudflare with its Durable Object binding (checked with `--dry-run`: no account needed), and
 * `wrangler dev` serves it locally. wrangler 4.86.0 is the last release that runs on Node 20; its workerd
 * supports compatibility dates up to 2026-05-03, hence the date below.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { connect } from "./support/client.ts";

const wrangler = fileURLToPath(new URL("../node_modules/.bin/wrangler", import.meta.url));
const fixture = fileURLToPath(new URL("./fixtures/worker.ts", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "ws-wrangler-"));
const config = join(dir, "wrangler.toml");
writeFileSync(
  config,
  [
    'name = "ws-fixture"',
    `main = ${JSON.stringify(fixture)}`,
    'compatibility_date = "2026-05-01"',
    "[[durable_objects.bindings]]",
    'name = "ROOMS"',
    'class_name = "TestRoom"',
    "[[migrations]]",
    'tag = "v1"',
    'new_sqlite_classes = ["TestRoom"]',
    "",
  ].join("\n"),
);
const env = { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", WRANGLER_LOG_PATH: dir };

function run(args: string[], onOutput?: (text: string) => boolean) {
  const child = spawn(wrangler, args, { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const done = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const matched = new Promise<void>((resolve) => {
    const take = (chunk: Buffer) => {
      output += chunk.toString();
      if (onOutput?.(output)) resolve();
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
  });
  return { child, done, matched, output: () => output };
}

const children: Array<ReturnType<typeof run>["child"]> = [];
afterAll(() => {
  for (const c of children) c.kill("SIGKILL");
});

describe("wrangler", () => {
  it("deploy --dry-run bundles the Worker with its Durable Object binding", async () => {
    const out = join(dir, "out");
    const r = run(["deploy", "--dry-run", "--config", config, "--outdir", out]);
    const code = await r.done;
    expect(r.output()).toMatch(/env\.ROOMS \(TestRoom\)\s+Durable Object/);
    expect(code).toBe(0);
    const bundle = readdirSync(out).find((f) => f.endsWith(".js"));
    expect(bundle).toBeDefined();
    const text = readFileSync(join(out, bundle!), "utf8");
    // the package's own code is in the upload, and nothing from Node's standard library
    expect(text).toContain("WebSocketPair");
    expect(text).not.toMatch(/from\s*["']node:/);
  }, 120_000);

  it("dev serves the Worker: an upgrade is answered and a message echoed", async () => {
    const r = run(["dev", "--config", config, "--ip", "127.0.0.1", "--port", "0"], (o) => /Ready on http:\/\/127\.0\.0\.1:\d+/.test(o));
    children.push(r.child);
    await Promise.race([r.matched, r.done.then((code) => Promise.reject(new Error(`wrangler dev exited (${code}): ${r.output()}`)))]);
    const port = Number(/Ready on http:\/\/127\.0\.0\.1:(\d+)/.exec(r.output())![1]);
    const client = await connect(`ws://127.0.0.1:${port}/echo`);
    client.ws.send("through wrangler dev");
    expect(await client.nth(1)).toBe("through wrangler dev");
    client.ws.close();
    r.child.kill("SIGTERM");
  }, 120_000);
});
