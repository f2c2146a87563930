/**
 * The round-2 hostile server (src/hostile/round2-services.ts) on Node: each service the attacks rely on
 * answers as they expect; and the log phrases of a spawned process are counted.
 * Runs the built server (dist/), as the hostile runner does.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnProcess, start, stop, type Running } from "../src/hostile/apps.ts";
import { connect, type RawClient } from "../src/hostile/client.ts";
import { ROOT_DIR } from "../src/servers.ts";

const built = existsSync(join(ROOT_DIR, "bench/dist/hostile/round2-server.js"));

describe.skipIf(!built)("round-2 hostile server (Node)", () => {
  let server: Running;
  const opened: RawClient[] = [];
  const track = (c: RawClient) => void opened.push(c);

  beforeAll(async () => {
    server = await start("node", "round2");
  });
  afterAll(async () => {
    for (const c of opened) c.socket.destroy();
    await stop(server);
  });

  it("routes /echo, /sub, /room and /dyn/* to services, refuses /refuse (403) and unknown paths (404)", async () => {
    const status = async (path: string) => (await connect({ port: server.port, path }, track)).status;
    expect(await status("/echo")).toBe(101);
    expect(await status("/sub")).toBe(101);
    expect(await status("/room")).toBe(101);
    expect(await status("/dyn/1")).toBe(101);
    expect(await status("/refuse")).toBe(403);
    expect(await status("/nowhere")).toBe(404);
  });

  it("answers /stats after a full GC (node --expose-gc) and plain HTTP elsewhere", async () => {
    const stats = (await (await fetch(`http://127.0.0.1:${server.port}/stats?gc=1`)).json()) as { rss: number; heapUsed: number; collected: boolean };
    expect(stats.collected).toBe(true);
    expect(stats.heapUsed).toBeGreaterThan(0);
    expect(await (await fetch(`http://127.0.0.1:${server.port}/`)).text()).toBe("ok\n");
  });
});

describe("spawnProcess", () => {
  it("counts the log phrases across chunk boundaries, and the bytes written", async () => {
    // 3,000 lines with the phrase, more than one pipe chunk: some occurrences straddle two chunks
    const script = 'echo ready; i=0; while [ $i -lt 3000 ]; do echo "connection $i: closing with 1008"; i=$((i+1)); done; sleep 5';
    const p = await spawnProcess("sh", ["sh", "-c", script], /ready/);
    try {
      for (let i = 0; i < 100 && p.phrases.get("closing with 1008")! < 3000; i++) await new Promise((r) => setTimeout(r, 20));
      expect(p.phrases.get("closing with 1008")).toBe(3000);
      expect(p.outputBytes()).toBeGreaterThan(3000 * 30);
    } finally {
      await stop(p);
    }
  });
});
