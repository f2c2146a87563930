/**
 * Issue 23 point 1: one fetch-style upgrade on every runtime. Inside `serve({ fetch })`'s handler,
 * `info.upgrade(request, service, { data, headers })` (or `upgrade(request, …)` exported by the adapter) returns the
 * Response to return: the 101, after which the connection runs the service with `data` as `conn.data`, or the
 * refusal. Whatever else the handler returns for an upgrade request (a 401 with a JSON body, a redirect) reaches the
 * client as its status, headers and body (HandshakeError). Plain routes keep working beside it; registered services
 * come first; the service's own gate still runs; maxConnections still bounds these upgrades; graceful close closes
 * them with 1001. Runtime-agnostic: run by this package's test/fetch-upgrade.test.ts and, inside Bun (both engines,
 * both socket layers) and Deno (both engines), by their test/fixtures/fetch-upgrade.ts.
 */
import type { ClientOptions, Connection, EngineServeOptions, FetchInfo, Logger, Service, defineService as DefineService, UpgradeOptions } from "@ws/core";
import type { CheckResult } from "./hostile-checks.ts";

/** What the checks use of an adapter module. */
export interface FetchUpgradeTarget {
  serve(options: EngineServeOptions): Promise<{ port: number; connectionCount: number; close(options?: { timeout?: number }): Promise<void> }>;
  defineService: typeof DefineService;
  silentLogger: Logger;
  connect(url: string, options?: ClientOptions): Promise<Connection>;
  /** the adapter's `upgrade(request, service, options)` */
  upgrade<Data>(request: Request, service: Service<Data>, options?: UpgradeOptions<Data>): Promise<Response>;
}

type Refusal = Error & { status?: number; headers?: Headers; body?: string };

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

async function refusal(connecting: Promise<Connection>): Promise<Refusal> {
  try {
    const conn = await connecting;
    conn.drop();
  } catch (e) {
    assert(e instanceof Error && e.name === "HandshakeError", `expected a HandshakeError, got ${String(e)}`);
    return e as Refusal;
  }
  throw new Error("the handshake succeeded");
}

/** The next message a connection receives, within 5 s. */
function nextMessage(conn: Connection): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no message within 5 s")), 5000);
    conn.onMessage((m) => {
      clearTimeout(timer);
      resolve(m);
    });
  });
}

async function eventually(test: () => boolean, ms = 5000): Promise<boolean> {
  for (let waited = 0; !test(); waited += 20) {
    if (waited >= ms) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

async function check(results: CheckResult[], name: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
    results.push({ name, ok: true });
  } catch (e) {
    results.push({ name, ok: false, error: e instanceof Error ? e.message : String(e) });
  }
}

interface User {
  name: string;
}

/**
 * Runs every check on each of `engines` (`serveOptions`: what else serve() takes there, e.g. `{ engine }`); each
 * reports { name, ok, error? }, its name prefixed with `label`.
 */
export async function runFetchUpgradeChecks(target: FetchUpgradeTarget, runs: Array<{ label: string; options: Record<string, unknown> }>): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const run of runs) results.push(...(await runOn(target, run.label, run.options)));
  return results;
}

