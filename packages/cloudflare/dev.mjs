// @ws/cloudflare/dev — runs a Worker locally on workerd (Miniflare from npm), for the tests and the apps'
// `start:workers` scripts. Node only. The entry (TypeScript) is bundled with esbuild, resolving the workspace
// packages to their sources (the "@ws/source" condition), and served by Miniflare; Durable Object classes are
// exported by the entry. Nothing is downloaded: workerd is the binary of the `workerd` npm package.
import { build } from "esbuild";
import { Miniflare } from "miniflare";

/** Compatibility date of the local workerd (not later than the installed workerd supports). */
export const COMPATIBILITY_DATE = "2026-07-01";

/**
 * Bundles `entry` and starts it on workerd. Options: `port` (0: a free one), `host`, `name` (the worker's
 * name, for unsafeEvictDurableObject), `durableObjects` ({ BINDING: "ClassName" }), `persist` (a folder for
 * Durable Object storage, default in memory), `compatibilityDate`, `compatibilityFlags`, `bindings`.
 * Resolves to { mf, url, port, dispose }.
 */
export async function startWorker(options) {
  const { entry, port = 0, host = "127.0.0.1", name = "worker", durableObjects = {}, persist, compatibilityDate, compatibilityFlags, bindings } = options;
  const bundle = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["@ws/source", "workerd", "worker", "browser", "import", "default"],
    mainFields: ["module", "main"],
    external: ["cloudflare:*"],
    logLevel: "warning",
  });
  const script = bundle.outputFiles[0].text;
  const mf = new Miniflare({
    name,
    modules: true,
    script,
    compatibilityDate: compatibilityDate ?? COMPATIBILITY_DATE,
    compatibilityFlags,
    bindings,
    host,
    port,
    durableObjects,
    ...(persist ? { durableObjectsPersist: persist } : {}),
  });
  const url = await mf.ready;
  return { mf, url, port: Number(url.port), dispose: () => mf.dispose() };
}

/**
 * For a start script: starts `entry` on PORT (default `defaultPort`), prints `Listening on port N` and
 * stops on SIGINT / SIGTERM.
 */
export async function serveWorker(options) {
  const port = Number(process.env.PORT ?? options.defaultPort ?? 8787);
  const worker = await startWorker({ ...options, port, host: process.env.HOST ?? options.host ?? "0.0.0.0" });
  console.log(`Listening on port ${worker.port}`);
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.once(signal, () => void worker.dispose().then(() => process.exit(0)));
  }
  return worker;
}
