// bun-ours.ts plus heap statistics on SIGWINCH (for a one-off heap breakdown; not part of the bench)
import { heapStats } from "bun:jsc";
import { writeFileSync } from "node:fs";
await import("./bun-ours.ts");
process.on("SIGWINCH", () => {
  Bun.gc(true);
  const s = heapStats();
  writeFileSync(process.env.HEAP_OUT ?? "/tmp/bun-heap.json", JSON.stringify({ heapSize: s.heapSize, objectCount: s.objectCount, counts: s.objectTypeCounts, rss: process.memoryUsage().rss }));
});
