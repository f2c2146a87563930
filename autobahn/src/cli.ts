#!/usr/bin/env node
// ws-autobahn: TypeScript implementation of the Autobahn|Testsuite catalogue.
//   client --url ws://127.0.0.1:PORT --agent NAME [--cases 1.*,2.1] [--exclude ...] [--quick] [--out dir] [--concurrency N]
//   server --port PORT [--cases ...] [--exclude ...] [--quick] [--out dir]
//   check  --adapter node --role server|client [--quick] [--update-expected] [--server-cmd "..."] [--client-cmd "..."]
//   list   [--cases ...]
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ADAPTERS } from "./adapters.ts";
import { selectCases } from "./cases/index.ts";
import { PACKAGE_DIR, runCheck } from "./check.ts";
import { startFuzzingServer } from "./fuzzing-server.ts";
import type { H2Transport } from "./h2.ts";
import { familyCounts, isAcceptable, writeReports } from "./report.ts";
import { runClient } from "./runner.ts";

type Args = Record<string, string | boolean>;

function parseArgs(argv: string[]): { cmd: string; args: Args } {
  const [cmd = "help", ...rest] = argv;
  const args: Args = {};
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (!a.startsWith("--")) continue;
    const eq = a.indexOf("=");
    if (eq > 0) args[a.slice(2, eq)] = a.slice(eq + 1);
    else if (i + 1 < rest.length && !rest[i + 1].startsWith("--")) args[a.slice(2)] = rest[++i];
    else args[a.slice(2)] = true;
  }
  return { cmd, args };
}

const list = (v: string | boolean | undefined, dflt: string[]) =>
  typeof v === "string" ? v.split(",").map((s) => s.trim()).filter(Boolean) : dflt;
const splitCmd = (v: string | boolean | undefined) => (typeof v === "string" ? v.split(" ").filter(Boolean) : undefined);

