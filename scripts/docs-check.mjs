#!/usr/bin/env node
// Type-checks every ```ts sample of the documentation site (docs/**/*.md, not the generated reference) against
// the workspace packages, as a user's project would see them:
//   - samples that import @ws/deno: `deno check`, with @ws/* mapped to the packages' sources (as packages/deno/deno.json does)
//   - samples that import @ws/cloudflare: tsc with @cloudflare/workers-types
//   - samples that import @ws/bun: tsc with bun-types
//   - every other sample: tsc with @types/node
// tsc resolves @ws/* to the built packages' declarations (packages/*/dist: run `pnpm build` first).
// Each sample is its own module. A fragment that cannot compile alone is fenced ```ts no-check: <reason>; the
// reason is required. A sample fenced ```ts run is also run (Node: transpiled by TypeScript; Bun; Deno) and must
// exit 0 within 30 s: the getting-started echo of each runtime.
// The ```ts blocks of every `@example` in the packages' TSDoc (packages/*/src) are checked the same way: they are
// what the reference shows. And every function and class page of the generated reference (docs/reference, TypeDoc's
// output: run it first, as scripts/docs.mjs does) must have its Example section: an exported function or class a
// user calls gets an `@example`; one that exists only for the adapters' shared plumbing is `@internal` (and so
// absent from the reference). Exit code 1 on any error, each reported as docs/<page>.md:<line>.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const docs = join(root, "docs");
const work = join(root, ".tmp/docs-samples");

const walk = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name.startsWith(".") || (dir === docs && (name === "reference" || name === "api"))) return [];
    return statSync(path).isDirectory() ? walk(path) : name.endsWith(".md") ? [path] : [];
  });

/** The ```ts / ```typescript fences of a page: their code, the line of their first code line, their info string. */
function samples(file) {
  const out = [];
  const lines = readFileSync(file, "utf8").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(ts|typescript)\b(.*)$/.exec(lines[i]);
    if (!open) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^\s*```\s*$/.test(lines[end])) end++;
    out.push({ file, line: start + 1, info: open[3].trim(), code: lines.slice(start, end).join("\n") });
    i = end;
  }
  return out;
}

/** The ```ts blocks of the `@example` tags in a source file's doc comments, as samples (file and line of the source). */
function exampleSamples(file) {
  const out = [];
  const lines = readFileSync(file, "utf8").split("\n");
  let inExample = false;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i].replace(/^\s*\*\s?/, "");
    if (/^\s*\/\*\*/.test(lines[i]) || /\*\/\s*$/.test(lines[i])) inExample = false;
    if (/^\s*\*\s*@example\b/.test(lines[i])) inExample = true;
    if (!inExample || !/^```(ts|typescript)\b/.test(text)) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^\s*\*\s?```\s*$/.test(lines[end])) end++;
    const code = lines.slice(start, end).map((l) => l.replace(/^\s*\*( |$)/, "")).join("\n");
    out.push({ file, line: start + 1, info: text.replace(/^```\w+/, "").trim(), code });
    i = end;
  }
  return out;
}
const sourceFiles = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : name.endsWith(".ts") && !name.endsWith(".d.ts") ? [path] : [];
  });

const groups = { node: [], bun: [], workers: [], deno: [] };
const problems = [];
let skipped = 0;
const pages = walk(docs).map((file) => samples(file));
const examples = readdirSync(join(root, "packages")).flatMap((pkg) =>
  existsSync(join(root, "packages", pkg, "src")) ? sourceFiles(join(root, "packages", pkg, "src")).map((file) => exampleSamples(file)) : [],
);
let fromTsdoc = 0;
for (const list of [...pages, ...examples]) {
  if (examples.includes(list)) fromTsdoc += list.length;
  for (const sample of list) {
    const where = `${relative(root, sample.file)}:${sample.line}`;
    if (/\bno-check\b/.test(sample.info)) {
      if (!/no-check\s*:\s*\S/.test(sample.info)) problems.push(`${where}: a no-check sample needs a reason: \`\`\`ts no-check: <why>`);
      skipped++;
      continue;
    }
    const code = sample.code.replace(/\/\/.*$/gm, ""); // imports named in comments do not count
    const from = (pkg) => new RegExp(`from\\s+["']${pkg}["']`).test(code);
    const group = from("@ws/deno") ? "deno" : from("@ws/cloudflare") ? "workers" : from("@ws/bun") ? "bun" : "node";
    groups[group].push({ ...sample, where });
  }
}

