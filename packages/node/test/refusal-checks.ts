/**
 * Issue 21 defects 4 and 10 over real sockets (node:net, which Node, Bun and Deno all have), against any adapter's
 * serve(): run by this package's test/hostile-refusals.test.ts and, inside Bun and Deno, by their
 * test/fixtures/refusals.ts. A refused upgrade must not keep its socket once the client has had time to read the
 * answer (a client that never closes held a descriptor for good), and refusals must not flood the log.
 */
import * as net from "node:net";
import type { EngineServeOptions, LogContext, Logger, ServeEngine, defineService as DefineService } from "@ws/core";
import type { CheckResult } from "./hostile-checks.ts";

/** What the checks use of an adapter module: serve() with an engine (Node's has one: "core"). */
export interface RefusalTarget {
  serve(options: EngineServeOptions): Promise<{ port: number; close(options?: { timeout?: number }): Promise<void> }>;
  defineService: typeof DefineService;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const upgradeHead = (path: string, extra = "") =>
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;

/**
 * A client that asks for an upgrade, reads the status line, and then never closes: half-open allowed, so the
 * server's FIN does not close it. `closed` is set once the server has let go of the socket entirely, which the
 * client learns by writing a byte now and then: the kernel of a server that closed the socket answers with a reset.
 */
class StubbornClient {
  status = 0;
  closed = false;
  private readonly socket: net.Socket;
  private probe: ReturnType<typeof setInterval> | undefined;
  private readonly answered: Promise<void>;

  constructor(port: number, head: string) {
    this.socket = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    this.socket.on("error", () => {});
    this.socket.on("close", () => {
      this.closed = true;
      clearInterval(this.probe);
    });
    let text = "";
    this.answered = new Promise((resolve) => {
      this.socket.on("data", (d: Buffer) => {
        text += d.toString("latin1");
        const line = /^HTTP\/1\.1 (\d{3})/.exec(text);
        if (line && this.status === 0) {
          this.status = Number(line[1]);
          resolve();
        }
      });
      // the server's FIN without a response (half-open: the socket stays until the probes find it closed)
      this.socket.on("end", () => resolve());
      this.socket.on("close", () => resolve());
    });
    this.socket.write(head);
  }

  /** Resolves once the status line is in; then writes a byte every 100 ms until the socket is gone. */
  async answer(): Promise<number> {
    await this.answered;
    if (!this.closed) this.probe = setInterval(() => this.socket.write("x"), 100);
    return this.status;
  }

  destroy(): void {
    clearInterval(this.probe);
    this.socket.destroy();
  }
}

/** Opens an upgrade to `path` and resolves the status (0: closed without one), the client destroyed at once. */
function statusOf(port: number, path: string): Promise<number> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    let text = "";
    socket.on("error", () => {});
    socket.on("data", (d: Buffer) => {
      text += d.toString("latin1");
      const line = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (line) {
        socket.destroy();
        resolve(Number(line[1]));
      }
    });
    socket.on("close", () => resolve(0));
    socket.write(upgradeHead(path));
  });
}

