/**
 * Issue 23 point 2: a real Hono app (test/fixtures/app.ts) served by a @ws server decides its upgrades with its own
 * middleware. Runtime-agnostic: run by test/node.test.ts on Node and, inside Bun and Deno, by test/fixtures/bun.ts
 * and test/fixtures/deno.ts. Each check reports { name, ok, error? }.
 */
import type { ClientOptions, Connection } from "@ws/core";

export interface CheckResult {
  name: string;
  ok: boolean;
  error?: string;
}

/** A Hono app served one way (serve({ fetch: app.fetch }), injectWebSocket, Bun.serve, …). */
export interface Served {
  port: number;
  connectionCount(): number;
  /** the graceful shutdown: 1001 to every connection */
  close(): Promise<void>;
}

export interface HonoTarget {
  connect(url: string, options?: ClientOptions): Promise<Connection>;
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

/** Collects a connection's messages from the start; `nth(n)` waits for the n-th (1-based), within 5 s. */
function recorder(conn: Connection): { nth(n: number): Promise<unknown> } {
  const messages: unknown[] = [];
  const waiters: Array<() => void> = [];
  conn.onMessage((m) => {
    messages.push(m);
    for (const w of waiters.splice(0)) w();
  });
  return {
    nth: (n) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`message ${n} did not arrive; got ${JSON.stringify(messages)}`)), 5000);
        const check = () => {
          if (messages.length >= n) {
            clearTimeout(timer);
            resolve(messages[n - 1]);
          } else waiters.push(check);
        };
        check();
      }),
  };
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

/** The checks against one served app; `served` is closed by the last one (graceful shutdown). */
export async function runHonoChecks(target: HonoTarget, label: string, served: Served): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const base = `127.0.0.1:${served.port}`;
  const name = (s: string) => `${label}: ${s}`;
  try {
    await check(results, name("an upgrade the cookie middleware lets through: 101, c.get('user') in conn.data"), async () => {
      const conn = await target.connect(`ws://${base}/chat`, { headers: { Cookie: "theme=dark; user=ann" } });
      const got = recorder(conn);
      assert((await got.nth(1)) === "hello ann", "first message");
      await conn.close();
    });

    await check(results, name("an upgrade without the cookie gets the middleware's 401: status, headers and JSON body"), async () => {
      const e = await refusal(target.connect(`ws://${base}/chat`, { headers: { Origin: "https://chat.example" } }));
      assert(e.status === 401, `status ${e.status}`);
      assert(e.headers?.get("x-refused-by") === "hono-middleware", `X-Refused-By ${e.headers?.get("x-refused-by")}`);
      assert(e.headers?.get("www-authenticate") === 'Bearer realm="chat"', `WWW-Authenticate ${e.headers?.get("www-authenticate")}`);
      assert(e.headers?.get("content-type")?.startsWith("application/json"), `Content-Type ${e.headers?.get("content-type")}`);
      const body = JSON.parse(e.body ?? "null") as { error?: string; hint?: string };
      assert(body?.error === "unauthorized" && body.hint === "log in", `body ${JSON.stringify(e.body)}`);
      // the app-wide middleware's headers are on the refusal too
      assert(e.headers?.get("access-control-allow-origin") === "https://chat.example", `Access-Control-Allow-Origin ${e.headers?.get("access-control-allow-origin")}`);
    });

    await check(results, name("a callback that returns a Response refuses with it"), async () => {
      const e = await refusal(target.connect(`ws://${base}/vip`));
      assert(e.status === 403 && e.body === "members only", `status ${e.status} body ${JSON.stringify(e.body)}`);
      assert(e.headers?.get("x-refused-by") === "callback", `X-Refused-By ${e.headers?.get("x-refused-by")}`);
    });

    await check(results, name("upgradeWebSocket(service): a bare service, no callback"), async () => {
      const conn = await target.connect(`ws://${base}/echo`);
      const got = recorder(conn);
      await conn.send("ping?");
      assert((await got.nth(1)) === "ping?", "echo");
      await conn.close();
    });

    await check(results, name("plain routes keep working beside it; a plain GET of the WebSocket route goes on to the next handler"), async () => {
      const home = await fetch(`http://${base}/`);
      assert(home.status === 200 && (await home.text()) === "hello from hono", `GET / ${home.status}`);
      const me = await fetch(`http://${base}/api/me`, { headers: { Cookie: "user=ann" } });
      assert(me.status === 200 && (await me.text()) === '{"name":"ann"}', `GET /api/me ${me.status}`);
      const anon = await fetch(`http://${base}/api/me`);
      assert(anon.status === 401, `GET /api/me without the cookie: ${anon.status}`);
      await anon.body?.cancel();
      const page = await fetch(`http://${base}/chat`, { headers: { Cookie: "user=ann" } });
      assert(page.status === 426 && (await page.text()) === "this route speaks WebSocket", `GET /chat ${page.status}`);
      const echo = await fetch(`http://${base}/echo`);
      assert(echo.status === 404, `GET /echo (no next handler): ${echo.status}`);
      await echo.body?.cancel();
    });

    await check(results, name("topics: what one user sends reaches the other through the room"), async () => {
      const ann = await target.connect(`ws://${base}/chat`, { headers: { Cookie: "user=ann" } });
      const annGot = recorder(ann);
      assert((await annGot.nth(1)) === "hello ann", "ann's hello");
      const bob = await target.connect(`ws://${base}/chat`, { headers: { Authorization: "Bearer bob" } });
      const bobGot = recorder(bob);
      assert((await bobGot.nth(1)) === "hello bob", "bob's hello");
      await bob.send("hi all");
      const line = await annGot.nth(2);
      assert(line === "bob: hi all", `ann got ${String(line)}`);
      await ann.close();
      await bob.close();
    });

    await check(results, name("graceful shutdown closes its WebSockets with 1001"), async () => {
      await eventually(() => served.connectionCount() === 0);
      const conn = await target.connect(`ws://${base}/chat`, { headers: { Cookie: "user=zed" } });
      await recorder(conn).nth(1);
      assert(served.connectionCount() === 1, `connectionCount ${served.connectionCount()}`);
      const closed = conn.closed;
      await served.close();
      const info = await closed;
      assert(info.code === 1001, `close code ${info.code}`);
    });
  } finally {
    await served.close().catch(() => {});
  }
  return results;
}
