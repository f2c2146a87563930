/**
 * Issue 21 #3 over real sockets (node:net, which Node, Bun and Deno all have), against any adapter's serve():
 * many subscribers of which some never read, and a publisher. What the server holds for its peers has one
 * server-wide bound (`maxServerBufferedAmount`), asserted from the server's own accounting (`bufferedBytes`,
 * the connections' `bufferedAmount`), its close codes and its log lines — never timings. Run by this package's
 * test/hostile-sendbuf.test.ts and, inside Bun and Deno, by their test/fixtures/hostile-sendbuf.ts.
 */
import * as net from "node:net";
import type { Connection, EngineServeOptions, Logger, ServeEngine, Service, defineService as DefineService } from "@ws/core";

/** What the checks use of an adapter module. */
export interface SendBufferTarget {
  serve(options: EngineServeOptions): Promise<{ port: number; readonly bufferedBytes?: number; close(options?: { timeout?: number }): Promise<void> }>;
  defineService: typeof DefineService;
  silentLogger: Logger;
}

export type CheckResult = { name: string; ok: boolean; error?: string };

/** A masked client frame (zero key). */
function frame(opcode: number, payload: Uint8Array): Uint8Array {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const out = new Uint8Array(head + 4 + n);
  out[0] = 0x80 | opcode;
  if (n < 126) out[1] = 0x80 | n;
  else if (n < 65536) {
    out[1] = 0x80 | 126;
    out[2] = n >> 8;
    out[3] = n & 0xff;
  } else {
    out[1] = 0x80 | 127;
    new DataView(out.buffer).setBigUint64(2, BigInt(n));
  }
  out.set(payload, head + 4);
  return out;
}

/** A raw client: the handshake, then it counts what it reads (or reads nothing: `pause`). */
async function openClient(port: number, path: string, read: boolean): Promise<{ socket: net.Socket; status: () => number; received: () => number }> {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", () => {});
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  let head = "";
  let status = 0;
  let received = 0;
  const answered = new Promise<void>((resolve) => {
    socket.on("data", (chunk: Buffer) => {
      if (status === 0) {
        head += chunk.toString("latin1");
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) return;
        status = Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? 0);
        received += head.length - end - 4;
        if (!read) socket.pause();
        return resolve();
      }
      received += chunk.length;
    });
    socket.once("close", () => resolve());
  });
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  await answered;
  return { socket, status: () => status, received: () => received };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs the checks on each engine of `target` (the bound is the core engine's: ["core"]). */
export async function runSendBufferChecks(target: SendBufferTarget, engines: ServeEngine[]): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const engine of engines) {
    const name = `${engine}: subscribers that never read are dropped (1008) before what the server holds for its peers passes maxServerBufferedAmount; readers get every message`;
    const sockets: net.Socket[] = [];
    let server: { close(options?: { timeout?: number }): Promise<void> } | null = null;
    try {
      await Promise.race([
        (async () => {
          const limit = 2 * 1024 * 1024;
          const stalledCount = 8;
          const readerCount = 16;
          const size = 8 * 1024;
          const cap = 1536; // 12 MiB per subscriber at most: the kernel takes ~4 MiB per socket before the server holds any
          const lines: string[] = [];
          const logger: Logger = { ...target.silentLogger, warn: (_c, m) => void lines.push(m) };
          const stalledConns: Connection<unknown>[] = [];
          const readerConns: Connection<unknown>[] = [];
          const closes = new Map<Connection<unknown>, number>();
          const subscriber = target.defineService({
            connected(conn: Connection<unknown>) {
              conn.subscribe("t");
              (conn.request.query.get("role") === "stalled" ? stalledConns : readerConns).push(conn);
              void conn.closed.then((info) => closes.set(conn, info.code));
            },
          } as Service<unknown>) as Service<unknown>;
          const publisher = target.defineService({
            received: (message: unknown, conn: Connection<unknown>) => void conn.publish("t", message as Uint8Array),
          } as Service<unknown>) as Service<unknown>;
          const s = await target.serve({
            logger,
            engine,
            port: 0,
            hostname: "127.0.0.1",
            services: { "/t": subscriber, "/pub": publisher },
            maxServerBufferedAmount: limit,
          } as EngineServeOptions);
          server = s;
          const stalled = [];
          const readers = [];
          for (let i = 0; i < stalledCount; i++) stalled.push(await openClient(s.port, "/t?role=stalled", false));
          for (let i = 0; i < readerCount; i++) readers.push(await openClient(s.port, "/t?role=reader", true));
          const pub = await openClient(s.port, "/pub", true);
          sockets.push(...stalled.map((c) => c.socket), ...readers.map((c) => c.socket), pub.socket);
          if (![...stalled, ...readers, pub].every((c) => c.status() === 101)) throw new Error("an upgrade was refused");
          if (stalledConns.length !== stalledCount || readerConns.length !== readerCount) throw new Error("subscribers not all connected");
          const message = frame(2, new Uint8Array(size).fill(0x61));
          const batch = new Uint8Array(message.length * 16);
          for (let i = 0; i < 16; i++) batch.set(message, i * message.length);
          let sent = 0;
          let highestCounted = 0;
          let highestHeld = 0;
          let reportsCount = true;
          while (sent < cap && stalledConns.some((c) => !closes.has(c))) {
            await new Promise<void>((resolve) => pub.socket.write(batch, () => resolve()));
            sent += 16;
            await sleep(2);
            // the server's own count, and what its open connections' send buffers hold, after each batch
            const counted = s.bufferedBytes;
            if (typeof counted !== "number") reportsCount = false;
            else highestCounted = Math.max(highestCounted, counted);
            const held = [...stalledConns, ...readerConns].filter((c) => !closes.has(c)).reduce((n, c) => n + c.bufferedAmount, 0);
            highestHeld = Math.max(highestHeld, held);
          }
          // the last batch may still be on its way through the server
          for (let i = 0; i < 100 && stalledConns.some((c) => !closes.has(c)); i++) await sleep(20);
          const stalledCodes = stalledConns.map((c) => closes.get(c) ?? "open");
          if (!stalledCodes.every((c) => c === 1008)) throw new Error(`non-readers: ${stalledCodes.join(",")} after ${sent} messages (send buffers held up to ${highestHeld} bytes)`);
          if (highestHeld > limit) throw new Error(`the open connections' send buffers held ${highestHeld} bytes, over ${limit}`);
          if (!reportsCount) throw new Error("the server reports no bufferedBytes");
          if (highestCounted > limit) throw new Error(`the server counted ${highestCounted} bytes, over ${limit}`);
          const policyLines = lines.filter((l) => l.includes("maxServerBufferedAmount"));
          if (policyLines.length !== stalledCount) throw new Error(`${policyLines.length} policy log lines`);
          // readers stay open and get every message
          const expected = sent * (size + 4);
          for (let i = 0; i < 200 && readers.some((r) => r.received() < expected); i++) await sleep(20);
          const short = readers.filter((r) => r.received() !== expected).length;
          if (short > 0) throw new Error(`${short} readers got less than ${expected} bytes`);
          if (readerConns.some((c) => closes.has(c))) throw new Error("a reader was closed");
        })(),
        new Promise((_, reject) => setTimeout(() => reject(new Error("timed out")), 60_000)),
      ]);
      results.push({ name, ok: true });
    } catch (e) {
      results.push({ name, ok: false, error: e instanceof Error ? e.message : String(e) });
    } finally {
      for (const socket of sockets) socket.destroy();
      await (server as { close(options?: { timeout?: number }): Promise<void> } | null)?.close({ timeout: 100 }).catch(() => {});
    }
  }
  return results;
}
