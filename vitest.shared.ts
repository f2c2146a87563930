// Shared vitest settings: resolve workspace packages to their TypeScript sources (the "@ws/source" export
// condition), so tests never run against a stale build.
import { defineConfig } from "vitest/config";

const conditions = ["@ws/source", "module", "node", "import", "default"];

export function config(extra: { testTimeout?: number; include?: string[] } = {}) {
  return defineConfig({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ["@ws/source"] } },
    test: {
      include: extra.include ?? ["test/**/*.test.ts"],
      testTimeout: extra.testTimeout ?? 10_000,
      pool: "forks",
    },
  });
}
