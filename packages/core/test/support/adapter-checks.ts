/**
 * The adapter checks for @ws/bun and @ws/deno, run inside the runtime by each package's test/adapter.test.ts
 * through its test/fixtures/checks.ts (which reads its runtime's argv and prints the results as one JSON line):
 * both engines — serve, the client, topics, register, the upgrade request, ping, fragment streaming, graceful close. A check the
 * engine cannot do fails with "UNSUPPORTED" (an UnsupportedError), where the adapter's README says so.
 */
import type {
  Connection,
  defineService as DefineService,
  EngineServeHandle,
  EngineServeOptions,
  Logger,
  Service,
  UnsupportedError as Unsupported,
} from "../../src/index.ts";

/** What the checks use of an adapter module (@ws/bun, @ws/deno). */
export interface AdapterUnderTest {
  serve(options: EngineServeOptions): Promise<EngineServeHandle>;
  connect(url: string, options?: { protocols?: string[]; handshakeTimeout?: number; headers?: Record<string, string> }): Promise<Connection>;
  defineService: typeof DefineService;
  UnsupportedError: typeof Unsupported;
  silentLogger: Logger;
}

export type CheckResult = { name: string; ok: boolean; error?: string };

/**
 * Runs every check on each engine of `adapter`. `coreRaw`: what the core engine's `request.raw` is (node:http's
 * IncomingMessage by default; a Request where the core engine runs on the runtime's native sockets, Bun's).
 */
