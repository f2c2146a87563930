/**
 * The servers under test and how to start each as a child process. Every server prints `LISTENING <port>` once
 * it accepts connections; it serves an echo at "/" and a broadcast at "/broadcast" (not the raw echoes), and
 * turns on permessage-deflate when BENCH_DEFLATE=1.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { SCENARIOS, type ScenarioName } from "./scenarios.ts";

export type Runtime = "node" | "bun" | "deno" | "workers";

export interface ServerDef {
  id: string;
  label: string;
  runtime: Runtime;
  /** ours, a peer library, the runtime's built-in server, or the raw TCP ceiling */
  kind: "ours" | "peer" | "builtin" | "raw";
  /** the command, or why this server cannot run here */
  command(): { cmd: string; args: string[]; env?: Record<string, string> } | { unavailable: string };
  /** scenarios this server cannot take part in, with the reason (reported as n/a) */
  notIn?: Partial<Record<ScenarioName, string>>;
}

/** bench/ (this file lives in bench/src or bench/dist). */
export const BENCH_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const ROOT_DIR = resolve(BENCH_DIR, "..");

/** The real bun and deno executables (the node_modules/.bin shims would put a wrapper process in between). */
function runtimeBinary(runtime: "bun" | "deno"): string | null {
  const candidates =
    runtime === "bun"
      ? [join(ROOT_DIR, "node_modules/bun/bin/bun.exe"), join(ROOT_DIR, "node_modules/.bin/bun")]
      : [join(ROOT_DIR, "node_modules/deno/deno"), join(ROOT_DIR, "node_modules/.bin/deno")];
  return candidates.find((c) => existsSync(c)) ?? null;
}

function nodeServer(file: string, env?: Record<string, string>, root = ROOT_DIR): ServerDef["command"] {
  return () => {
    const path = join(root, "bench/dist/servers", file);
    if (!existsSync(path)) return { unavailable: `${path} is not built (pnpm --filter @ws/bench build)` };
    return { cmd: process.execPath, args: [path], env };
  };
}

function runtimeServer(runtime: "bun" | "deno", file: string, env?: Record<string, string>, needs?: string, root = ROOT_DIR): ServerDef["command"] {
  return () => {
    const bin = runtimeBinary(runtime);
    if (!bin) return { unavailable: `no ${runtime} binary in node_modules (a devDependency of the workspace root)` };
    if (needs) {
      const problem = adapterProblem(needs);
      if (problem) return { unavailable: problem };
    }
    const script = join(root, "bench/runtime", file);
    const args = runtime === "bun" ? ["--conditions=@ws/source", script] : ["run", "-A", "--quiet", "--no-check", "--config", join(root, "packages/deno/deno.json"), script];
    return { cmd: bin, args, env };
  };
}

/** Why our adapter for a runtime cannot be benchmarked yet (its serve() with engines is not there), or null. */
function adapterProblem(pkg: string): string | null {
  const index = join(ROOT_DIR, "packages", pkg, "src/index.ts");
  if (!existsSync(index)) return `@ws/${pkg} has no src/index.ts yet`;
  const source = readFileSync(index, "utf8");
  if (!/\bserve\b/.test(source)) return `@ws/${pkg} does not export serve() yet`;
  return null;
}

/** The Workers servers: workerd (Miniflare from npm) started by src/servers/workers.ts. */
function workersServer(which: "ours" | "bare"): ServerDef["command"] {
  return () => {
    const problem = nodeServer("workers.js")();
    if ("unavailable" in problem) return problem;
    if (!existsSync(join(ROOT_DIR, "packages/cloudflare/dev.mjs"))) return { unavailable: "@ws/cloudflare/dev is not there" };
    return { ...problem, env: { BENCH_WORKER: which } };
  };
}

const NO_TOPICS_IN_A_WORKER = "no topics in a plain Worker (they need a Durable Object room)";
/** scale runs on one server per runtime and library that matters for it (it takes a minute or more each) */
const NOT_IN_SCALE = "not in the scale set (ours on each runtime and engine but Deno's runtime engine, ws + bufferutil, the built-in servers)";

/** idle-deflate runs on ours per runtime (default engine), ws + bufferutil and Bun's built-in server */
const NOT_IN_IDLE_DEFLATE = "not in the idle-deflate set (ours on each runtime's default engine, ws + bufferutil, Bun.serve)";

