#!/usr/bin/env node
// The packages as a user gets them after a release: installed BY NAME from a registry.
//  1. Verdaccio (a root devDependency) starts on 127.0.0.1 on a free port, storage in a temporary folder; it
//     serves @ws/* itself and proxies every other package to https://registry.npmjs.org/.
//  2. Every publishable package is published to it with `pnpm publish` (as a release does: workspace:* ranges
//     become versions, publishConfig applies), under a throwaway user created against that Verdaccio.
//  3. In fresh projects outside the workspace the README's install commands run verbatim — npm, pnpm, yarn
//     (berry through corepack, nodeLinker node-modules), bun (the repo's pinned binary) and Deno (`deno add npm:`)
//     — and the README's two first examples (the blocks after `<!-- registry-test: … -->` in README.md) run
//     end to end on each: "echo" verbatim (serve + a connect() client echo), then "chat" (the shared service
//     module, which imports @ws/core, after `… add @ws/core`) with `port: 8080` made `port: 0` and a client
//     appended. Bun and Deno run them with the adapter's name in place of "@ws/node", as the README says.
// Clients that refuse versions younger than a day (yarn's npmMinimalAgeGate, Deno's minimumDependencyAge, both on
// by default) are configured as a user would be days after a release: the gate stays on, @ws/* is the one
// documented exclusion (`npmPreapprovedPackages`, `minimumDependencyAge.exclude`) — and the test first checks
// that without it the install is refused, i.e. that the gate is on.
// Every client gets its own cache in the temporary folder, so nothing from an earlier run is reused.
// Needs the packages built (dist/) and network access to registry.npmjs.org. REGISTRY_TEST_KEEP=1 keeps the folder.
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const PACKAGES = ["core", "node-http", "node", "bun", "deno", "redis", "cloudflare", "fastify", "hono"];
/** A Fastify app on @ws/fastify as installed by name: an onRequest hook gates the upgrade, its reply is the refusal. */
const FASTIFY_APP = `import Fastify from "fastify";
import { defineService, webSocket } from "@ws/fastify";
import { connect, HandshakeError } from "@ws/node";

const hello = defineService({ connected: (conn) => void conn.send(\`hello \${conn.data.name}\`) });
const fastify = Fastify();
await fastify.register(webSocket);
fastify.addHook("onRequest", async (request, reply) => {
  if (!request.headers["x-user"]) await reply.code(401).send("log in first");
});
fastify.get("/hello", { websocket: (request) => ({ service: hello, data: { name: request.headers["x-user"] } }) }, () => "ws only");
await fastify.listen({ port: 0, host: "127.0.0.1" });
const url = \`ws://127.0.0.1:\${fastify.server.address().port}/hello\`;
const conn = await connect(url, { headers: { "x-user": "ana" } });
const got = await conn.read({ timeout: 5000 });
if (got !== "hello ana") throw new Error(\`data: \${got}\`);
const refused = await connect(url).catch((e) => e);
if (!(refused instanceof HandshakeError) || refused.status !== 401 || refused.body !== "log in first") throw new Error(\`refusal: \${refused}\`);
await fastify.close();
if ((await conn.closed).code !== 1001) throw new Error("close");
console.log("fastify: ok");
`;

/** The yarn a user gets from `yarn init -2` today (corepack installs it from the registry). */
const YARN = "yarn@4.18.1";

// ------------------------------------------------------------------------- the registry (a child process)
if (process.argv[2] === "--registry-child") {
  const dir = process.argv[3];
  const { runServer } = await import("verdaccio");
  const server = await runServer({
    self_path: dir,
    storage: join(dir, "storage"),
    auth: { htpasswd: { file: join(dir, "htpasswd"), max_users: 1 } },
    uplinks: { npmjs: { url: "https://registry.npmjs.org/", timeout: "60s", maxage: "30m" } },
    packages: {
      // ours: served from the storage only, never looked up upstream
      "@ws/*": { access: "$all", publish: "$authenticated", unpublish: "$authenticated" },
      "**": { access: "$all", publish: "$authenticated", proxy: "npmjs" },
    },
    web: { enable: false },
    log: { type: "stdout", format: "pretty", level: "warn" },
  });
  server.listen(0, "127.0.0.1", () => console.log(`listening ${server.address().port}`));
  process.on("SIGTERM", () => server.close(() => process.exit(0)));
} else {
  await main();
}