export async function runAdapterChecks(
  adapter: AdapterUnderTest,
  engines: Array<"core" | "runtime">,
  coreRaw: "IncomingMessage" | "Request" = "IncomingMessage",
): Promise<CheckResult[]> {
  const { serve, connect, defineService, UnsupportedError } = adapter;
  const results: CheckResult[] = [];
  async function check(name: string, fn: () => Promise<void>): Promise<void> {
    try {
      await Promise.race([fn(), new Promise((_, j) => setTimeout(() => j(new Error("timed out")), 5000))]);
      results.push({ name, ok: true });
    } catch (e) {
      results.push({ name, ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  }
  function assert(cond: unknown, message: string): asserts cond {
    if (!cond) throw new Error(message);
  }
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(() => resolve(), ms));

  for (const engine of engines) {
    const serverSide: Connection[] = [];
    const echo = defineService({
      protocols: ["echo"],
      connected(conn) {
        serverSide.push(conn);
        conn.subscribe("all");
      },
      received(message, conn) {
        if (message === "publish") conn.publish("all", "published");
        else void conn.send(message);
      },
    });
    const server = await serve({ engine, port: 0, hostname: "127.0.0.1", services: { "/echo": echo as Service<unknown> }, logger: adapter.silentLogger });
    const url = `ws://127.0.0.1:${server.port}`;

    await check(`${engine}: client connect() echoes text and binary, protocol negotiated`, async () => {
      const c = await connect(`${url}/echo`, { protocols: ["echo"] });
      assert(c.protocol === "echo", `protocol ${c.protocol}`);
      void c.send("héllo");
      assert((await c.read()) === "héllo", "text echo");
      void c.send(new Uint8Array([1, 2, 3]));
      const bin = await c.read();
      assert(bin instanceof Uint8Array && bin.join() === "1,2,3", "binary echo");
      const info = await c.close(1000, "bye");
      assert(info.code === 1000, `close code ${info.code}`);
    });

    await check(`${engine}: connections, connectionCount, publish, subscriberCount`, async () => {
      const a = await connect(`${url}/echo`, { protocols: ["echo"] });
      const b = await connect(`${url}/echo`, { protocols: ["echo"] });
      await sleep(50);
      assert(server.connectionCount === 2 && server.connections.size === 2, `count ${server.connectionCount}`);
      assert(server.subscriberCount("all") === 2, `subscribers ${server.subscriberCount("all")}`);
      void a.send("publish");
      assert((await b.read({ timeout: 2000 })) === "published", "b got the publish");
      assert(server.publish("all", "from server") === 2, "server publish count");
      assert((await a.read({ timeout: 2000 })) === "from server", "a got the server's publish");
      assert((await b.read({ timeout: 2000 })) === "from server", "b got the server's publish");
      // conn.topics, unsubscribe and the counts on the server side
      const [first, second] = serverSide.slice(-2);
      assert(first!.topics.has("all") && first!.isSubscribed("all"), "conn.topics");
      first!.unsubscribe("all");
      assert(!first!.topics.has("all") && server.subscriberCount("all") === 1, `after unsubscribe ${server.subscriberCount("all")}`);
      assert(second!.publish("all", "nobody else") === 0, "publish with no other subscriber");
      assert(server.publish("all", new Uint8Array([7])) === 1, "server publish after unsubscribe");
      const bin = await b.read({ timeout: 2000 }); // second: b's server side (a connected first)
      assert(bin instanceof Uint8Array && bin.join() === "7", "binary publish arrives as binary");
      assert(server.skippedMessages() === 0, "nothing skipped");
      await Promise.all([a.close(), b.close()]);
      await sleep(50);
      assert(Number(server.connectionCount) === 0, `count after close ${server.connectionCount}`);
      assert(server.subscriberCount("all") === 0, `subscribers after close ${server.subscriberCount("all")}`);
    });

    await check(`${engine}: register / unregister at run time`, async () => {
      server.register("/late", defineService({ received: (m, conn) => void conn.send(`late:${String(m)}`) }) as Service<unknown>);
      const c = await connect(`${url}/late`);
      void c.send("x");
      assert((await c.read()) === "late:x", "late service");
      await c.close();
      assert(server.unregister("/late"), "unregister");
      let refused = false;
      try {
        await connect(`${url}/late`);
      } catch (e) {
        refused = (e as { status?: number }).status === 404;
      }
      assert(refused, "404 after unregister");
    });

    await check(`${engine}: the upgrade request: params of /req/:room, query, cookies, the runtime's request`, async () => {
      const describe = (req: Connection["request"]) => {
        const raw = req.raw as { url?: unknown; headers?: unknown } | undefined;
        // the core engine's is node:http's IncomingMessage (headers a plain object), the runtime engine's a Request
        const rawKind = raw instanceof Request ? "Request" : typeof raw?.url === "string" && typeof raw.headers === "object" ? "IncomingMessage" : typeof raw;
        return `${JSON.stringify(req.params)} ${req.query.get("user")} ${req.cookies.get("sid")} ${rawKind}`;
      };
      let gate = "";
      const opened: Connection[] = [];
      for (const keepRawRequest of [false, true]) {
        server.register(
          keepRawRequest ? "/req-kept/:room" : "/req/:room",
          defineService({
            upgrade(req) {
              gate = describe(req);
            },
            connected: (conn) => {
              opened.push(conn);
              void conn.send(describe(conn.request));
            },
            keepRawRequest,
          }) as Service<unknown>,
        );
      }
      const expected = `{"room":"café"} ann s1 ${engine === "core" ? coreRaw : "Request"}`;
      for (const path of ["/req", "/req-kept"]) {
        const c = await connect(`${url}${path}/caf%C3%A9?user=ann`, { headers: { Cookie: 'sid="s1"; theme=dark' } });
        const fromConn = await c.read({ timeout: 2000 });
        // after `connected`: the runtime's request is released, unless the service keeps it (keepRawRequest)
        const later = describe(opened.at(-1)!.request);
        await c.close();
        assert(gate === expected, `${path}: gate saw ${gate}`);
        assert(fromConn === expected, `${path}: conn.request: ${String(fromConn)}`);
        const expectedLater = path === "/req" ? `{"room":"café"} ann s1 undefined` : expected;
        assert(later === expectedLater, `${path}: conn.request after connected: ${later}`);
      }
      server.unregister("/req/:room");
      server.unregister("/req-kept/:room");
    });

    await check(`${engine}: ping answered by pong`, async () => {
      const c = await connect(`${url}/echo`, { protocols: ["echo"] });
      await sleep(20);
      const conn = serverSide[serverSide.length - 1]!;
      let unsupported = false;
      let pong: Promise<string> | undefined;
      try {
        let gotPong!: (payload: string) => void;
        pong = new Promise<string>((r) => (gotPong = r));
        conn.onPong((p) => gotPong(new TextDecoder().decode(p)));
        await conn.ping("are you there");
      } catch (e) {
        unsupported = e instanceof UnsupportedError;
      }
      if (unsupported) {
        await c.close();
        throw new Error("UNSUPPORTED");
      }
      assert((await pong) === "are you there", "pong payload");
      await c.close();
    });

    await check(`${engine}: fragment streaming (stream(), onFragment)`, async () => {
      const c = await connect(`${url}/echo`, { protocols: ["echo"] });
      await sleep(20);
      const conn = serverSide[serverSide.length - 1]!;
      try {
        const w = conn.stream("text");
        await w.write("ab");
        await w.end("cd");
        assert((await c.read()) === "abcd", "streamed message");
      } catch (e) {
        await c.close();
        if (e instanceof UnsupportedError) throw new Error("UNSUPPORTED");
        throw e;
      }
      await c.close();
    });

    await check(`${engine}: close() sends 1001 to everyone and stops listening`, async () => {
      const c = await connect(`${url}/echo`, { protocols: ["echo"] });
      await server.close({ timeout: 1000 });
      const info = await c.closed;
      assert(info.code === 1001, `code ${info.code}`);
      let refused = false;
      try {
        await connect(`${url}/echo`, { handshakeTimeout: 1000 });
      } catch {
        refused = true;
      }
      assert(refused, "no longer listening");
    });
  }
  return results;
}