export const SERVERS: ServerDef[] = [
  { id: "ours-node", label: "@ws/node", runtime: "node", kind: "ours", command: nodeServer("ours-node.js") },
  { id: "ws-bufferutil", label: "ws + bufferutil", runtime: "node", kind: "peer", command: nodeServer("ws-node.js") },
  { id: "ws", label: "ws (pure JS)", runtime: "node", kind: "peer", command: nodeServer("ws-node.js", { WS_NO_BUFFER_UTIL: "1" }), notIn: { "idle-deflate": NOT_IN_IDLE_DEFLATE, scale: NOT_IN_SCALE } },
  { id: "crossws-node", label: "crossws (node)", runtime: "node", kind: "peer", command: nodeServer("crossws-node.js"), notIn: { "idle-deflate": NOT_IN_IDLE_DEFLATE, scale: NOT_IN_SCALE } },
  { id: "raw-node", label: "raw TCP echo (node)", runtime: "node", kind: "raw", command: nodeServer("raw-node.js") },
  { id: "bun-builtin", label: "Bun.serve (built-in)", runtime: "bun", kind: "builtin", command: runtimeServer("bun", "bun-builtin.ts") },
  { id: "ours-bun-core", label: "@ws/bun core", runtime: "bun", kind: "ours", command: runtimeServer("bun", "bun-ours.ts", { BENCH_ENGINE: "core" }, "bun") },
  { id: "ours-bun-core-node-http", label: "@ws/bun core (node:http)", runtime: "bun", kind: "ours", command: runtimeServer("bun", "bun-ours.ts", { BENCH_ENGINE: "core", BENCH_SOCKETS: "node:http" }, "bun"), notIn: { "idle-deflate": NOT_IN_IDLE_DEFLATE } },
  { id: "ours-bun-runtime", label: "@ws/bun runtime", runtime: "bun", kind: "ours", command: runtimeServer("bun", "bun-ours.ts", { BENCH_ENGINE: "runtime" }, "bun"), notIn: { "idle-deflate": NOT_IN_IDLE_DEFLATE } },
  { id: "raw-bun", label: "raw TCP echo (bun)", runtime: "bun", kind: "raw", command: runtimeServer("bun", "bun-raw.ts") },
  { id: "deno-builtin", label: "Deno.upgradeWebSocket (built-in)", runtime: "deno", kind: "builtin", command: runtimeServer("deno", "deno-builtin.ts"), notIn: { "idle-deflate": NOT_IN_IDLE_DEFLATE } },
  { id: "ours-deno-core", label: "@ws/deno core", runtime: "deno", kind: "ours", command: runtimeServer("deno", "deno-ours.ts", { BENCH_ENGINE: "core" }, "deno") },
  { id: "ours-deno-runtime", label: "@ws/deno runtime", runtime: "deno", kind: "ours", command: runtimeServer("deno", "deno-ours.ts", { BENCH_ENGINE: "runtime" }, "deno"), notIn: { "idle-deflate": NOT_IN_IDLE_DEFLATE, scale: NOT_IN_SCALE } },
  { id: "raw-deno", label: "raw TCP echo (deno)", runtime: "deno", kind: "raw", command: runtimeServer("deno", "deno-raw.ts") },
  { id: "raw-deno-node-net", label: "raw TCP echo (deno, node:net)", runtime: "deno", kind: "raw", command: runtimeServer("deno", "deno-raw-net.ts") },
  { id: "workers-bare", label: "WebSocketPair echo (workerd)", runtime: "workers", kind: "builtin", command: workersServer("bare"), notIn: { "idle-deflate": NOT_IN_IDLE_DEFLATE, broadcast: NO_TOPICS_IN_A_WORKER, scale: NO_TOPICS_IN_A_WORKER } },
  { id: "ours-workers", label: "@ws/cloudflare (workerd)", runtime: "workers", kind: "ours", command: workersServer("ours"), notIn: { "idle-deflate": NOT_IN_IDLE_DEFLATE, broadcast: NO_TOPICS_IN_A_WORKER, scale: NO_TOPICS_IN_A_WORKER } },
];

/**
 * BENCH_ALT=DIR (another checkout of this repository, built: e.g. the commit before a change, in its own
 * worktree) adds our Node, Bun core, Bun runtime and Deno core servers from there as `ours-node-alt`,
 * `ours-bun-core-alt`, `ours-bun-runtime-alt` and `ours-deno-core-alt`, so an old build and a new one run
 * interleaved in the same run, beside the peers. Without BENCH_ALT they do not exist.
 */
const ALT_ROOT = process.env.BENCH_ALT ? resolve(process.env.BENCH_ALT) : null;
if (ALT_ROOT) {
  SERVERS.splice(
    SERVERS.findIndex((s) => s.id === "ours-node") + 1,
    0,
    { id: "ours-node-alt", label: "@ws/node (BENCH_ALT)", runtime: "node", kind: "ours", command: nodeServer("ours-node.js", undefined, ALT_ROOT) },
  );
  SERVERS.splice(
    SERVERS.findIndex((s) => s.id === "ours-bun-core") + 1,
    0,
    { id: "ours-bun-core-alt", label: "@ws/bun core (BENCH_ALT)", runtime: "bun", kind: "ours", command: runtimeServer("bun", "bun-ours.ts", { BENCH_ENGINE: "core" }, "bun", ALT_ROOT) },
  );
  SERVERS.splice(
    SERVERS.findIndex((s) => s.id === "ours-bun-runtime") + 1,
    0,
    { id: "ours-bun-runtime-alt", label: "@ws/bun runtime (BENCH_ALT)", runtime: "bun", kind: "ours", command: runtimeServer("bun", "bun-ours.ts", { BENCH_ENGINE: "runtime" }, "bun", ALT_ROOT), notIn: { "idle-deflate": NOT_IN_IDLE_DEFLATE } },
  );
  SERVERS.splice(
    SERVERS.findIndex((s) => s.id === "ours-deno-core") + 1,
    0,
    { id: "ours-deno-core-alt", label: "@ws/deno core (BENCH_ALT)", runtime: "deno", kind: "ours", command: runtimeServer("deno", "deno-ours.ts", { BENCH_ENGINE: "core" }, "deno", ALT_ROOT) },
  );
}

/** The reference every ratio is taken against, and each runtime's own built-in server. */
export const BASELINE = "ws-bufferutil";
export const BUILTIN: Record<Runtime, string | null> = { node: null, bun: "bun-builtin", deno: "deno-builtin", workers: "workers-bare" };

/** Whether a server takes part in a scenario (raw echoes only where they can stand in). */
export function runsScenario(server: ServerDef, scenario: ScenarioName): boolean {
  return server.kind !== "raw" || SCENARIOS[scenario].rawCeiling;
}
