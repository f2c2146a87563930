/**
 * Hostile clients against the echo and chat apps, on Node, Bun and Deno, with the shipped defaults: each attack
 * runs against a fresh server on 127.0.0.1 while the server's RSS is sampled; afterwards the server must still
 * be running and still serve a fresh connection. One Markdown table per attack on stdout, progress on stderr.
 * A benchmark-style script, not a test: it measures and reports, it does not assert.
 *
 * Round 2 (issue 21: empty-message floods, a client pinged or flooded by a server, topics at scale, refusals
 * held open, Bun's own HTTP handling, per-request services, what refusals log) is in hostile/round2.ts, against
 * a server of the bench's own (hostile/round2-services.ts); its tables also give the server's open descriptors
 * and how much it wrote to its log.
 *
 *   node dist/hostile.js [--quick] [--round 1|2] [--only a,b] [--servers node,bun,deno] [--json FILE] [--list]
 */
import { availableParallelism, cpus } from "node:os";
import { loadAverage, sleep } from "./proc.ts";
import type { Runtime } from "./servers.ts";
import { writeFileSync } from "node:fs";
import { type App, probe, RssSampler, start, stop, unavailable, type Running } from "./hostile/apps.ts";
import { ATTACKS as ROUND1, type Attack, type AttackContext, type AttackResult } from "./hostile/attacks.ts";
import { ROUND2, RSS_HARD_CAP } from "./hostile/round2.ts";
import { mib, MiB } from "./hostile/client.ts";
import type * as net from "node:net";

/** Every attack, first round then second. */
const ATTACKS: Attack[] = [...ROUND1, ...ROUND2];

/** Whatever an attack's own limit says, it is aborted (its connections destroyed) after this long. */
const HARD_LIMIT_MS = 90_000;

interface Options {
  only: string[] | null;
  servers: Runtime[];
  quick: boolean;
  list: boolean;
  /** only this round's attacks (default: both) */
  round: 1 | 2 | null;
  /** write the results as JSON here too */
  json: string | null;
}

interface Row {
  server: string;
  rssBefore: number;
  rssPeak: number;
  /** open descriptors of the server (of the client, for a client attack) before and at the peak */
  fdsBefore: number;
  fdsPeak: number;
  /** bytes the server wrote to stdout and stderr during the attack */
  logBytes: number;
  survived: string;
  saw: string;
  wallMs: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { only: null, servers: ["node", "bun", "deno"], quick: false, list: false, round: null, json: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v.split(",").map((s) => s.trim()).filter(Boolean);
    };
    if (arg === "--") continue; // `pnpm --filter @ws/bench hostile -- --round 2` passes it on
    else if (arg === "--quick") o.quick = true;
    else if (arg === "--list") o.list = true;
    else if (arg === "--only") o.only = value();
    else if (arg === "--servers") o.servers = value() as Runtime[];
    else if (arg === "--json") o.json = value()[0] ?? null;
    else if (arg === "--round") {
      const r = value()[0];
      if (r !== "1" && r !== "2") throw new Error(`--round: ${r} is not 1 or 2`);
      o.round = Number(r) as 1 | 2;
    } else throw new Error(`unknown argument ${arg} (--quick, --round 1|2, --only a,b, --servers node,bun,deno, --json FILE, --list)`);
  }
  for (const name of o.only ?? []) {
    if (!ATTACKS.some((a) => a.name === name)) throw new Error(`no attack ${name}: ${ATTACKS.map((a) => a.name).join(", ")}`);
  }
  for (const s of o.servers) if (!["node", "bun", "deno"].includes(s)) throw new Error(`--servers: ${s} is not node, bun or deno`);
  return o;
}