rmSync(work, { recursive: true, force: true });
const dist = (pkg, entry = "index") => [`${root}/packages/${pkg}/dist/${entry}.d.ts`];
const paths = {
  "@ws/core": dist("core"),
  "@ws/core/protocol": dist("core", "protocol"),
  "@ws/core/adapter": dist("core", "adapter"),
  "@ws/core/testing": dist("core", "testing"),
  "@ws/node": dist("node"),
  "@ws/node/cluster": dist("node", "cluster"),
  "@ws/node-http": dist("node-http"),
  "@ws/bun": dist("bun"),
  "@ws/cloudflare": dist("cloudflare"),
  "@ws/redis": dist("redis"),
  "@ws/fastify": dist("fastify"),
  fastify: [`${root}/packages/fastify/node_modules/fastify`],
  "cookie-parser": [`${root}/packages/node/node_modules/@types/cookie-parser`],
  "express-session": [`${root}/packages/node/node_modules/@types/express-session`],
  "@ws/hono": dist("hono"),
  "@ws/hono/node": dist("hono", "node"),
  hono: [`${root}/packages/hono/node_modules/hono/dist/types/index.d.ts`],
  "hono/*": [`${root}/packages/hono/node_modules/hono/dist/types/helper/*/index.d.ts`],
  "@hono/node-server": [`${root}/packages/hono/node_modules/@hono/node-server/dist/index.d.mts`],
  ioredis: [`${root}/packages/redis/node_modules/ioredis`],
  ws: [`${root}/packages/node/node_modules/ws`],
};
const typeRoots = {
  node: [`${root}/node_modules/@types`],
  bun: [`${root}/packages/bun/node_modules/@types`],
  workers: [`${root}/packages/cloudflare/node_modules/@cloudflare`],
};
const types = { node: ["node"], bun: ["bun"], workers: ["workers-types"] };

/** Writes a group's samples to files; returns a function mapping a sample file's line back to the page. */
function writeSamples(group, list) {
  const dir = join(work, group);
  mkdirSync(dir, { recursive: true });
  const origin = new Map();
  list.forEach((sample, n) => {
    const name = `sample-${n}.ts`;
    // every sample is a module of its own (top-level await, no clashes between samples)
    writeFileSync(join(dir, name), `${sample.code}\nexport {};\n`);
    origin.set(name, sample);
  });
  return { dir, origin };
}

function report(output, dir, origin) {
  let errors = 0;
  for (const line of output.split("\n")) {
    const m = /(sample-\d+\.ts)[:(](\d+)[:,](\d+)\)?:?\s*(.*)$/.exec(line);
    if (m && origin.has(m[1])) {
      const sample = origin.get(m[1]);
      problems.push(`${relative(root, sample.file)}:${sample.line + Number(m[2]) - 1}: ${m[4]}`);
      errors++;
    } else if (/error/i.test(line) && !/^\s*at /.test(line)) {
      problems.push(`${relative(root, dir)}: ${line.trim()}`);
    }
  }
  return errors;
}

for (const group of ["node", "bun", "workers"]) {
  const list = groups[group];
  if (list.length === 0) continue;
  if (group !== "node" && !existsSync(typeRoots[group][0])) {
    problems.push(`${group} samples: ${typeRoots[group][0]} is missing (pnpm install)`);
    continue;
  }
  const { dir, origin } = writeSamples(group, list);
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify(
      {
        compilerOptions: {
          target: "es2022",
          module: "esnext",
          moduleResolution: "bundler",
          lib: group === "node" ? ["es2023"] : ["es2023", "dom"],
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: types[group],
          typeRoots: typeRoots[group],
          paths,
        },
        include: ["*.ts"],
      },
      null,
      2,
    ),
  );
  const r = spawnSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", dir, "--pretty", "false"], { encoding: "utf8" });
  report(r.stdout + r.stderr, dir, origin);
  if (r.status !== 0 && problems.length === 0) problems.push(`tsc failed for the ${group} samples: ${r.stdout}${r.stderr}`);
}

