/**
 * Hostile clients against the echo and chat apps, on Node, Bun and Deno, with the shipped defaults: each attack
 * runs against a fresh server on 127.0.0.1 while the server's RSS is sampled; afterwards the server must still
 * be running and still serve a fresh connection. One Markdown table per attack on stdout, progress on stderr.
 * A benchmark-style script, not a test: it measures and reports, it does not assert.
 *
 *   node dist/hostile.js [--quick] [--only a,b] [--servers node,bun,deno] [--list]
 */
import { availableParallelism, cpus } from "node:os";
import { loadAverage, sleep } from "./proc.ts";
import type { Runtime } from "./servers.ts";
import { type App, probe, RssSampler, start, stop, unavailable } from "./hostile/apps.ts";
import { ATTACKS, type Attack, type AttackContext } from "./hostile/attacks.ts";
import { mib } from "./hostile/client.ts";
import type * as net from "node:net";

/** Whatever an attack's own limit says, it is aborted (its connections destroyed) after this long. */
const HARD_LIMIT_MS = 90_000;

interface Options {
  only: string[] | null;
  servers: Runtime[];
  quick: boolean;
  list: boolean;
}

interface Row {
  server: string;
  rssBefore: number;
  rssPeak: number;
  survived: string;
  saw: string;
  wallMs: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { only: null, servers: ["node", "bun", "deno"], quick: false, list: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v.split(",").map((s) => s.trim()).filter(Boolean);
    };
    if (arg === "--quick") o.quick = true;
    else if (arg === "--list") o.list = true;
    else if (arg === "--only") o.only = value();
    else if (arg === "--servers") o.servers = value() as Runtime[];
    else throw new Error(`unknown argument ${arg} (--quick, --only a,b, --servers node,bun,deno, --list)`);
  }
  for (const name of o.only ?? []) {
    if (!ATTACKS.some((a) => a.name === name)) throw new Error(`no attack ${name}: ${ATTACKS.map((a) => a.name).join(", ")}`);
  }
  for (const s of o.servers) if (!["node", "bun", "deno"].includes(s)) throw new Error(`--servers: ${s} is not node, bun or deno`);
  return o;
}

/** One attack against one fresh server: start, sample, attack, clean up, check it survived, stop. */
async function runOne(attack: Attack, runtime: Runtime, app: App, quick: boolean, notes: string[]): Promise<Row> {
  const label = `${runtime} ${app}`;
  const row: Row = { server: label, rssBefore: 0, rssPeak: 0, survived: "—", saw: "", wallMs: 0 };
  const missing = unavailable(runtime, app);
  if (missing) return { ...row, saw: `not run: ${missing}` };
  let server;
  try {
    server = await start(runtime, app);
  } catch (e) {
    return { ...row, saw: `did not start: ${(e as Error).message}` };
  }
  const sampler = new RssSampler(server.pid);
  await sampler.ready();
  await sleep(300);
  row.rssBefore = sampler.last;
  sampler.reset();

  const sockets = new Set<net.Socket>();
  const limitMs = quick ? Math.min(attack.limitMs, 30_000) : attack.limitMs;
  const ctx: AttackContext = {
    port: server.port,
    app,
    quick,
    deadline: Date.now() + limitMs,
    stallMs: quick ? 2000 : 5000,
    track: (c) => void sockets.add(c.socket),
    note: (line) => notes.push(line),
  };
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const abort = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`ABORTED after ${HARD_LIMIT_MS / 1000} s`), HARD_LIMIT_MS)));
  try {
    row.saw = await Promise.race([attack.run(ctx), abort]);
  } catch (e) {
    row.saw = `attack failed: ${(e as Error).stack ?? e}`;
  } finally {
    clearTimeout(timer);
  }
  row.wallMs = performance.now() - started;
  for (const s of sockets) s.destroy();
  await sleep(500);

  const check = server.exit === null ? await probe(server.port, app) : null;
  row.rssPeak = sampler.peak;
  await sampler.stop();
  if (server.exit !== null) {
    row.survived = `**no**: ${server.exit}`;
    notes.push(`${attack.name} / ${label}: ${server.exit}; stderr: ${server.stderrTail().slice(-1500) || "(empty)"}`);
  } else if (check?.problem) {
    row.survived = `**no**: alive, but ${check.problem} for ${(check.ms / 1000).toFixed(0)} s`;
  } else if (check && check.ms > 1000) {
    // it served again, but only after a while: say how long, and what the probes saw meanwhile
    row.survived = `yes, after ${(check.ms / 1000).toFixed(1)} s (before: ${check.earlier.join("; ")})`;
  } else row.survived = "yes";
  await stop(server);
  return row;
}

function table(attack: Attack, rows: Row[]): string {
  const lines = [
    `### ${attack.name}: ${attack.what}`,
    "",
    "| server | RSS before | peak RSS | survived | attacker saw | wall time |",
    "| --- | ---: | ---: | --- | --- | ---: |",
  ];
  for (const r of rows) {
    const rss = (b: number) => (b > 0 ? mib(b, 0) : "—");
    const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
    lines.push(`| ${r.server} | ${rss(r.rssBefore)} | ${rss(r.rssPeak)} | ${cell(r.survived)} | ${cell(r.saw)} | ${(r.wallMs / 1000).toFixed(1)} s |`);
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (o.list) {
    for (const a of ATTACKS) console.log(`${a.name.padEnd(18)} ${a.apps.join("+").padEnd(10)} ${a.what}`);
    return;
  }
  const selected = ATTACKS.filter((a) => (o.only ? o.only.includes(a.name) : true));
  const args = process.argv.slice(2).join(" ");
  console.log(`## Hostile clients — ${new Date().toISOString().slice(0, 10)}\n`);
  console.log(`\`node bench/dist/hostile.js${args ? ` ${args}` : ""}\` — Node ${process.version}, ${availableParallelism()} × ${cpus()[0]?.model.trim() ?? "cpu"}, load ${loadAverage().join(" ")}\n`);
  for (const attack of selected) {
    if (o.quick && attack.skipInQuick && !o.only) {
      console.log(`### ${attack.name}: skipped with --quick: ${attack.skipInQuick}\n`);
      continue;
    }
    const rows: Row[] = [];
    const notes: string[] = [];
    for (const runtime of o.servers) {
      for (const app of attack.apps) {
        process.stderr.write(`${attack.name} → ${runtime} ${app} ... `);
        const row = await runOne(attack, runtime, app, o.quick, notes);
        process.stderr.write(`${(row.wallMs / 1000).toFixed(1)} s, survived: ${row.survived}\n`);
        rows.push(row);
      }
    }
    console.log(table(attack, rows));
    if (notes.length) console.log("\n" + notes.map((n) => `- ${n}`).join("\n"));
    console.log("");
  }
  console.log(`load ${loadAverage().join(" ")} at the end`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
