/**
 * Worker thread of RssSampler (apps.ts): reads the server's VmRSS every 100 ms and keeps, in shared memory,
 * the peak (slot 0) and the latest sample (slot 1), in kB.
 */
import { workerData } from "node:worker_threads";
import { rssBytes } from "../proc.ts";

const { pid, shared } = workerData as { pid: number; shared: SharedArrayBuffer };
const kb = new Int32Array(shared);

function sample(): void {
  const bytes = rssBytes(pid);
  if (bytes === null) return;
  const now = Math.round(bytes / 1024);
  Atomics.store(kb, 1, now);
  if (now > Atomics.load(kb, 0)) Atomics.store(kb, 0, now);
}

sample();
setInterval(sample, 100);
