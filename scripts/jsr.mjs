#!/usr/bin/env node
// JSR for Deno: @ws/core, @ws/node-http and @ws/deno laid out as a Deno workspace in a temporary folder — each
// member's deno.json generated from its package.json (name, version, the exports' TypeScript sources, the
// versioned `jsr:` imports of its @ws dependencies, the license) — and handed to `deno publish`. Without
// arguments it is the dry run CI runs (slow types, missing licenses, unresolvable imports all fail it), followed
// by a user project in the same workspace importing `@ws/deno` by its JSR name (deno check, deno run);
// `node scripts/jsr.mjs --publish` publishes for real. The repository's own deno.json files (which map the
// workspace packages to their sources for development) are not what gets published.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const MEMBERS = ["core", "node-http", "deno"];
const publish = process.argv.includes("--publish");
const work = mkdtempSync(join(tmpdir(), "ws-jsr-"));

/**
 * A user's project beside the JSR packages in the same Deno workspace: `@ws/deno` imported by its JSR name (the
 * member's deno.json `exports`), checked with `deno check` and run — a service on both engines echoing.
 */
function useAsJsr() {
  mkdirSync(join(work, "app"));
  writeFileSync(join(work, "app/deno.json"), JSON.stringify({}, null, 2));
  writeFileSync(
    join(work, "app/main.ts"),
    `import { connect, defineService, serve } from "@ws/deno";
const echo = defineService({ received: (message, conn) => void conn.send(message) });
for (const engine of ["core", "runtime"] as const) {
  const server = await serve({ engine, port: 0, hostname: "127.0.0.1", services: { "/echo": echo } });
  const conn = await connect(\`\${server.url}/echo\`);
  await conn.send(engine);
  const got = await conn.read({ timeout: 5000 });
  if (got !== engine) throw new Error(\`\${engine}: echo \${String(got)}\`);
  await conn.close();
  await server.close();
}
console.log("jsr-style import: both engines echoed");
`,
  );
  writeFileSync(join(work, "deno.json"), JSON.stringify({ workspace: [...MEMBERS.map((m) => `./${m}`), "./app"] }, null, 2));
  const deno = join(root, "node_modules/.bin/deno");
  const opts = { cwd: join(work, "app"), encoding: "utf8", stdio: ["inherit", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" }, timeout: 120_000 };
  execFileSync(deno, ["check", "main.ts"], opts);
  process.stdout.write(execFileSync(deno, ["run", "-A", "main.ts"], opts));
}

try {
  const versions = Object.fromEntries(
    MEMBERS.map((m) => {
      const pkg = JSON.parse(readFileSync(join(root, "packages", m, "package.json"), "utf8"));
      return [pkg.name, pkg.version];
    }),
  );
  writeFileSync(join(work, "deno.json"), JSON.stringify({ workspace: MEMBERS.map((m) => `./${m}`) }, null, 2));
  for (const m of MEMBERS) {
    const dir = join(root, "packages", m);
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    const exports = Object.fromEntries(
      Object.entries(pkg.exports).map(([sub, target]) => [sub, typeof target === "string" ? target : target["@ws/source"]]),
    );
    const imports = {};
    for (const dep of Object.keys(pkg.dependencies ?? {})) {
      if (!(dep in versions)) continue;
      imports[dep] = `jsr:${dep}@^${versions[dep]}`;
      imports[`${dep}/`] = `jsr:/${dep}@^${versions[dep]}/`;
    }
    mkdirSync(join(work, m));
    cpSync(join(dir, "src"), join(work, m, "src"), { recursive: true });
    for (const f of ["README.md", "LICENSE"]) cpSync(join(dir, f), join(work, m, f));
    const config = { name: pkg.name, version: pkg.version, license: pkg.license, exports, imports, publish: { include: ["src", "README.md", "LICENSE"] } };
    writeFileSync(join(work, m, "deno.json"), JSON.stringify(config, null, 2));
  }
  const args = ["publish", ...(publish ? [] : ["--dry-run"]), "--allow-dirty"];
  const out = execFileSync(join(root, "node_modules/.bin/deno"), args, {
    cwd: work,
    encoding: "utf8",
    stdio: ["inherit", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
    timeout: 300_000,
  });
  process.stdout.write(out);
  console.log(`jsr: ${publish ? "published" : "dry run passed"} for ${Object.entries(versions).map(([n, v]) => `${n}@${v}`).join(", ")}`);
  if (!publish) useAsJsr();
} catch (e) {
  process.stdout.write(String(e.stdout ?? ""));
  process.stderr.write(String(e.stderr ?? e.message));
  console.log("jsr: FAILED");
  process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