async function runOn(target: FetchUpgradeTarget, label: string, extra: Record<string, unknown>): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const chat = target.defineService<User>({
    connected: (conn) => conn.send(`hello ${conn.data.name}`),
    received: (message, conn) => conn.send(`${conn.data.name}: ${String(message)}`),
  });
  // a service with its own gate: it still runs under the fetch handler's upgrade
  const gated = target.defineService<User>({
    upgrade: (req) => (req.headers.get("x-gate") === "open" ? { headers: { "x-gate-said": "yes" } } : { reject: 403, reason: "the gate is shut", headers: { "x-gate-said": "no" } }),
    connected: (conn) => conn.send(`gated ${conn.data.name}`),
  });
  const registered = target.defineService({ connected: (conn) => conn.send("registered") });
  let fetchSawRegistered = false;
  const fetch = async (request: Request, info: FetchInfo): Promise<Response> => {
    const url = new URL(request.url);
    if (url.pathname === "/registered") fetchSawRegistered = true;
    if (url.pathname === "/hello") return new Response("hi from fetch", { headers: { "x-plain": "1" } });
    if (url.pathname === "/old") return new Response(null, { status: 302, headers: { Location: "/chat" } });
    if (url.pathname === "/chat") {
      const token = request.headers.get("authorization") ?? "";
      const cookie = request.headers.get("cookie") ?? "";
      const name = token.startsWith("Bearer ") ? token.slice(7) : /(?:^|; )user=([^;]+)/.exec(cookie)?.[1];
      if (!name) {
        return new Response(JSON.stringify({ error: "unauthorized", hint: "log in" }), {
          status: 401,
          headers: { "Content-Type": "application/json", "WWW-Authenticate": 'Bearer realm="chat"', "X-Refused-By": "middleware" },
        });
      }
      return info.upgrade(request, chat, { data: { name }, headers: { "x-welcome": name } });
    }
    if (url.pathname === "/exported") return target.upgrade(request, chat, { data: { name: "exported" } });
    if (url.pathname === "/gated") return info.upgrade(request, gated, { data: { name: "gatekeeper" } });
    if (url.pathname === "/inline") {
      // an inline service made for this request
      const room = url.searchParams.get("room") ?? "none";
      return info.upgrade(request, target.defineService({ connected: (conn) => conn.send(`inline ${room}`) }));
    }
    return new Response("not found", { status: 404 });
  };
  const server = await target.serve({
    port: 0,
    hostname: "127.0.0.1",
    logger: target.silentLogger,
    services: { "/registered": registered },
    fetch,
    maxConnections: 3,
    ...extra,
  } as EngineServeOptions);
  const base = `127.0.0.1:${server.port}`;
  const name = (s: string) => `${label}: ${s}`;
  try {
    await check(results, name("an authorized upgrade through info.upgrade: 101, the call's data in conn.data"), async () => {
      const conn = await target.connect(`ws://${base}/chat`, { headers: { Authorization: "Bearer ann" } });
      const first = nextMessage(conn);
      assert((await first) === "hello ann", `first message ${String(await first)}`);
      const echo = nextMessage(conn);
      await conn.send("hi");
      assert((await echo) === "ann: hi", `echo ${String(await echo)}`);
      await conn.close();
    });

    await check(results, name("a cookie authorizes too (the handler reads the request's headers)"), async () => {
      const conn = await target.connect(`ws://${base}/chat`, { headers: { Cookie: "theme=dark; user=bob" } });
      const first = await nextMessage(conn);
      assert(first === "hello bob", `first message ${String(first)}`);
      await conn.close();
    });

    await check(results, name("an unauthorized upgrade gets the handler's 401: status, headers and JSON body at the client"), async () => {
      const e = await refusal(target.connect(`ws://${base}/chat`));
      assert(e.status === 401, `status ${e.status}`);
      assert(e.headers?.get("x-refused-by") === "middleware", `X-Refused-By ${e.headers?.get("x-refused-by")}`);
      assert(e.headers?.get("www-authenticate") === 'Bearer realm="chat"', `WWW-Authenticate ${e.headers?.get("www-authenticate")}`);
      assert(e.headers?.get("content-type") === "application/json", `Content-Type ${e.headers?.get("content-type")}`);
      const body = JSON.parse(e.body ?? "null") as { error?: string };
      assert(body?.error === "unauthorized", `body ${JSON.stringify(e.body)}`);
    });

    await check(results, name("a redirect from the handler reaches the client as 302 with its Location"), async () => {
      const e = await refusal(target.connect(`ws://${base}/old`));
      assert(e.status === 302, `status ${e.status}`);
      assert(e.headers?.get("location") === "/chat", `Location ${e.headers?.get("location")}`);
    });

    await check(results, name("upgrade(request, …) exported by the adapter works on the handler's request"), async () => {
      const conn = await target.connect(`ws://${base}/exported`);
      const first = await nextMessage(conn);
      assert(first === "hello exported", `first message ${String(first)}`);
      await conn.close();
    });

    await check(results, name("the service's own gate still runs: its refusal (403, its header) or its acceptance"), async () => {
      const e = await refusal(target.connect(`ws://${base}/gated`));
      assert(e.status === 403, `status ${e.status}`);
      assert(e.headers?.get("x-gate-said") === "no", `x-gate-said ${e.headers?.get("x-gate-said")}`);
      assert(e.body?.includes("the gate is shut"), `body ${JSON.stringify(e.body)}`);
      const conn = await target.connect(`ws://${base}/gated`, { headers: { "x-gate": "open" } });
      const first = await nextMessage(conn);
      assert(first === "gated gatekeeper", `first message ${String(first)}`);
      await conn.close();
    });

    await check(results, name("an inline service made in the handler"), async () => {
      const conn = await target.connect(`ws://${base}/inline?room=7`);
      const first = await nextMessage(conn);
      assert(first === "inline 7", `first message ${String(first)}`);
      await conn.close();
    });

    await check(results, name("registered services come first: the fetch handler never sees their upgrades"), async () => {
      const conn = await target.connect(`ws://${base}/registered`);
      const first = await nextMessage(conn);
      assert(first === "registered", `first message ${String(first)}`);
      assert(!fetchSawRegistered, "the fetch handler saw /registered");
      await conn.close();
    });

    await check(results, name("plain HTTP routes keep working beside it; an upgrade the handler answers with a 2xx gets the server's 404, its own 404 as it is"), async () => {
      const res = await globalThis.fetch(`http://${base}/hello`);
      assert(res.status === 200 && res.headers.get("x-plain") === "1", `status ${res.status}`);
      assert((await res.text()) === "hi from fetch", "body");
      const page = await refusal(target.connect(`ws://${base}/hello`));
      assert(page.status === 404 && page.body?.includes("no WebSocket service"), `a 2xx: status ${page.status} body ${JSON.stringify(page.body)}`);
      const e = await refusal(target.connect(`ws://${base}/nowhere`));
      assert(e.status === 404 && e.body === "not found", `status ${e.status} body ${JSON.stringify(e.body)}`);
    });

    await check(results, name("maxConnections bounds fetch upgrades: the fourth gets 503 while three are open"), async () => {
      await eventually(() => server.connectionCount === 0);
      const open: Connection[] = [];
      for (const user of ["a", "b", "c"]) {
        const conn = await target.connect(`ws://${base}/chat`, { headers: { Authorization: `Bearer ${user}` } });
        await nextMessage(conn);
        open.push(conn);
      }
      assert(server.connectionCount === 3, `connectionCount ${server.connectionCount}`);
      const e = await refusal(target.connect(`ws://${base}/chat`, { headers: { Authorization: "Bearer d" } }));
      assert(e.status === 503, `status ${e.status}`);
      for (const conn of open) await conn.close();
      assert(await eventually(() => server.connectionCount === 0), `connectionCount ${server.connectionCount} after closing`);
    });

    await check(results, name("graceful close: a fetch-upgraded connection gets 1001"), async () => {
      const conn = await target.connect(`ws://${base}/chat`, { headers: { Authorization: "Bearer zed" } });
      await nextMessage(conn);
      const closed = conn.closed;
      await server.close({ timeout: 2000 });
      const info = await closed;
      assert(info.code === 1001, `close code ${info.code}`);
    });
  } finally {
    await server.close({ timeout: 200 }).catch(() => {});
  }
  if (extra.engine !== "runtime") {
    // the core engine writes the 101 once the handler returns: one that never does must not keep its slot
    await check(results, name("a handler that upgrades and never returns: at handshakeTimeout its socket is closed and its slot freed (maxConnections 1)"), async () => {
      const hung = await target.serve({
        port: 0,
        hostname: "127.0.0.1",
        logger: target.silentLogger,
        maxConnections: 1,
        handshakeTimeout: 300,
        ...extra,
        fetch: async (request: Request, info: FetchInfo) => {
          if (new URL(request.url).pathname === "/hang") {
            await info.upgrade(request, chat, { data: { name: "hung" } });
            return new Promise<Response>(() => {}); // never
          }
          return info.upgrade(request, chat, { data: { name: "next" } });
        },
      } as EngineServeOptions);
      try {
        const e = await target.connect(`ws://127.0.0.1:${hung.port}/hang`).then(
          (c) => (c.drop(), "connected"),
          (err: unknown) => err,
        );
        assert(e !== "connected", "the hung upgrade connected");
        const conn = await target.connect(`ws://127.0.0.1:${hung.port}/next`);
        const first = await nextMessage(conn);
        assert(first === "hello next", `first message ${String(first)}`);
        await conn.close();
      } finally {
        await hung.close({ timeout: 200 });
      }
    });
  }
  return results;
}
