/**
 * The Workers servers of the bench, on the local workerd (Miniflare from npm, through @ws/cloudflare/dev):
 * BENCH_WORKER=ours runs runtime/workers-ours.ts (@ws/cloudflare's handler), BENCH_WORKER=bare runs
 * runtime/workers-bare.ts (a bare WebSocketPair echo, the Workers baseline). The entry is bundled with esbuild
 * and served by workerd, a child process of this one: it prints `SERVER_PID <workerd's pid>` before
 * `LISTENING <port>`, so that the CPU and memory columns are workerd's (it carries every frame), not this
 * launcher's. workerd negotiates permessage-deflate by itself whatever BENCH_DEFLATE says.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { startWorker } from "@ws/cloudflare/dev";
import { BENCH_DIR } from "../servers.ts";

const which = process.env.BENCH_WORKER === "bare" ? "bare" : "ours";
const worker = await startWorker({
  entry: join(BENCH_DIR, "runtime", `workers-${which}.ts`),
  name: `bench-${which}`,
  port: Number(process.env.PORT ?? 0),
  host: "127.0.0.1",
});

/** workerd: the child process of ours whose executable is named workerd. */
function workerdPid(): number | null {
  for (const task of readdirSync(`/proc/${process.pid}/task`)) {
    let children: string;
    try {
      children = readFileSync(`/proc/${process.pid}/task/${task}/children`, "utf8");
    } catch {
      continue;
    }
    for (const pid of children.trim().split(/\s+/).filter(Boolean)) {
      try {
        if (readFileSync(`/proc/${pid}/comm`, "utf8").trim().startsWith("workerd")) return Number(pid);
      } catch {
        // gone
      }
    }
  }
  return null;
}

const pid = workerdPid();
if (pid !== null) console.log(`SERVER_PID ${pid}`);
console.log(`LISTENING ${worker.port}`);

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => void worker.dispose().then(() => process.exit(0), () => process.exit(1)));
}