/** One attack against one fresh server: start, sample, attack, clean up, check it survived, stop. */
async function runOne(attack: Attack, runtime: Runtime, app: App, quick: boolean, notes: string[]): Promise<Row> {
  const label = app === "round2" ? runtime : `${runtime} ${app}`;
  const row: Row = { server: label, rssBefore: 0, rssPeak: 0, fdsBefore: 0, fdsPeak: 0, logBytes: 0, survived: "—", saw: "", wallMs: 0 };
  const missing = attack.victim === "client" ? null : unavailable(runtime, app);
  if (missing) return { ...row, saw: `not run: ${missing}` };
  let server: Running | null = null;
  let sampler: RssSampler | null = null;
  if (attack.victim !== "client") {
    try {
      server = await start(runtime, app, attack.fileLimit);
    } catch (e) {
      return { ...row, saw: `did not start: ${(e as Error).message}` };
    }
    sampler = new RssSampler(server.pid);
    await sampler.ready();
    await sleep(300);
    row.rssBefore = sampler.last;
    row.fdsBefore = sampler.lastFds;
    sampler.reset();
  }
  const logBefore = server?.outputBytes() ?? 0;

  const sockets = new Set<net.Socket>();
  const limitMs = quick ? Math.min(attack.limitMs, 30_000) : attack.limitMs;
  const ctx: AttackContext = {
    port: server?.port ?? 0,
    app,
    runtime,
    quick,
    deadline: Date.now() + limitMs,
    stallMs: quick ? 2000 : 5000,
    track: (c) => void sockets.add(c.socket),
    note: (line) => notes.push(line),
    rss: () => sampler?.last ?? 0,
    fds: () => sampler?.lastFds ?? 0,
    outputBytes: () => server?.outputBytes() ?? 0,
    outputTail: () => server?.outputTail() ?? "",
    logged: (phrase) => server?.phrases.get(phrase) ?? 0,
  };
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  let capped: string | null = null;
  const abort = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`ABORTED after ${HARD_LIMIT_MS / 1000} s`), HARD_LIMIT_MS)));
  // round 2: past the hard RSS cap the attack's connections are destroyed at once, whatever it is doing
  const watch = setInterval(() => {
    if (attack.round !== 2 || !sampler || capped || sampler.last <= RSS_HARD_CAP) return;
    capped = `stopped at the hard RSS cap (server at ${mib(sampler.last, 0)} after ${((performance.now() - started) / 1000).toFixed(1)} s: the attack's connections destroyed)`;
    for (const s of sockets) s.destroy();
  }, 100);
  let result: string | AttackResult;
  try {
    result = await Promise.race([attack.run(ctx), abort]);
  } catch (e) {
    result = `attack failed: ${(e as Error).stack ?? e}`;
  } finally {
    clearTimeout(timer);
    clearInterval(watch);
  }
  row.wallMs = performance.now() - started;
  for (const s of sockets) s.destroy();
  if (capped) result = typeof result === "string" ? `${capped}; ${result}` : { ...result, saw: `${capped}; ${result.saw}` };
  if (typeof result === "string") row.saw = result;
  else {
    row.saw = result.saw;
    row.rssBefore = result.rssBefore ?? row.rssBefore;
    row.rssPeak = result.rssPeak ?? row.rssPeak;
    row.fdsBefore = result.fdsBefore ?? row.fdsBefore;
    row.fdsPeak = result.fdsPeak ?? row.fdsPeak;
    row.survived = result.survived ?? row.survived;
  }
  if (!server || !sampler) return row;
  await sleep(500);

  const check = server.exit === null ? await probe(server.port, app) : null;
  row.rssPeak = sampler.peak;
  row.fdsPeak = sampler.peakFds;
  row.logBytes = server.outputBytes() - logBefore;
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
  const rss = (b: number) => (b > 0 ? mib(b, 0) : "—");
  const count = (n: number) => (n > 0 ? n.toLocaleString("en") : "—");
  const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
  const wall = (r: Row) => `${(r.wallMs / 1000).toFixed(1)} s`;
  if (attack.round !== 2) {
    const lines = [
      `### ${attack.name}: ${attack.what}`,
      "",
      "| server | RSS before | peak RSS | survived | attacker saw | wall time |",
      "| --- | ---: | ---: | --- | --- | ---: |",
    ];
    for (const r of rows) lines.push(`| ${r.server} | ${rss(r.rssBefore)} | ${rss(r.rssPeak)} | ${cell(r.survived)} | ${cell(r.saw)} | ${wall(r)} |`);
    return lines.join("\n");
  }
  const whose = attack.victim === "client" ? "client" : "server";
  const lines = [
    `### ${attack.name}: ${attack.what}`,
    "",
    `| ${whose} | RSS before | peak RSS | descriptors before | peak descriptors | log written | survived | attacker saw | wall time |`,
    "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |",
  ];
  for (const r of rows) {
    const log = attack.victim === "client" ? "—" : r.logBytes >= MiB ? mib(r.logBytes) : r.logBytes >= 1024 ? `${(r.logBytes / 1024).toFixed(0)} KiB` : `${r.logBytes} B`;
    lines.push(
      `| ${r.server} | ${rss(r.rssBefore)} | ${rss(r.rssPeak)} | ${count(r.fdsBefore)} | ${count(r.fdsPeak)} | ${log} | ${cell(r.survived)} | ${cell(r.saw)} | ${wall(r)} |`,
    );
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (o.list) {
    for (const a of ATTACKS) console.log(`${String(a.round ?? 1)} ${a.name.padEnd(20)} ${(a.victim === "client" ? "client" : a.apps.join("+")).padEnd(10)} ${a.what}`);
    return;
  }
  const selected = ATTACKS.filter((a) => (o.only ? o.only.includes(a.name) : o.round === null || (a.round ?? 1) === o.round));
  const results: { attack: string; round: number; what: string; rows: Row[]; notes: string[] }[] = [];
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
    results.push({ attack: attack.name, round: attack.round ?? 1, what: attack.what, rows, notes });
    if (o.json) writeJson(o.json, args, results); // after every attack: a run cut short keeps what it measured
  }
  console.log(`load ${loadAverage().join(" ")} at the end`);
}

function writeJson(file: string, args: string, results: unknown[]): void {
  const meta = { date: new Date().toISOString(), command: `node bench/dist/hostile.js ${args}`.trim(), node: process.version, cpus: `${availableParallelism()} × ${cpus()[0]?.model.trim() ?? "cpu"}`, load: loadAverage() };
  writeFileSync(file, JSON.stringify({ ...meta, results }, null, 2) + "\n");
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
