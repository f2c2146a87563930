/**
 * Worker thread of RssSampler (apps.ts): reads the process's VmRSS and counts its open descriptors (the
 * entries of /proc/<pid>/fd) every 100 ms, and keeps, in shared memory, the peak RSS (slot 0) and the latest
 * (slot 1), in kB, and the peak descriptor count (slot 2) and the latest (slot 3).
 */
import { readdirSync } from "node:fs";
import { workerData } from "node:worker_threads";
import { rssBytes } from "../proc.ts";

const { pid, shared } = workerData as { pid: number; shared: SharedArrayBuffer };
const slots = new Int32Array(shared);

function openDescriptors(): number | null {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

function keep(peak: number, latest: number, value: number): void {
  Atomics.store(slots, latest, value);
  if (value > Atomics.load(slots, peak)) Atomics.store(slots, peak, value);
}

function sample(): void {
  const bytes = rssBytes(pid);
  if (bytes === null) return;
  keep(0, 1, Math.round(bytes / 1024));
  const fds = openDescriptors();
  if (fds !== null) keep(2, 3, fds);
}

sample();
setInterval(sample, 100);