if (groups.deno.length > 0) {
  const { dir, origin } = writeSamples("deno", groups.deno);
  const src = (pkg, entry = "index") => `${root}/packages/${pkg}/src/${entry}.ts`;
  writeFileSync(
    join(dir, "deno.json"),
    JSON.stringify({
      imports: {
        "@ws/deno": src("deno"),
        "@ws/core": src("core"),
        "@ws/core/protocol": src("core", "protocol"),
        "@ws/core/adapter": src("core", "adapter"),
        "@ws/node-http": src("node-http"),
      },
    }),
  );
  const files = [...origin.keys()];
  const r = spawnSync(join(root, "node_modules/.bin/deno"), ["check", "--quiet", ...files], { cwd: dir, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" } });
  const output = (r.stdout + r.stderr).replace(/\x1b\[[0-9;]*m/g, "");
  // deno prints "error: TS2345 [ERROR]: message\n    at file:///…/sample-0.ts:3:5": join each message to its place
  const joined = output.replace(/(TS\d+ \[ERROR\]: [^\n]*)[\s\S]*?at file:\/\/\S*?\/(sample-\d+\.ts):(\d+):(\d+)/g, "$2:$3:$4: $1\n");
  report(joined, dir, origin);
  if (r.status !== 0 && !problems.some((p) => p.includes("deno"))) problems.push(`deno check failed: ${output}`);
}


// ------------------------------------------------------------------ the runnable samples (```ts run)
const runnable = Object.entries(groups).flatMap(([group, list]) => list.filter((s) => /\brun\b/.test(s.info)).map((s) => ({ ...s, group })));
if (runnable.length > 0 && problems.length === 0) {
  const dir = join(work, "run");
  mkdirSync(join(dir, "node_modules/@ws"), { recursive: true });
  for (const pkg of readdirSync(join(root, "packages"))) symlinkSync(join(root, "packages", pkg), join(dir, "node_modules/@ws", pkg));
  const ts = (await import("typescript")).default;
  runnable.forEach((sample, n) => {
    let cmd;
    let args;
    let cwd = dir;
    if (sample.group === "node") {
      const js = ts.transpileModule(sample.code, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } }).outputText;
      writeFileSync(join(dir, `run-${n}.mjs`), js);
      [cmd, args] = [process.execPath, [`run-${n}.mjs`]];
    } else if (sample.group === "bun") {
      writeFileSync(join(dir, `run-${n}.ts`), sample.code);
      [cmd, args] = [join(root, "node_modules/.bin/bun"), [`run-${n}.ts`]];
    } else if (sample.group === "deno") {
      cwd = join(work, "deno"); // its deno.json maps @ws/* to the sources
      writeFileSync(join(cwd, `run-${n}.ts`), sample.code);
      [cmd, args] = [join(root, "node_modules/.bin/deno"), ["run", "--quiet", "--allow-net", "--allow-read", "--allow-env", `run-${n}.ts`]];
    } else {
      problems.push(`${sample.where}: \`run\` is for Node, Bun and Deno samples`);
      return;
    }
    const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout: 30_000, env: { ...process.env, NO_COLOR: "1" } });
    if (r.status !== 0) problems.push(`${sample.where}: the sample failed when run (${r.status ?? r.signal}): ${(r.stdout + r.stderr).trim().slice(-800)}`);
    else console.log(`ran ${sample.where} (${sample.group}): ${r.stdout.trim().split("\n").at(-1)}`);
  });
}

// ------------------------------------------------------------------ an Example on every function and class page
// A function's page has "## Example" (or "### Example" under each of its call signatures); a class's page has its
// own "## Example" under the title, not only one of a member's.
const reference = join(docs, "reference");
let referencePages = 0;
if (!existsSync(reference)) {
  problems.push("docs/reference is missing: generate the reference first (node_modules/.bin/typedoc, or pnpm run docs)");
} else {
  const markdown = (dir) =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? markdown(path) : name.endsWith(".md") ? [path] : [];
    });
  for (const page of markdown(reference)) {
    const kind = /[\\/](functions|classes)[\\/][^\\/]+\.md$/.exec(page)?.[1];
    if (!kind) continue;
    referencePages++;
    const text = readFileSync(page, "utf8");
    const has = kind === "classes" ? /^## Example\s*$/m.test(text) : /^##(#)? Example\s*$/m.test(text);
    if (!has) {
      const name = page.replace(/^.*[\\/]|\.md$/g, "");
      const module = relative(reference, page).split(/[\\/](functions|classes)[\\/]/)[0];
      problems.push(
        `${relative(root, page)}: no Example section: give ${name} (${module}) an \`@example\` in its TSDoc, or mark it \`@internal\` if only the adapters call it`,
      );
    }
  }
}

const checked = Object.values(groups).reduce((n, list) => n + list.length, 0);
if (problems.length > 0) {
  console.error(problems.join("\n"));
  console.error(`\ndocs check: ${problems.length} problem(s); ${referencePages} reference pages and ${checked} checked samples (${fromTsdoc} from @example tags) (${skipped} marked no-check)`);
  process.exit(1);
}
console.log(`reference: ${referencePages} function and class pages, each with an Example`);
console.log(`docs samples: ${checked} type-checked (${fromTsdoc} from @example tags) and ${runnable.length} run (node ${groups.node.length}, bun ${groups.bun.length}, workers ${groups.workers.length}, deno ${groups.deno.length}), ${skipped} marked no-check`);
