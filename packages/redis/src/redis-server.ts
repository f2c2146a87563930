/**
 * A throwaway local `redis-server` (Debian's package) for tests, benchmarks and the chat cluster: a free
 * port on 127.0.0.1, a temporary directory, no persistence (`--save "" --appendonly no`). `kill()` stops it
 * hard (SIGKILL) and `restart()` starts it again on the same port, to test what an outage does; `pause()` /
 * `resume()` stop and continue it (SIGSTOP / SIGCONT): a stall, connections open but nothing answered.
 * Runs on Node, Bun and Deno (node:child_process).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface LocalRedis {
  readonly port: number;
  /** redis://127.0.0.1:port */
  readonly url: string;
  readonly dir: string;
  /** SIGKILL: an outage, not a shutdown */
  kill(): Promise<void>;
  /** starts it again on the same port (empty: nothing was saved) */
  restart(): Promise<void>;
  /** SIGSTOP: Redis stalls (its connections stay open, nothing is read or answered) until `resume()` */
  pause(): void;
  /** SIGCONT after `pause()` */
  resume(): void;
  /** stops it and removes its directory */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts `redis-server` (`bin`, default from PATH) and resolves once it accepts connections. */
export async function startRedisServer(options: { port?: number; bin?: string } = {}): Promise<LocalRedis> {
  const port = options.port ?? (await freePort());
  const bin = options.bin ?? "redis-server";
  const dir = mkdtempSync(join(tmpdir(), "ws-redis-"));
  let child: ChildProcess | null = null;

  const launch = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no"];
      const proc = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
      child = proc;
      let output = "";
      const onData = (d: Buffer) => {
        output += d.toString();
        if (/Ready to accept connections/.test(output)) {
          proc.stdout!.off("data", onData);
          proc.stdout!.resume(); // keep draining its log
          resolve();
        }
      };
      proc.stdout!.on("data", onData);
      proc.stderr!.on("data", (d: Buffer) => (output += d.toString()));
      proc.once("error", (error) => reject(new Error(`cannot start ${bin}: ${error.message} (apt-get install redis-server)`)));
      proc.once("exit", (code) => reject(new Error(`${bin} exited (${code}) before it was ready: ${output.slice(-500)}`)));
    });

  const stopChild = (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      proc.once("exit", () => resolve());
      proc.kill(signal);
    });
  };

  // process.kill, not child.kill: Deno's ChildProcess.kill does not send SIGCONT
  const signal = (name: NodeJS.Signals): void => {
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, name);
  };

  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    kill: () => stopChild("SIGKILL"),
    async restart() {
      await stopChild("SIGKILL");
      await launch();
    },
    pause: () => signal("SIGSTOP"),
    resume: () => signal("SIGCONT"),
    async stop() {
      signal("SIGCONT"); // a paused process handles SIGTERM only once continued
      await stopChild("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