/** Runs each check on each engine of `target`. `engines` lists those serve() takes (Node: ["core"]). */
export async function runRefusalChecks(target: RefusalTarget, engines: ServeEngine[]): Promise<CheckResult[]> {
  const { defineService } = target;
  const results: CheckResult[] = [];
  const services = {
    "/echo": defineService({ received: (m, conn) => void conn.send(m) }),
    "/private": defineService({ upgrade: () => ({ reject: 401, reason: "missing or bad token" }) }),
  };

  for (const engine of engines) {
    async function check(name: string, fn: () => Promise<void>): Promise<void> {
      try {
        await Promise.race([fn(), new Promise((_, j) => setTimeout(() => j(new Error("timed out")), 20_000))]);
        results.push({ name: `${engine}: ${name}`, ok: true });
      } catch (e) {
        results.push({ name: `${engine}: ${name}`, ok: false, error: e instanceof Error ? e.message : String(e) });
      }
    }
    function assert(cond: unknown, message: string): asserts cond {
      if (!cond) throw new Error(message);
    }
    const silent: Logger = { info() {}, warn() {}, error() {} };

    await check("40 refused upgrades (404, a gate's 401) whose clients never close: the server closes every socket", async () => {
      const server = await target.serve({ engine, port: 0, hostname: "127.0.0.1", logger: silent, services });
      const clients: StubbornClient[] = [];
      try {
        for (let i = 0; i < 20; i++) clients.push(new StubbornClient(server.port, upgradeHead(`/nothing/${i}`)));
        for (let i = 0; i < 20; i++) clients.push(new StubbornClient(server.port, upgradeHead("/private")));
        const statuses = await Promise.all(clients.map((c) => c.answer()));
        assert(statuses.filter((s) => s === 404).length === 20 && statuses.filter((s) => s === 401).length === 20, `statuses ${statuses.join(",")}`);
        // REFUSED_UPGRADE_LINGER is 1 s: 10 s is a generous bound, not a measurement
        for (let waited = 0; waited < 10_000 && clients.some((c) => !c.closed); waited += 100) await sleep(100);
        const open = clients.filter((c) => !c.closed).length;
        assert(open === 0, `${open} of ${clients.length} refused sockets still open after 10 s`);
      } finally {
        for (const c of clients) c.destroy();
        await Promise.race([server.close({ timeout: 100 }), sleep(2000)]);
      }
    });

    await check("10 upgrades at a gate that never answers, clients that never close: 503 at handshakeTimeout, every socket closed", async () => {
      const hung = { "/hung": defineService({ upgrade: () => new Promise<undefined>(() => {}) }) };
      const server = await target.serve({ engine, port: 0, hostname: "127.0.0.1", logger: silent, services: hung, handshakeTimeout: 500 });
      const clients: StubbornClient[] = [];
      try {
        for (let i = 0; i < 10; i++) clients.push(new StubbornClient(server.port, upgradeHead("/hung")));
        const statuses = await Promise.all(clients.map((c) => c.answer()));
        // 503 from the server core, or no answer when the adapter's own bound dropped the socket first
        assert(statuses.every((s) => s === 503 || s === 0), `statuses ${statuses.join(",")}`);
        for (let waited = 0; waited < 10_000 && clients.some((c) => !c.closed); waited += 100) await sleep(100);
        const open = clients.filter((c) => !c.closed).length;
        assert(open === 0, `${open} of ${clients.length} sockets still open after 10 s`);
      } finally {
        for (const c of clients) c.destroy();
        await Promise.race([server.close({ timeout: 100 }), sleep(2000)]);
      }
    });

    await check("1,000 refused upgrades with 8 KiB paths: at most 3 log lines, under 4 KiB in all", async () => {
      const lines: string[] = [];
      const record = (c: LogContext, m: string) => void lines.push(`${m} ${JSON.stringify(c)}`);
      const logger: Logger = { info: record, warn: record, error: record };
      const server = await target.serve({ engine, port: 0, hostname: "127.0.0.1", logger, services });
      try {
        const path = (i: number) => `/${String(i).padStart(6, "0")}/${"p".repeat(8 * 1024)}`;
        let refused = 0;
        for (let batch = 0; batch < 1000; batch += 50) {
          const statuses = await Promise.all(Array.from({ length: 50 }, (_, i) => statusOf(server.port, path(batch + i))));
          refused += statuses.filter((s) => s === 404).length;
        }
        assert(refused === 1000, `${refused} of 1000 got 404`);
        const bytes = lines.reduce((n, l) => n + l.length, 0);
        assert(lines.length <= 3 && bytes < 4096, `${lines.length} log lines, ${bytes} bytes`);
      } finally {
        await Promise.race([server.close({ timeout: 100 }), sleep(2000)]);
      }
    });
  }
  return results;
}
