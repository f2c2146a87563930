#!/usr/bin/env node
// The packages as a user gets them: every publishable package is packed (`pnpm pack`, as `pnpm publish` would
// build the tarball), the tarballs are installed with npm into a fresh project outside the workspace, and there
//  - Node: one service module served with serve() and with attach() to an http.createServer, a connect() client
//    echo, compiled by a strict TypeScript project on `nodenext` and checked on `bundler` and on the old `node`
//    resolution; a CommonJS require() smoke test; @ws/fastify in a Fastify app and expressUpgrade in an Express
//    app with express-session (hooks / middleware before the upgrade, their refusal at the client; no casts);
//  - Bun: the same service module on @ws/bun's two engines, checked with @types/bun;
//  - Deno: the same service module through the package.json + node_modules, run with `deno run` and checked
//    with `deno check`;
//  - Hono (@ws/hono): one Hono app module whose cookie middleware gates the upgrade and hands c.get("user") to
//    conn.data (typed, no cast), served on Node by @hono/node-server's serve() + injectWebSocket(server), on Bun
//    and on Deno by their serve({ fetch: app.fetch }): the middleware's 401 and an upgraded greeting on each;
// each sending a message and checking the echo over a real socket; and publint and arethetypeswrong on every
// tarball. Needs the packages built (dist/).
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const PACKAGES = ["core", "node-http", "node", "bun", "deno", "redis", "cloudflare", "fastify", "hono"];
const bin = (name) => join(root, "node_modules/.bin", name);
const work = mkdtempSync(join(tmpdir(), "ws-consumer-"));
let failures = 0;

