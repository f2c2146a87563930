// bun-ours.ts plus a full GC and `bun:jsc` heapStats on SIGWINCH, written to HEAP_OUT (src/bun-heap-probe.ts)
import { heapStats } from "bun:jsc";
import { writeFileSync } from "node:fs";
await import("./bun-ours.ts");
process.on("SIGWINCH", () => {
  Bun.gc(true);
  const s = heapStats();
  writeFileSync(process.env.HEAP_OUT ?? "/tmp/bun-heap.json", JSON.stringify({ heapSize: s.heapSize, objectCount: s.objectCount, counts: s.objectTypeCounts, rss: process.memoryUsage().rss }));
});
