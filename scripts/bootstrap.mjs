#!/usr/bin/env node
// One entry for a fresh machine (Node >= 20 and npm, nothing else): installs what the project needs, then
//   node scripts/bootstrap.mjs chat   builds and starts the chat server on Node (PORT, default 8080)
//   node scripts/bootstrap.mjs test   type-checks, builds and runs every test and the conformance suite
import { execSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const PNPM_VERSION = "10.34.8";
const mode = process.argv[2] ?? "test";

function run(cmd, options = {}) {
  console.log(`\n$ ${cmd}`);
  const r = spawnSync(cmd, { cwd: root, stdio: "inherit", shell: true, ...options });
  if (r.status !== 0) {
    if (options.allowFailure) return false;
    console.error(`command failed (${r.status ?? r.signal}): ${cmd}`);
    process.exit(r.status ?? 1);
  }
  return true;
}

function has(cmd) {
  try {
    execSync(`${cmd} --version`, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function isRoot() {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

/** Debian packages the tests use (Chromium for the browser tests). Installed when missing and we are root. */
function ensureDebianPackages(packages) {
  const missing = packages.filter(([, bin]) => !existsSync(bin)).map(([pkg]) => pkg);
  if (missing.length === 0) return;
  if (!isRoot() || !has("apt-get")) {
    console.warn(`warning: ${missing.join(", ")} missing and cannot be installed here (need root and apt-get)`);
    return;
  }
  run("apt-get update -qq");
  run(`DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${missing.join(" ")}`);
}

function ensurePnpm() {
  let version = "";
  try {
    version = execSync("pnpm --version", { encoding: "utf8" }).trim();
  } catch {}
  if (version !== PNPM_VERSION) run(`npm install -g pnpm@${PNPM_VERSION}`);
}

ensurePnpm();
run("pnpm install --frozen-lockfile");

if (mode === "chat") {
  run("pnpm turbo run build --filter=@ws/chat-app...");
  const port = process.env.PORT ?? "8080";
  run(`node apps/chat/dist/server.node.js`, { env: { ...process.env, PORT: port } });
} else if (mode === "test") {
  ensureDebianPackages([["chromium", "/usr/bin/chromium"], ["redis-server", "/usr/bin/redis-server"], ["openssl", "/usr/bin/openssl"]]);
  const results = join(root, ".tmp/test-results");
  rmSync(results, { recursive: true, force: true });
  mkdirSync(results, { recursive: true });
  run("pnpm turbo run typecheck build");
  const testsOk = run("pnpm turbo run test --concurrency=1 --continue", { allowFailure: true });
  // the packed tarballs installed outside the workspace, as a user installs them (scripts/consumer-test.mjs)
  const consumerOk = run("node scripts/consumer-test.mjs", { allowFailure: true });
  // the packages published to a local registry (Verdaccio) and installed by name with npm, pnpm, yarn, bun and
  // Deno, the README's install commands and first examples run on each (scripts/registry-test.mjs)
  const registryOk = run("node scripts/registry-test.mjs", { allowFailure: true });
  const changesetsOk = run("node scripts/changeset-check.mjs", { allowFailure: true });
  // the documentation site: TypeDoc's reference as VitePress pages, every ```ts sample type-checked, the site built
  // (a dead link or a TypeDoc warning fails it); scripts/docs.mjs
  const docsOk = run("pnpm run docs", { allowFailure: true });
  const jsrOk = run("node scripts/jsr.mjs", { allowFailure: true }); // deno publish --dry-run of @ws/core, @ws/node-http, @ws/deno
  const autobahnOk = run("pnpm turbo run autobahn --concurrency=1 --continue", { allowFailure: true });
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const file of existsSync(results) ? readdirSync(results) : []) {
    const r = JSON.parse(readFileSync(join(results, file), "utf8"));
    passed += r.numPassedTests;
    failed += r.numFailedTests;
    skipped += r.numPendingTests + (r.numTodoTests ?? 0);
  }
  if (!testsOk && failed === 0) failed = 1; // a suite that failed to load still fails the run
  const broken = [!autobahnOk && "conformance suite", !consumerOk && "consumer test", !registryOk && "registry install test", !changesetsOk && "changeset version check", !docsOk && "documentation site", !jsrOk && "JSR dry run"].filter(Boolean);
  console.log(`\nunit and integration tests${broken.length ? ` (${broken.join(", ")} FAILED)` : ""}:`);
  console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
  process.exit(testsOk && autobahnOk && consumerOk && registryOk && changesetsOk && docsOk && jsrOk && failed === 0 ? 0 : 1);
} else {
  console.error(`unknown mode ${mode}: use "chat" or "test"`);
  process.exit(2);
}
