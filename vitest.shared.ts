// Shared vitest settings: resolve workspace packages to their TypeScript sources (the "@ws/source" export
// condition), so tests never run against a stale build; and write a JSON result per package so the root test
// command can print one closing tally for the whole repository.
import { basename, resolve } from "node:path";
import { defineConfig } from "vitest/config";

const conditions = ["@ws/source", "module", "node", "import", "default"];
// what the test processes' Node gets as --conditions (vitest passes ssr.resolve.conditions on): without "import",
// which would make a CommonJS dependency's require() take its "import" export (Express's router then gets
// is-promise's ES module namespace, not the function); Node and Vite add "import" to ES module imports themselves
const nodeConditions = conditions.filter((condition) => condition !== "import");
const root = resolve(import.meta.dirname);

export function config(extra: { testTimeout?: number; include?: string[] } = {}) {
  const name = basename(process.cwd());
  return defineConfig({
    resolve: { conditions },
    ssr: { resolve: { conditions: nodeConditions, externalConditions: ["@ws/source"] } },
    test: {
      include: extra.include ?? ["test/**/*.test.ts"],
      testTimeout: extra.testTimeout ?? 10_000,
      hookTimeout: extra.testTimeout ?? 10_000,
      pool: "forks",
      reporters: ["default", "json"],
      outputFile: { json: resolve(root, ".tmp/test-results", `${name}.json`) },
    },
  });
}