function sh(cmd, args, cwd, env = {}) {
  return execFileSync(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8", env: { ...process.env, ...env }, timeout: 180_000 });
}

function step(name, fn) {
  const started = Date.now();
  try {
    const out = fn();
    console.log(`ok   ${name} (${Date.now() - started} ms)${out ? `: ${String(out).trim().split("\n").at(-1)}` : ""}`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}\n${e.stdout ?? ""}${e.stderr ?? ""}${e.stdout || e.stderr ? "" : e.message}`);
  }
}

// ---------------------------------------------------------------------------------------------- the tarballs
const tarballs = join(work, "tarballs");
mkdirSync(tarballs);
const tarball = {};
step("pnpm pack every package", () => {
  for (const p of PACKAGES) sh("pnpm", ["pack", "--pack-destination", tarballs], join(root, "packages", p));
  for (const f of readdirSync(tarballs)) tarball[`@ws/${f.replace(/^ws-/, "").replace(/-\d+\.\d+\.\d+.*\.tgz$/, "")}`] = join(tarballs, f);
  return Object.keys(tarball).join(" ");
});

// what a registry would see: publint (package.json against the files) and arethetypeswrong (the types each
// resolution mode finds); the packages are ESM only, so require() of them is the esm-only profile's business
for (const [name, path] of Object.entries(tarball)) {
  step(`publint ${name}`, () => sh(bin("publint"), ["run", path, "--strict"], work));
  step(`attw ${name}`, () => sh(bin("attw"), [path, "--profile", "esm-only", "--format", "ascii"], work));
}

// ------------------------------------------------------------------------------------------- the project
const app = join(work, "app");
mkdirSync(join(app, "src"), { recursive: true });
const fileSpec = Object.fromEntries(Object.entries(tarball).map(([name, path]) => [name, `file:${path}`]));
writeFileSync(
  join(app, "package.json"),
  JSON.stringify(
    {
      name: "consumer",
      private: true,
      type: "module",
      // the frameworks of @ws/fastify (a peer dependency) and of expressUpgrade, as an app has them
      dependencies: {
        ...fileSpec,
        fastify: "5.12.8",
        express: "5.1.0",
        "express-session": "1.19.0",
        // hono and @hono/node-server: the peer dependencies of @ws/hono
        hono: "4.13.23",
        "@hono/node-server": "2.1.11",
      },
      // the packages depend on each other by version: those come from the tarballs too, not the registry
      overrides: fileSpec,
      devDependencies: {
        typescript: "~5.9.3",
        "@types/node": "^20.19.0",
        "@types/bun": "1.4.4",
        "@types/express": "5.0.6",
        "@types/express-session": "1.19.0",
      },
    },
    null,
    2,
  ),
);
writeFileSync(
  join(app, "src/service.ts"),
  `import { defineService, type Connection } from "@ws/core";

/** The service module every runtime below serves unchanged. */
export const echo = defineService({
  protocols: ["echo"],
  received(message: string | Uint8Array, conn: Connection) {
    void conn.send(message);
  },
});
`,
);
writeFileSync(
  join(app, "src/node-main.ts"),
  `import * as http from "node:http";
import { attach, connect, serve } from "@ws/node";
import { echo } from "./service.js";

async function roundTrip(url: string, text: string): Promise<void> {
  const conn = await connect(url, { protocols: ["echo"] });
  if (conn.protocol !== "echo") throw new Error(\`subprotocol \${conn.protocol}\`);
  await conn.send(text);
  const got = await conn.read({ timeout: 5000 });
  if (got !== text) throw new Error(\`echo: \${String(got)}\`);
  await conn.close();
}

const server = await serve({ port: 0, hostname: "127.0.0.1", services: { "/echo": echo } });
await roundTrip(\`\${server.url}/echo\`, "over serve()");
await server.close();

const plain = http.createServer((_req, res) => res.end("plain"));
const ws = attach(plain, { services: { "/echo": echo } });
await new Promise<void>((r) => plain.listen(0, "127.0.0.1", r));
const port = (plain.address() as { port: number }).port;
await roundTrip(\`ws://127.0.0.1:\${port}/echo\`, "over attach()");
await ws.close();
await new Promise((r) => plain.close(r));
console.log("node: serve() and attach() echoed");
`,
);
writeFileSync(
  join(app, "src/fastify-main.ts"),
  `// @ws/fastify: Fastify's hooks before the upgrade decision, request data in conn.data, the hook's reply as the refusal
import Fastify, { type FastifyReply, type FastifyRequest } from "fastify";
import { defineService, webSocket, type WebSocketChoice } from "@ws/fastify";
import { connect, HandshakeError } from "@ws/node";

declare module "fastify" {
  interface FastifyRequest {
    user?: string;
  }
}

interface User {
  name: string;
}

const hello = defineService<User>({ connected: (conn) => void conn.send(\`hello \${conn.data.name}\`) });

async function auth(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const user = request.headers["x-user"];
  if (typeof user !== "string") return void (await reply.code(401).header("x-why", "no user").send({ error: "log in" }));
  request.user = user;
}

const fastify = Fastify();
await fastify.register(webSocket, { maxMessageSize: 1024 });
fastify.get("/", () => "plain");
await fastify.register(async (secured) => {
  secured.addHook("preValidation", auth);
  secured.get("/hello", { websocket: (request): WebSocketChoice<User> => ({ service: hello, data: { name: request.user ?? "?" } }) }, () => "ws only");
});
await fastify.listen({ port: 0, host: "127.0.0.1" });
const port = (fastify.server.address() as { port: number }).port;
const conn = await connect(\`ws://127.0.0.1:\${port}/hello\`, { headers: { "x-user": "ana" } });
const got = await conn.read({ timeout: 5000 });
if (got !== "hello ana") throw new Error(\`data: \${String(got)}\`);
const refused = await connect(\`ws://127.0.0.1:\${port}/hello\`).catch((e: unknown) => e);
if (!(refused instanceof HandshakeError) || refused.status !== 401 || refused.headers.get("x-why") !== "no user") throw new Error(\`refusal: \${String(refused)}\`);
if ((await (await fetch(\`http://127.0.0.1:\${port}/\`)).text()) !== "plain") throw new Error("plain route");
await fastify.close();
if ((await conn.closed).code !== 1001) throw new Error("close");
console.log("fastify: hooks before the upgrade, data, refusal, plain route, close 1001");
`,
);
writeFileSync(
  join(app, "src/express-main.ts"),
  `// expressUpgrade: Express middleware (express-session) before the upgrade decision, its refusal at the client
import express from "express";
import session from "express-session";
import type { AddressInfo } from "node:net";
import { attach, connect, defineService, expressUpgrade, HandshakeError, type UpgradeRequest } from "@ws/node";

declare module "express-session" {
  interface SessionData {
    user: string;
  }
}

const app = express();
app.use(session({ secret: "consumer", resave: false, saveUninitialized: false }));
app.get("/login", (req, res) => {
  req.session.user = "ana";
  res.send("in");
});
app.use("/chat", (req, res, next) => (req.session.user ? next() : void res.status(401).json({ error: "log in" })));
const chat = defineService<{ name: string }>({
  upgrade: (req: UpgradeRequest<express.Request>) => ({ data: { name: req.raw?.session.user ?? "?" } }),
  connected: (conn) => void conn.send(\`hello \${conn.data.name}\`),
});
const server = app.listen(0, "127.0.0.1");
await new Promise<void>((resolve) => server.once("listening", () => resolve()));
const ws = attach({ noServer: true, services: { "/chat": chat } });
server.on("upgrade", expressUpgrade(app, ws));
const port = (server.address() as AddressInfo).port;
const login = await fetch(\`http://127.0.0.1:\${port}/login\`);
const cookie = login.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
const conn = await connect(\`ws://127.0.0.1:\${port}/chat\`, { headers: { cookie } });
const got = await conn.read({ timeout: 5000 });
if (got !== "hello ana") throw new Error(\`data: \${String(got)}\`);
const refused = await connect(\`ws://127.0.0.1:\${port}/chat\`).catch((e: unknown) => e);
if (!(refused instanceof HandshakeError) || refused.status !== 401) throw new Error(\`refusal: \${String(refused)}\`);
await ws.close();
if ((await conn.closed).code !== 1001) throw new Error("close");
await new Promise((resolve) => server.close(resolve));
console.log("express: session middleware before the upgrade, data, refusal, close 1001");
`,
);
writeFileSync(
  join(app, "src/require.cjs"),
  `// CommonJS: require() of the ESM packages (Node >= 20.19)
const { serve, connect, defineService } = require("@ws/node");
(async () => {
  const s = await serve({ port: 0, hostname: "127.0.0.1", services: { "/e": defineService({ received: (m, c) => void c.send(m) }) } });
  const c = await connect(s.url + "/e");
  await c.send("cjs");
  const got = await c.read({ timeout: 5000 });
  await c.close();
  await s.close();
  if (got !== "cjs") throw new Error("echo: " + got);
  console.log("require(): echoed");
})().catch((e) => { console.error(e); process.exit(1); });
`,
);
writeFileSync(
  join(app, "src/bun-main.ts"),
  `import { connect, serve } from "@ws/bun";
import { echo } from "./service.ts";

for (const engine of ["core", "runtime"] as const) {
  const server = await serve({ engine, port: 0, hostname: "127.0.0.1", services: { "/echo": echo } });
  const conn = await connect(\`\${server.url}/echo\`, { protocols: ["echo"] });
  await conn.send(\`bun \${engine}\`);
  const got = await conn.read({ timeout: 5000 });
  if (got !== \`bun \${engine}\`) throw new Error(\`\${engine}: echo \${String(got)}\`);
  await conn.close();
  await server.close();
}
console.log("bun: both engines echoed");
`,
);
writeFileSync(
  join(app, "src/deno-main.ts"),
  `import { connect, serve } from "@ws/deno";
import { echo } from "./service.ts";

for (const engine of ["core", "runtime"] as const) {
  const server = await serve({ engine, port: 0, hostname: "127.0.0.1", services: { "/echo": echo } });
  const conn = await connect(\`\${server.url}/echo\`, { protocols: ["echo"] });
  await conn.send(\`deno \${engine}\`);
  const got = await conn.read({ timeout: 5000 });
  if (got !== \`deno \${engine}\`) throw new Error(\`\${engine}: echo \${String(got)}\`);
  await conn.close();
  await server.close();
}
console.log("deno: both engines echoed");
`,
);
writeFileSync(
  join(app, "src/testing-main.ts"),
  `// @ws/core/testing: a service tested in memory, the same on Node, Bun and Deno (no top-level await: node10 checks it too)
import { defineService, HandshakeError, type UpgradeDecision } from "@ws/core";
import { testServer } from "@ws/core/testing";

const room = defineService<{ user: string }>({
  upgrade(req): UpgradeDecision<{ user: string }> {
    const user = req.cookies.get("session");
    return user ? { data: { user } } : { reject: 401, reason: "log in first" };
  },
  connected: (conn) => conn.subscribe("room"),
  received: (message, conn) => void conn.publish("room", \`\${conn.data.user}: \${String(message)}\`),
});

async function main(): Promise<void> {
  const server = testServer({ services: { "/room": room } });
  const ana = await server.connect("/room", { headers: { cookie: "session=ana" } });
  const bob = await server.connect("/room", { headers: { cookie: "session=bob" } });
  await ana.send("hi");
  const got = await bob.next();
  if (got !== "ana: hi") throw new Error(\`relay: \${String(got)}\`);
  const refused = await server.connect("/room").catch((e: unknown) => e);
  if (!(refused instanceof HandshakeError) || refused.status !== 401) throw new Error(\`refusal: \${String(refused)}\`);
  await server.close();
  if ((await ana.closed).code !== 1001) throw new Error("close");
}

void main().then(() => console.log("@ws/core/testing: relayed in memory, refused with 401"));
`,
);
writeFileSync(
  join(app, "src/hono-app.ts"),
  `// one Hono app module: a cookie middleware gates the upgrade; the user it sets is the connection's typed data
import { Hono, type Context } from "hono";
import { getCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import { defineService } from "@ws/core";
import { upgradeWebSocket } from "@ws/hono";

interface User {
  name: string;
}
type AppEnv = { Variables: { user: User } };

const chat = defineService<User>({
  connected: (conn) => void conn.send(\`hello \${conn.data.name}\`),
});

const auth = createMiddleware<AppEnv>(async (c, next) => {
  const name = getCookie(c, "user");
  if (!name) return c.json({ error: "log in first" }, 401, { "WWW-Authenticate": "Cookie" });
  c.set("user", { name });
  await next();
});

export const app = new Hono<AppEnv>();
app.get("/", (c) => c.text("plain"));
app.get("/chat", auth, upgradeWebSocket((c: Context<AppEnv>) => ({ service: chat, data: c.get("user") })));
`,
);
writeFileSync(
  join(app, "src/hono-check.ts"),
  `// what every runtime checks of the Hono app: the plain route, the middleware's 401, an upgrade with its data
import { HandshakeError, type ClientOptions, type Connection } from "@ws/core";

export async function checkHono(base: string, connect: (url: string, options?: ClientOptions) => Promise<Connection>): Promise<void> {
  const plain = await fetch(\`http://\${base}/\`);
  if ((await plain.text()) !== "plain") throw new Error("plain route");
  const refused = await connect(\`ws://\${base}/chat\`).catch((e: unknown) => e);
  if (!(refused instanceof HandshakeError) || refused.status !== 401 || refused.headers.get("www-authenticate") !== "Cookie") {
    throw new Error(\`refusal: \${String(refused)}\`);
  }
  const conn = await connect(\`ws://\${base}/chat\`, { headers: { Cookie: "user=ann" } });
  const got = await conn.read({ timeout: 5000 });
  if (got !== "hello ann") throw new Error(\`greeting: \${String(got)}\`);
  await conn.close();
}
`,
);
writeFileSync(
  join(app, "src/hono-node-main.ts"),
  `import { serve } from "@hono/node-server";
import { connect } from "@ws/node";
import { createNodeWebSocket } from "@ws/hono/node";
import { app } from "./hono-app.js";
import { checkHono } from "./hono-check.js";

const { injectWebSocket } = createNodeWebSocket({ app });
const port = await new Promise<number>((resolve) => {
  const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => resolve(info.port));
  const ws = injectWebSocket(server); // what @hono/node-server's serve() returns, as it is
  process.once("beforeExit", () => void ws.close().then(() => server.close()));
});
await checkHono(\`127.0.0.1:\${port}\`, connect);
console.log("node: Hono on @hono/node-server gated and upgraded");
process.exit(0);
`,
);
for (const runtime of ["bun", "deno"]) {
  writeFileSync(
    join(app, `src/hono-${runtime}-main.ts`),
    `import { connect, serve } from "@ws/${runtime}";
import { app } from "./hono-app.ts";
import { checkHono } from "./hono-check.ts";

for (const engine of ["core", "runtime"] as const) {
  const server = await serve({ engine, port: 0, hostname: "127.0.0.1", fetch: app.fetch });
  await checkHono(\`127.0.0.1:\${server.port}\`, connect);
  await server.close();
}
console.log("${runtime}: Hono gated and upgraded on both engines");
`,
  );
}
const strict = { strict: true, skipLibCheck: false, target: "ES2022", lib: ["ES2023", "DOM"], types: ["node"] };
const tsconfig = (name, compilerOptions, include) =>
  writeFileSync(join(app, name), JSON.stringify({ compilerOptions: { ...strict, ...compilerOptions }, include }, null, 2));
const HONO_NODE = ["src/hono-app.ts", "src/hono-check.ts", "src/hono-node-main.ts"];
const nodeSources = ["src/service.ts", "src/node-main.ts", "src/testing-main.ts", "src/fastify-main.ts", "src/express-main.ts", ...HONO_NODE];
tsconfig("tsconfig.nodenext.json", { module: "nodenext", moduleResolution: "nodenext", outDir: "out" }, nodeSources);
tsconfig("tsconfig.bundler.json", { module: "esnext", moduleResolution: "bundler", noEmit: true }, nodeSources);
tsconfig("tsconfig.node10.json", { module: "commonjs", moduleResolution: "node", noEmit: true }, ["src/service.ts", "src/testing-main.ts"]);
tsconfig(
  "tsconfig.bun.json",
  // skipLibCheck: bun-types and @types/node 20 disagree on a few globals (their conflict, not ours)
  { module: "esnext", moduleResolution: "bundler", noEmit: true, allowImportingTsExtensions: true, types: ["bun"], lib: ["ESNext"], skipLibCheck: true },
  ["src/service.ts", "src/bun-main.ts", "src/testing-main.ts", "src/hono-app.ts", "src/hono-check.ts", "src/hono-bun-main.ts"],
);

step("npm install the tarballs into a fresh project", () => sh("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], app));

// ------------------------------------------------------------------------------------------------- Node
const tsc = join(app, "node_modules/.bin/tsc");
step("tsc: strict, moduleResolution nodenext (compile)", () => sh(tsc, ["-p", "tsconfig.nodenext.json"], app));
step("tsc: moduleResolution bundler", () => sh(tsc, ["-p", "tsconfig.bundler.json"], app));
step("tsc: moduleResolution node (node10: typesVersions / types)", () => sh(tsc, ["-p", "tsconfig.node10.json"], app));
step("node: serve() + attach() + connect() echo", () => sh(process.execPath, ["out/node-main.js"], app));
step("node: require() from CommonJS", () => sh(process.execPath, ["src/require.cjs"], app));
step("node: @ws/core/testing", () => sh(process.execPath, ["out/testing-main.js"], app));
step("node: @ws/fastify in a Fastify app", () => sh(process.execPath, ["out/fastify-main.js"], app));
step("node: expressUpgrade in an Express app with express-session", () => sh(process.execPath, ["out/express-main.js"], app));
step("node: @ws/hono on @hono/node-server (injectWebSocket)", () => sh(process.execPath, ["out/hono-node-main.js"], app));

// -------------------------------------------------------------------------------------------------- Bun
step("tsc with @types/bun", () => sh(tsc, ["-p", "tsconfig.bun.json"], app));
step("bun: @ws/bun on both engines", () => sh(bin("bun"), ["src/bun-main.ts"], app));
step("bun: @ws/core/testing", () => sh(bin("bun"), ["src/testing-main.ts"], app));
step("bun: @ws/hono on both engines", () => sh(bin("bun"), ["src/hono-bun-main.ts"], app));

// ------------------------------------------------------------------------------------------------- Deno
// package.json + node_modules: Deno resolves the bare specifiers from node_modules (nodeModulesDir "manual")
const deno = bin("deno");
step("deno check (package.json + node_modules)", () => sh(deno, ["check", "src/deno-main.ts"], app, { NO_COLOR: "1" }));
step("deno run: @ws/deno on both engines", () => sh(deno, ["run", "-A", "src/deno-main.ts"], app, { NO_COLOR: "1" }));
step("deno: @ws/core/testing (check and run, no permissions)", () => {
  sh(deno, ["check", "src/testing-main.ts"], app, { NO_COLOR: "1" });
  return sh(deno, ["run", "src/testing-main.ts"], app, { NO_COLOR: "1" });
});

step("deno: @ws/hono on both engines (check and run)", () => {
  sh(deno, ["check", "src/hono-deno-main.ts"], app, { NO_COLOR: "1" });
  return sh(deno, ["run", "-A", "src/hono-deno-main.ts"], app, { NO_COLOR: "1" });
});

rmSync(work, { recursive: true, force: true });
console.log(failures === 0 ? "consumer test: passed" : `consumer test: ${failures} step(s) FAILED`);
process.exit(failures === 0 ? 0 : 1);
