/**
 * Issue 22 point 3 on Node: serve()'s misconfigurations (the shared checks in ./misconfig-checks.ts, also run inside
 * Bun and Deno), and attach()'s: the Express app in place of the http.Server, the options of `ws` that do not
 * apply, a missing server or options. Each is refused at once with a message that names the fix.
 */
import * as http from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { attach, defineService, serve, type AttachOptions, type LogContext, type Logger } from "../src/index.ts";
import { runMisconfigChecks } from "./misconfig-checks.ts";

const echo = defineService({ received: (message, conn) => void conn.send(message) });

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, info() {}, warn: (_c: LogContext, m: string) => void warnings.push(m), error() {} };
}

/** What Express's `express()` returns, as far as attach() can see: a request handler function with listen and use. */
function expressLikeApp(): ((req: http.IncomingMessage, res: http.ServerResponse) => void) & { listen(port: number): http.Server; use(): void } {
  const app = (_req: http.IncomingMessage, res: http.ServerResponse) => void res.end("hi");
  return Object.assign(app, { listen: (port: number) => http.createServer(app).listen(port), use() {} });
}

const servers: http.Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});
const newServer = () => {
  const s = http.createServer();
  servers.push(s);
  return s;
};

/** What attach() throws for these arguments (the test fails if it does not). */
function refusal(...args: unknown[]): string {
  try {
    (attach as (...a: unknown[]) => unknown)(...args);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("attach() accepted it");
}

describe("misconfigurations of serve() on Node", () => {
  it("are refused at start with a message that names the fix; a service with no hooks gets one warning", async () => {
    const results = await runMisconfigChecks({ serve: (o) => serve(o), defineService }, ["core"]);
    expect(results.length).toBe(12);
    expect(results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.error}`)).toEqual([]);
  });
});

describe("misconfigurations of attach()", () => {
  it("the Express app instead of the http.Server app.listen() returns", () => {
    expect(refusal(expressLikeApp(), { services: { "/chat": echo } })).toBe(
      "attach() takes the http.Server that app.listen() returns (const server = app.listen(3000); attach(server, …)), not the Express app",
    );
  });

  it("anything else that is not a node:http or node:https server", () => {
    expect(refusal({ fetch() {} }, { services: { "/chat": echo } })).toMatch(/^attach\(\) takes a node:http or node:https server \(http\.createServer\(\), app\.listen\(\)'s return\)/);
    // a framework instance that holds its server (Fastify's `fastify.server`)
    expect(refusal({ server: newServer(), listen() {} }, { services: { "/chat": echo } })).toMatch(/attach\(yours\.server, …\)/);
  });

  it("the server without options, options without a server", () => {
    expect(refusal(newServer())).toMatch(/attach\(server, \{ services: \{ "\/chat": chat \} \}\)/);
    expect(refusal({ services: { "/chat": echo } })).toMatch(/attach\(\) takes the server first: attach\(server, \{ services \}\), or attach\(\{ noServer: true, … \}\)/);
  });

  it("ws's path, port, server and verifyClient in attach()'s options", () => {
    const server = newServer();
    const with_ = (extra: Record<string, unknown>) => refusal(server, { services: { "/chat": echo }, ...extra } as AttachOptions);
    expect(with_({ path: "/ws" })).toMatch(/path is not an option here; use services: \{ "\/ws": yourService \} \(path is ws's option\)/);
    expect(with_({ port: 8080 })).toMatch(/attach\(\) serves on the server you give it: set the port where it listens \(server\.listen\(port\)\), or use serve\(\{ port, services \}\)/);
    expect(with_({ server })).toMatch(/pass the server as attach\(\)'s first argument: attach\(server, \{ services \}\)/);
    expect(with_({ verifyClient: () => true })).toMatch(/use the service's upgrade\(req\) gate/);
    expect(with_({ handleProtocols: () => "chat" })).toMatch(/use the service's protocols/);
    expect(with_({ servics: {} })).toMatch(/did you mean services\?/);
    // its own keys, and ws's maxPayload (an alias), are still taken
    const ok = attach(server, { services: { "/chat": echo }, noServer: true, shouldHandle: () => true, maxPayload: 1024, logger: recordingLogger() });
    ok.detach();
  });

  it("a service with no hooks: one warning at registration, naming the fix (and one for a service registered later)", () => {
    const logger = recordingLogger();
    const ws = attach(newServer(), { services: { "/ws": {}, "/echo": echo }, logger });
    expect(logger.warnings).toEqual([
      'services["/ws"] has no hooks: its messages wait for conn.read(), which nothing calls; add received(message, conn) { … } (or connected(conn) that reads, or an upgrade gate for a handshake-only endpoint)',
    ]);
    ws.register("/later", {});
    expect(logger.warnings.length).toBe(2);
    expect(logger.warnings[1]).toMatch(/^services\["\/later"\] has no hooks/);
    ws.detach();
  });
});
