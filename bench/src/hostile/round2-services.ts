/**
 * The round-2 hostile server's services (issue 21), the same on every runtime, with every option left at its
 * default. No import on purpose: each runtime's entry (round2-server.ts on Node, runtime/hostile2-bun.ts,
 * runtime/hostile2-deno.ts) hands them to its own adapter, so a process holds one copy of the core.
 *
 *   /echo        echoes (the probe after each attack)
 *   /sub         subscribes to "news" and has no received(): messages wait for conn.read() (defects 1 and 6)
 *   /room        subscribes to "room"; what one connection sends is published to the others (defect 3)
 *   /refuse      the upgrade gate refuses with 403 (defect 4)
 *   /dyn/...     resolve() returns a new service object for every request (defect 9)
 *   other paths  404 (defect 10: refusals with long paths)
 *   plain HTTP   /stats: the server's memory as JSON (after a full GC when asked: ?gc=1); else "ok" (defect 7)
 */
type Message = string | Uint8Array;
interface R2Connection {
  send(message: Message): unknown;
  subscribe(topic: string): void;
  publish(topic: string, message: Message): unknown;
}
interface R2Request {
  url: string;
}

export const round2Services = {
  "/echo": {
    received(message: Message, conn: R2Connection) {
      void conn.send(message);
    },
  },
  "/sub": {
    connected(conn: R2Connection) {
      conn.subscribe("news");
    },
  },
  "/room": {
    connected(conn: R2Connection) {
      conn.subscribe("room");
    },
    received(message: Message, conn: R2Connection) {
      conn.publish("room", message);
    },
  },
  "/refuse": {
    upgrade() {
      return { reject: 403, reason: "refused by the gate" };
    },
  },
};

/** A new service object for every request under /dyn/ (a router built per tenant, say). */
export function round2Resolve(req: R2Request): object | undefined {
  if (!req.url.startsWith("/dyn/")) return undefined;
  return {
    received(message: Message, conn: R2Connection) {
      void conn.send(message);
    },
  };
}

/**
 * The plain-HTTP handler: `/stats` answers the process's memory (`process.memoryUsage()`, which Node, Bun and
 * Deno all have) after a full GC when `?gc=1` and the runtime lets us (`gc` is a function on Node with
 * --expose-gc, on Deno with --v8-flags=--expose-gc; Bun.gc on Bun); anything else gets "ok".
 */
export function round2Fetch(request: Request): Response {
  const url = new URL(request.url);
  if (url.pathname !== "/stats") return new Response("ok\n");
  let collected = false;
  if (url.searchParams.get("gc") === "1") {
    const g = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };
    if (g.Bun) (g.Bun.gc(true), (collected = true));
    else if (typeof g.gc === "function") (g.gc(), (collected = true));
  }
  const proc = (globalThis as unknown as { process: { memoryUsage(): { rss: number; heapUsed: number } } }).process;
  const m = proc.memoryUsage();
  return new Response(JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed, collected }), { headers: { "content-type": "application/json" } });
}