function printCounts(index: Record<string, { behavior: string; behaviorClose: string }>): void {
  for (const [fam, row] of familyCounts(index)) {
    const parts = Object.entries(row)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k} ${n}`);
    console.log(`  ${fam.padStart(2)}.*  ${parts.join(", ")}`);
  }
}

/** --transport http1|h2|h2c (--http2 = h2c): how the runner carries each WebSocket (src/h2.ts for HTTP/2). */
function transportArg(args: Args): "http1" | H2Transport {
  const t = args.transport ?? (args.http2 ? "h2c" : "http1");
  if (t !== "http1" && t !== "h2" && t !== "h2c") throw new Error("--transport must be http1, h2 or h2c");
  return t;
}

const USAGE = `usage:
  node autobahn/dist/cli.js client --url ws://127.0.0.1:PORT --agent NAME [--cases 1.*,2.1] [--exclude 9.*] [--quick] [--out reports/servers] [--concurrency 4]
        [--transport http1|h2|h2c]   (--http2 = --transport h2c: each case an RFC 8441 stream of one shared HTTP/2 session)
  node autobahn/dist/cli.js server --port PORT [--cases ...] [--exclude ...] [--quick] [--out reports/clients]
        [--transport http1|h2c|h2 --cert cert.pem --key key.pem]
  node autobahn/dist/cli.js check --adapter ${Object.keys(ADAPTERS).join("|")} --role server|client [--quick] [--update-expected] [--http2]
        [--cases ...] [--exclude ...] [--server-cmd "node my-echo.js"] [--path /] [--client-cmd "node my-driver.js"] [--allow-non-strict]
  node autobahn/dist/cli.js list [--cases ...]`;

async function main(): Promise<number> {
  const { cmd, args } = parseArgs(process.argv.slice(2));
  const quick = !!args.quick;
  const cases = selectCases(list(args.cases, ["*"]), list(args.exclude, []));
  const concurrency = Number(args.concurrency ?? 4);
  if (cmd === "list") {
    for (const c of cases) console.log(`${c.id}\t${c.description}`);
    console.log(`${cases.length} cases`);
    return 0;
  }
  if (cmd === "client") {
    const url = String(args.url ?? "");
    if (!url) throw new Error("--url is required");
    const agent = String(args.agent ?? "UnknownServer");
    const out = String(args.out ?? "reports/servers");
    console.log(`Running ${cases.length} cases against ${url} as agent ${agent}${quick ? " (quick)" : ""}`);
    const transport = transportArg(args);
    const results = await runClient(url, cases, { agent, quick, concurrency, failByDrop: !!args["fail-by-drop"], transport });
    const index = writeReports(out, results);
    printCounts(index[agent] ?? {});
    const bad = results.filter((r) => !isAcceptable(r.id, r));
    for (const r of bad) console.log(`  not OK: ${r.id} ${r.behavior} / ${r.behaviorClose} - ${r.result}`);
    console.log(`Reports in ${out} (index.json, summary.md)`);
    return bad.some((r) => r.behavior === "FAILED" || r.behaviorClose === "FAILED") ? 1 : 0;
  }
  if (cmd === "server") {
    const port = Number(args.port ?? 9001);
    const out = String(args.out ?? "reports/clients");
    const transport = transportArg(args);
    const tls =
      typeof args.cert === "string" && typeof args.key === "string"
        ? { cert: readFileSync(args.cert, "utf8"), key: readFileSync(args.key, "utf8") }
        : undefined;
    const fs = await startFuzzingServer({ port, cases, outdir: out, quick, transport, tls, log: (l) => console.log(l) });
    console.log(`Fuzzing server listening on ${transport === "h2" ? "wss" : "ws"}://127.0.0.1:${fs.port}${transport === "http1" ? "" : ` (HTTP/2, ${transport})`} with ${cases.length} cases${quick ? " (quick)" : ""}; reports go to ${out}`);
    await new Promise(() => {});
    return 0;
  }
  if (cmd === "check") {
    // --http2: the adapter's HTTP/2 entry (node → node-h2)
    const name = String(args.adapter ?? "") + (args.http2 && !String(args.adapter ?? "").endsWith("-h2") ? "-h2" : "");
    const adapter = ADAPTERS[name];
    if (!adapter) throw new Error(`unknown adapter "${name}" (known: ${Object.keys(ADAPTERS).join(", ")})`);
    const role = String(args.role ?? "server");
    if (role !== "server" && role !== "client") throw new Error("--role must be server or client");
    const out = String(args.out ?? join(PACKAGE_DIR, "reports", `${name}-${role}`));
    const { verdict, results } = await runCheck({
      adapter: name,
      role,
      cases,
      quick,
      outdir: out,
      expectedPath: String(args.expected ?? join(PACKAGE_DIR, "expected", `${adapter.expectedAs ?? name}-${role}.json`)),
      updateExpected: !!args["update-expected"],
      allowNonStrict: !!args["allow-non-strict"] || !!adapter.allowNonStrict,
      knownDeviations: adapter.knownDeviations,
      concurrency,
      serverCmd: splitCmd(args["server-cmd"]) ?? adapter.server?.cmd,
      serverPath: typeof args.path === "string" ? args.path : adapter.server?.path,
      clientCmd: splitCmd(args["client-cmd"]) ?? adapter.client?.cmd,
      http2: !!adapter.http2,
      log: (l) => console.log(l),
    });
    const index = Object.fromEntries(results.map((r) => [r.id, r]));
    console.log(`${name} ${role}: ${results.length} cases`);
    printCounts(index);
    for (const l of verdict.lines) console.log(l);
    if (verdict.missingExpected) console.log(`note: no expected file for ${name}-${role}; run with --update-expected to record one`);
    if (verdict.differing.length) console.log(`differing from expected: ${verdict.differing.join(" ")}`);
    if (verdict.unacceptable.length) console.log(`not acceptable: ${verdict.unacceptable.join(" ")}`);
    console.log(verdict.ok ? "CHECK PASSED" : "CHECK FAILED");
    console.log(`Reports in ${out}`);
    return verdict.ok ? 0 : 1;
  }
  console.log(USAGE);
  return cmd === "help" || cmd === "--help" ? 0 : 2;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(2);
  },
);