async function main() {
  const started = Date.now();
  const work = mkdtempSync(join(tmpdir(), "ws-registry-"));
  let failures = 0;

  function step(name, fn) {
    const t = Date.now();
    try {
      const out = fn();
      console.log(`ok   ${name} (${Date.now() - t} ms)${out ? `: ${String(out).trim().split("\n").at(-1)}` : ""}`);
      return true;
    } catch (e) {
      failures++;
      console.log(`FAIL ${name}\n${e.stdout ?? ""}${e.stderr ?? ""}${e.stdout || e.stderr ? "" : e.message}`);
      return false;
    }
  }

  // ------------------------------------------------------------------------------ what the README says
  const readme = readFileSync(join(root, "README.md"), "utf8");
  /** The code block after `<!-- registry-test: name -->`. */
  function block(name) {
    const m = new RegExp(`<!-- registry-test: ${name} -->\\s*\`\`\`\\w*\\n([\\s\\S]*?)\`\`\``).exec(readme);
    if (!m) throw new Error(`README.md has no block marked <!-- registry-test: ${name} -->`);
    return m[1];
  }
  let echo = "";
  let chat = "";
  step("README: the marked examples", () => {
    echo = block("echo");
    chat = block("chat");
    if (!/from "@ws\/node"/.test(echo) || /from "@ws\/core"/.test(echo)) throw new Error("the echo example imports everything from @ws/node");
    if (chat.split("port: 8080").length !== 2) throw new Error('the chat example has one "port: 8080"');
    return "echo, chat";
  });
  /** The chat example runnable: on a free port, and a client that checks the service's answer. */
  const chatRun = (adapter) =>
    `${chat.replace("port: 8080", "port: 0")}
// --- appended by scripts/registry-test.mjs: a client through the server above
import { connect as testConnect } from "@ws/node";
const testConn = await testConnect(\`\${server.url}/chat\`, { protocols: ["chat"] });
await testConn.send("hi");
const testGot = await testConn.read({ timeout: 5000 });
if (testGot !== "HI") throw new Error(\`chat: \${String(testGot)}\`);
await testConn.close();
await server.close();
console.log("chat: HI");
`.replaceAll('"@ws/node"', `"${adapter}"`);
  /** A Hono app on @hono/node-server whose middleware gates the upgrade (@ws/hono/node's injectWebSocket). */
  const honoRun = `import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { connect, defineService } from "@ws/node";
import { createNodeWebSocket } from "@ws/hono/node";

const chat = defineService({ connected: (conn) => void conn.send(\`hello \${conn.data.name}\`) });
const app = new Hono();
const { upgradeWebSocket, injectWebSocket } = createNodeWebSocket({ app });
const auth = async (c, next) => {
  const name = /user=(\\w+)/.exec(c.req.header("cookie") ?? "")?.[1];
  if (!name) return c.json({ error: "log in first" }, 401);
  c.set("user", { name });
  await next();
};
app.get("/chat", auth, upgradeWebSocket((c) => ({ service: chat, data: c.get("user") })));
const server = await new Promise((resolve) => {
  const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
});
const ws = injectWebSocket(server);
const url = \`ws://127.0.0.1:\${server.address().port}/chat\`;
const refused = await connect(url).catch((e) => e);
const conn = await connect(url, { headers: { Cookie: "user=ann" } });
console.log(\`hono: \${refused.status}, then \${await conn.read({ timeout: 5000 })}\`);
await conn.close();
await ws.close();
server.close();
`;
  const forAdapter = (code, adapter) => code.replaceAll('"@ws/node"', `"${adapter}"`);

  // ------------------------------------------------------------------------------ the registry
  const registryDir = join(work, "registry");
  mkdirSync(registryDir);
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "--registry-child", registryDir], { stdio: ["ignore", "pipe", "pipe"] });
  let childOutput = "";
  const port = await new Promise((resolvePort, reject) => {
    const take = (d) => {
      childOutput += d;
      const m = /listening (\d+)/.exec(childOutput);
      if (m) resolvePort(Number(m[1]));
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.once("exit", (code) => reject(new Error(`verdaccio exited (${code}): ${childOutput}`)));
  });
  const registry = `http://127.0.0.1:${port}/`;
  console.log(`verdaccio on ${registry} (storage ${registryDir})`);

  try {
    // a throwaway user (the htpasswd is in the temporary folder): its token publishes
    const res = await fetch(`${registry}-/user/org.couchdb.user:ci`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "ci", password: `ci-${process.pid}-${Date.now()}` }),
    });
    const { token } = await res.json();
    if (!token) throw new Error(`no token from verdaccio (${res.status})`);
    const npmrc = join(work, "publish.npmrc");
    writeFileSync(npmrc, `//127.0.0.1:${port}/:_authToken=${token}\n`);

    // one environment for every client: the registry, and caches of their own in the temporary folder
    const cache = (name) => join(work, "cache", name);
    const env = {
      ...process.env,
      npm_config_registry: registry,
      NPM_CONFIG_REGISTRY: registry, // bun and Deno read it in capitals
      npm_config_cache: cache("npm"),
      npm_config_store_dir: cache("pnpm-store"),
      npm_config_cache_dir: cache("pnpm"),
      npm_config_update_notifier: "false",
      npm_config_fund: "false",
      npm_config_audit: "false",
      COREPACK_ENABLE_DOWNLOAD_PROMPT: "0",
      COREPACK_NPM_REGISTRY: registry.slice(0, -1), // yarn itself from the registry too (through the proxy)
      YARN_CACHE_FOLDER: cache("yarn"),
      YARN_ENABLE_GLOBAL_CACHE: "false",
      YARN_GLOBAL_FOLDER: cache("yarn-global"), // its metadata cache: packuments of an earlier run's registry
      YARN_ENABLE_TELEMETRY: "0",
      BUN_INSTALL_CACHE_DIR: cache("bun"),
      DENO_DIR: cache("deno"),
      NO_COLOR: "1",
    };
    const sh = (cmd, args, cwd, extra = {}) =>
      execFileSync(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8", env: { ...env, ...extra }, timeout: 180_000 });
    /** Runs `command` (a string the README has, in backticks) in cwd; `argv0` replaces its program. */
    const readmeCommand = (command, cwd, argv0) => {
      if (!readme.includes(`\`${command}\``)) throw new Error(`README.md does not say \`${command}\``);
      const [program, ...args] = command.split(" ");
      return sh(...(argv0 ? [argv0[0], [...argv0.slice(1), ...args]] : [program, args]), cwd);
    };
    const expectFailure = (fn, pattern) => {
      try {
        fn();
      } catch (e) {
        const out = `${e.stdout ?? ""}${e.stderr ?? ""}`;
        if (pattern.test(out)) return out.split("\n").find((l) => pattern.test(l));
        throw e;
      }
      throw new Error(`expected a failure (${pattern})`);
    };
    /** The packages came from this registry (bun.lock records where each came from; npm's lockfile does not for the configured registry). */
    const fromRegistry = (dir, lockfile, adapter) => {
      const lock = readFileSync(join(dir, lockfile), "utf8");
      for (const name of ["core", adapter]) {
        if (!lock.includes(`127.0.0.1:${port}/@ws/${name}/-/${name}-`)) throw new Error(`${lockfile}: @ws/${name} not from ${registry}`);
      }
      return `@ws/core, @ws/${adapter} from ${registry}`;
    };
    const expectOutput = (out, line) => {
      if (!out.split("\n").some((l) => l.trim() === line)) throw new Error(`expected "${line}" in:\n${out}`);
      return line;
    };

    // -------------------------------------------------------------------------- publish, as a release does
    const published = step(`pnpm publish ${PACKAGES.length} packages to verdaccio`, () => {
      for (const p of PACKAGES) {
        sh("pnpm", ["publish", "--registry", registry, "--no-git-checks"], join(root, "packages", p), { NPM_CONFIG_USERCONFIG: npmrc });
      }
      return PACKAGES.map((p) => `@ws/${p}`).join(" ");
    });
    if (!published) throw new Error("nothing to install");

    const project = (name, files) => {
      const dir = join(work, name);
      mkdirSync(dir);
      for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
      return dir;
    };
    const bin = (name) => join(root, "node_modules/.bin", name);

    // ------------------------------------------------------------------------------- Node: npm, pnpm, yarn
    const yarnrc = (preapproved) =>
      [
        "nodeLinker: node-modules",
        `npmRegistryServer: "${registry.slice(0, -1)}"`,
        'unsafeHttpWhitelist: ["127.0.0.1"]',
        // days after a release, a user who pins fresh versions of our packages approves the scope, and only it
        ...(preapproved ? ['npmPreapprovedPackages: ["@ws/*"]'] : []),
        "",
      ].join("\n");
    const managers = [
      { name: "npm", add: (p) => `npm install ${p}`, files: { "package.json": '{ "name": "app-npm", "private": true }\n' } },
      { name: "pnpm", add: (p) => `pnpm add ${p}`, files: { "package.json": '{ "name": "app-pnpm", "private": true }\n' } },
      {
        name: "yarn",
        add: (p) => `yarn add ${p}`,
        argv0: ["corepack", "yarn"],
        files: { "package.json": `{ "name": "app-yarn", "private": true, "packageManager": "${YARN}" }\n`, ".yarnrc.yml": yarnrc(false) },
      },
    ];
    for (const m of managers) {
      const dir = project(m.name, { ...m.files, "echo.mjs": echo, "chat.mjs": chatRun("@ws/node") });
      if (m.name === "yarn") {
        step("yarn: the age gate is on (no exclusion: @ws/node is refused as too new)", () => {
          try {
            readmeCommand(m.add("@ws/node"), dir, m.argv0);
          } catch (e) {
            if (/quarantined/.test(`${e.stdout}${e.stderr}`)) return "YN0016 quarantined";
            throw e;
          }
          throw new Error("yarn installed a version published seconds ago: its npmMinimalAgeGate is off");
        });
        writeFileSync(join(dir, ".yarnrc.yml"), yarnrc(true));
      }
      if (!step(`${m.name}: \`${m.add("@ws/node")}\``, () => readmeCommand(m.add("@ws/node"), dir, m.argv0))) continue;
      step(`${m.name}: node echo.mjs (the README's echo example)`, () => expectOutput(sh(process.execPath, ["echo.mjs"], dir), "echo: hello"));
      if (m.name === "pnpm") {
        // why the README has the shared module's project install @ws/core: a strict layout hides what came along
        step("pnpm: without `pnpm add @ws/core` the shared module's import of @ws/core fails", () => expectFailure(() => sh(process.execPath, ["chat.mjs"], dir), /Cannot find package '@ws\/core'/));
      }
      if (!step(`${m.name}: \`${m.add("@ws/core")}\``, () => readmeCommand(m.add("@ws/core"), dir, m.argv0))) continue;
      step(`${m.name}: the README's shared chat service on @ws/node`, () => expectOutput(sh(process.execPath, ["chat.mjs"], dir), "chat: HI"));
      if (m.name === "pnpm") {
        // the examples as strict TypeScript in pnpm's strict layout (the types of @ws/node name @ws/core's)
        step("pnpm: tsc --strict (nodenext) on the examples", () => {
          sh("pnpm", ["add", "-D", "typescript@~5.9.3", "@types/node@^20.19.0"], dir);
          writeFileSync(join(dir, "echo.mts"), echo);
          writeFileSync(join(dir, "chat.mts"), chatRun("@ws/node"));
          const compilerOptions = { strict: true, noEmit: true, module: "nodenext", moduleResolution: "nodenext", target: "ES2022", types: ["node"], skipLibCheck: false };
          writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions, files: ["echo.mts", "chat.mts"] }));
          return sh(join(dir, "node_modules/.bin/tsc"), ["-p", "."], dir);
        });
      }
      if (m.name === "npm") {
        // @ws/fastify by name, with fastify (its peer) from the registry: a hook refuses, a route's data reaches conn.data
        if (step("npm: `npm install @ws/fastify fastify`", () => readmeCommand("npm install @ws/fastify fastify", dir))) {
          writeFileSync(join(dir, "fastify.mjs"), FASTIFY_APP);
          step("npm: a Fastify app with @ws/fastify (hook before the upgrade, data, refusal, close 1001)", () =>
            expectOutput(sh(process.execPath, ["fastify.mjs"], dir), "fastify: ok"));
        }
        // @ws/hono by name, with its peers from the registry: a Hono app on @hono/node-server gates an upgrade
        step("npm: `npm install @ws/hono @ws/node hono @hono/node-server` and a Hono app's upgrade", () => {
          readmeCommand("npm install @ws/hono @ws/node hono @hono/node-server", dir);
          writeFileSync(join(dir, "hono.mjs"), honoRun);
          return expectOutput(sh(process.execPath, ["hono.mjs"], dir), "hono: 401, then hello ann");
        });
        step("npm: `npm install @ws/cloudflare` (resolves; it runs on workerd, not Node)", () => {
          readmeCommand("npm install @ws/cloudflare", dir);
          const resolved = sh(process.execPath, ["--input-type=module", "-e", 'console.log(import.meta.resolve("@ws/cloudflare"))'], dir);
          if (!resolved.includes("node_modules/@ws/cloudflare/dist/index.js")) throw new Error(resolved);
          return resolved;
        });
      }
    }

    // ------------------------------------------------------------------------------------------------ Bun
    {
      const dir = project("bun", { "echo.ts": forAdapter(echo, "@ws/bun"), "chat.ts": chatRun("@ws/bun") });
      if (step("bun: `bun add @ws/bun`", () => readmeCommand("bun add @ws/bun", dir, [bin("bun")]))) {
        step("bun: bun echo.ts", () => expectOutput(sh(bin("bun"), ["echo.ts"], dir), "echo: hello"));
        if (step("bun: `bun add @ws/core`", () => readmeCommand("bun add @ws/core", dir, [bin("bun")]))) {
          step("bun: the README's shared chat service on @ws/bun", () => expectOutput(sh(bin("bun"), ["chat.ts"], dir), "chat: HI"));
          step("bun: bun.lock", () => fromRegistry(dir, "bun.lock", "bun"));
        }
      }
    }

    // ----------------------------------------------------------------------------------------------- Deno
    {
      const denoJson = (exclude) =>
        // P1D is Deno's default (24 hours), written out; the exclusion is for our scope only
        `${JSON.stringify({ minimumDependencyAge: exclude ? { age: "P1D", exclude: ["npm:@ws/*"] } : "P1D" }, null, 2)}\n`;
      const dir = project("deno", { "deno.json": denoJson(false), "echo.ts": forAdapter(echo, "@ws/deno"), "chat.ts": chatRun("@ws/deno") });
      step("deno: the minimum dependency age is on (no exclusion: @ws/deno is refused as too new)", () => {
        try {
          readmeCommand("deno add npm:@ws/deno", dir, [bin("deno")]);
        } catch (e) {
          if (/minimum dependency/.test(`${e.stdout}${e.stderr}`)) return "refused: newer than the minimum dependency date";
          throw e;
        }
        throw new Error("deno added a version published seconds ago: its minimumDependencyAge is off");
      });
      writeFileSync(join(dir, "deno.json"), denoJson(true));
      if (step("deno: `deno add npm:@ws/deno`", () => readmeCommand("deno add npm:@ws/deno", dir, [bin("deno")]))) {
        step("deno: deno run --allow-net echo.ts", () => expectOutput(sh(bin("deno"), ["run", "--allow-net", "echo.ts"], dir), "echo: hello"));
        step("deno: without `deno add npm:@ws/core` the shared module's import of @ws/core fails", () =>
          expectFailure(() => sh(bin("deno"), ["run", "--allow-net", "chat.ts"], dir), /@ws\/core/));
        if (step("deno: `deno add npm:@ws/core`", () => readmeCommand("deno add npm:@ws/core", dir, [bin("deno")]))) {
          step("deno check echo.ts chat.ts (strict TypeScript)", () => sh(bin("deno"), ["check", "echo.ts", "chat.ts"], dir));
          step("deno: the README's shared chat service on @ws/deno", () => expectOutput(sh(bin("deno"), ["run", "--allow-net", "chat.ts"], dir), "chat: HI"));
        }
      }
    }
  } catch (e) {
    failures++;
    console.log(`FAIL ${e.message}`);
  } finally {
    child.kill("SIGTERM");
  }
  if (process.env.REGISTRY_TEST_KEEP) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
  const seconds = Math.round((Date.now() - started) / 1000);
  console.log(failures === 0 ? `registry test: passed (${seconds} s)` : `registry test: ${failures} step(s) FAILED (${seconds} s)`);
  process.exit(failures === 0 ? 0 : 1);
}
