/**
 * Issue 22 point 3: misconfigurations a new user makes in the first hour — serve() with nothing to serve, the
 * options of `ws`, Bun.serve and Deno.serve where this toolkit has another way, a misspelt key, a service with no
 * hooks — are refused when serve() is called (or warned about once, for the service), each with a message that
 * names the fix. Run against any adapter's serve(): by this package's test/misconfig.test.ts and, inside Bun and
 * Deno, by their test/fixtures/misconfig.ts. Nothing here reaches a socket: every refusal comes before listening.
 */
import type { EngineServeOptions, LogContext, Logger, ServeEngine, defineService as DefineService } from "@ws/core";
import type { CheckResult } from "./hostile-checks.ts";

/** What the checks use of an adapter module: serve() with an engine (Node's has one: "core"). */
export interface MisconfigTarget {
  serve(options: EngineServeOptions): Promise<{ port: number; close(options?: { timeout?: number }): Promise<void> }>;
  defineService: typeof DefineService;
}

/** A logger that keeps its warnings. */
function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    warnings,
    debug() {},
    info() {},
    warn(_context: LogContext, message: string) {
      warnings.push(message);
    },
    error() {},
  };
}

/** Runs `serve(options)` and returns the message it was refused with ("" when it started: then it is closed). */
async function refusal(target: MisconfigTarget, options: Record<string, unknown>): Promise<string> {
  try {
    const server = await target.serve({ port: 0, hostname: "127.0.0.1", logger: recordingLogger(), ...options } as EngineServeOptions);
    await server.close({ timeout: 100 });
    return "";
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** The misconfigurations of serve() and the fix each message must name. */
const REFUSED: Array<{ name: string; options: (t: MisconfigTarget) => Record<string, unknown>; fix: RegExp[] }> = [
  {
    name: "serve({ port }) with neither services nor fetch",
    options: () => ({ services: undefined }),
    fix: [/serve\(\) needs services \(\{ "\/chat": chat \}\) or a fetch handler \(or both\)/],
  },
  {
    name: "ws's path",
    options: (t) => ({ path: "/ws", services: { "/chat": t.defineService({ received() {} }) } }),
    fix: [/use services: \{ "\/ws": yourService \}/, /path is ws's option/],
  },
  {
    name: "ws's server, in serve()",
    options: (t) => ({ server: {}, services: { "/chat": t.defineService({ received() {} }) } }),
    fix: [/serve\(\) starts its own server; to use yours/],
  },
  {
    name: "ws's noServer, in serve()",
    options: (t) => ({ noServer: true, services: { "/chat": t.defineService({ received() {} }) } }),
    fix: [/serve\(\) starts its own server/],
  },
  {
    name: "ws's verifyClient",
    options: (t) => ({ verifyClient: () => true, services: { "/chat": t.defineService({ received() {} }) } }),
    fix: [/use the service's upgrade\(req\) gate/],
  },
  {
    name: "ws's handleProtocols",
    options: (t) => ({ handleProtocols: () => "chat", services: { "/chat": t.defineService({ received() {} }) } }),
    fix: [/use the service's protocols/],
  },
  {
    name: "ws's clientTracking",
    options: (t) => ({ clientTracking: true, services: { "/chat": t.defineService({ received() {} }) } }),
    fix: [/server\.connections/],
  },
  {
    name: "Bun.serve's websocket handlers",
    options: () => ({ websocket: { message() {} } }),
    fix: [/use services: \{ "\/ws": \{ received\(message, conn\)/, /option of Bun's serve/],
  },
  {
    name: "Bun.serve's maxPayloadLength",
    options: (t) => ({ maxPayloadLength: 1024, services: { "/chat": t.defineService({ received() {} }) } }),
    fix: [/use maxMessageSize/],
  },
  {
    name: "a misspelt key",
    options: () => ({ fecth: () => new Response("hi") }),
    fix: [/fecth/, /did you mean fetch\?/],
  },
];

/** Runs every check; each reports ok, or what went wrong. */
export async function runMisconfigChecks(target: MisconfigTarget, engines: ServeEngine[]): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const check = async (name: string, fn: () => Promise<void>) => {
    try {
      await fn();
      results.push({ name, ok: true });
    } catch (e) {
      results.push({ name, ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  };

  for (const { name, options, fix } of REFUSED) {
    await check(`refused at start: ${name}`, async () => {
      const message = await refusal(target, options(target));
      if (message === "") throw new Error("serve() started");
      for (const want of fix) if (!want.test(message)) throw new Error(`the message does not name the fix (${want}): ${message}`);
    });
  }

  await check("still accepted: a fetch handler alone, services alone, ws's maxPayload (an alias)", async () => {
    const fetchOnly = await refusal(target, { fetch: () => new Response("hi") });
    const servicesOnly = await refusal(target, { services: { "/chat": target.defineService({ received() {} }) }, maxPayload: 1024 });
    if (fetchOnly !== "" || servicesOnly !== "") throw new Error(`refused: ${fetchOnly} ${servicesOnly}`);
  });

  for (const engine of engines) {
    await check(`${engine}: a service with no hooks gets one warning at registration, naming the fix`, async () => {
      const logger = recordingLogger();
      const server = await target.serve({
        engine,
        port: 0,
        hostname: "127.0.0.1",
        logger,
        services: { "/ws": {}, "/gate": target.defineService({ upgrade() {} }), "/echo": target.defineService({ received() {} }) },
      });
      await server.close({ timeout: 100 });
      const about = logger.warnings.filter((w) => w.includes("has no hooks"));
      if (about.length !== 1) throw new Error(`${about.length} warnings about hooks: ${JSON.stringify(logger.warnings)}`);
      if (!/services\["\/ws"\] has no hooks: its messages wait for conn\.read\(\), which nothing calls; add received\(message, conn\)/.test(about[0]!)) {
        throw new Error(`the warning does not name the fix: ${about[0]}`);
      }
    });
  }
  return results;
}
