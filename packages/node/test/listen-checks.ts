/**
 * Issue 22, point 5: a server that cannot listen raises ONE error class — `ListenError`, with `code`, `address`,
 * `port`, a message that names the port and the fix, and the runtime's own error as `cause` — the same on every
 * runtime and engine; and an option's error names the option as the user wrote it (an alias included). Run by
 * this package's test/listen.test.ts on Node and, inside Bun (both engines, both socket layers) and Deno (both
 * engines), by their test/fixtures/listen.ts. Only node:net and node:process, which all three have.
 */
import * as net from "node:net";
import process from "node:process";
import type { EngineServeOptions, ListenError as ListenErrorClass, ServeEngine, defineService as DefineService } from "@ws/core";
import type { CheckResult } from "./hostile-checks.ts";

/** What the checks use of an adapter module: serve() with an engine (Node's has one: "core"), connect(), the error classes. */
export interface ListenTarget {
  serve(options: EngineServeOptions): Promise<{ port: number; close(options?: { timeout?: number }): Promise<void> }>;
  connect(url: string, options?: Record<string, unknown>): Promise<{ close(): unknown }>;
  defineService: typeof DefineService;
  ListenError: typeof ListenErrorClass;
  InvalidOptionError: typeof Error;
}

/** A listen check's outcome; `skipped` says why it could not be provoked here (it then counts as passed). */
export type ListenCheckResult = CheckResult & { skipped?: string };

class Skip extends Error {}

const silent = { info() {}, warn() {}, error() {} };

/** A port held by a plain TCP server on 127.0.0.1 until `close()`. */
async function occupiedPort(): Promise<{ port: number; close(): Promise<void> }> {
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
  return {
    port: (holder.address() as net.AddressInfo).port,
    close: () => new Promise<void>((resolve) => holder.close(() => resolve())),
  };
}

/** What serve() threw or rejected with; throws if it listened (after closing the server). */
async function failure(target: ListenTarget, options: EngineServeOptions): Promise<unknown> {
  try {
    const server = await target.serve(options);
    await server.close({ timeout: 100 });
  } catch (error) {
    return error;
  }
  throw new Error(`serve(${JSON.stringify({ ...options, services: undefined, logger: undefined })}) listened`);
}

/** Asserts that `error` is a ListenError with these fields, a message naming `where` and the `fix`, and a cause. */
function expectListenError(target: ListenTarget, error: unknown, want: { code: string; address: string; port: number; fix: RegExp; cause?: boolean }): void {
  const e = error as InstanceType<typeof ListenErrorClass>;
  const said = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  if (typeof target.ListenError !== "function" || !(error instanceof target.ListenError)) throw new Error(`not a ListenError: ${said}`);
  if (e.name !== "ListenError") throw new Error(`name ${e.name}`);
  if (e.code !== want.code) throw new Error(`code ${e.code}, not ${want.code}: ${said}`);
  if (e.address !== want.address) throw new Error(`address ${e.address}, not ${want.address}`);
  if (e.port !== want.port) throw new Error(`port ${e.port}, not ${want.port}`);
  const where = `${want.address}:${want.port}`;
  if (!e.message.includes(`cannot listen on ${where}: `)) throw new Error(`the message does not name ${where}: ${said}`);
  if (!want.fix.test(e.message)) throw new Error(`the message does not name the fix (${want.fix}): ${said}`);
  if ((want.cause ?? true) && e.cause === undefined) throw new Error("no cause (the runtime's own error)");
}

/** What `run()` threw or rejected with (undefined: nothing). */
async function thrown(run: () => unknown): Promise<unknown> {
  try {
    const result = await run();
    (result as { close?(): unknown } | undefined)?.close?.();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** Runs each check on each engine of `target`. `engines` lists those serve() takes (Node: ["core"]). */
export async function runListenChecks(target: ListenTarget, engines: ServeEngine[]): Promise<ListenCheckResult[]> {
  const results: ListenCheckResult[] = [];
  const services = { "/": target.defineService({ received() {} }) };
  const check = async (engine: ServeEngine, name: string, run: () => Promise<void>) => {
    try {
      await run();
      results.push({ name: `${engine}: ${name}`, ok: true });
    } catch (e) {
      if (e instanceof Skip) results.push({ name: `${engine}: ${name}`, ok: true, skipped: e.message });
      else results.push({ name: `${engine}: ${name}`, ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  };

  for (const engine of engines) {
    const base = { engine, logger: silent, services };

    await check(engine, "a port in use: ListenError EADDRINUSE, with the address and the port", async () => {
      const held = await occupiedPort();
      try {
        const error = await failure(target, { ...base, hostname: "127.0.0.1", port: held.port });
        expectListenError(target, error, { code: "EADDRINUSE", address: "127.0.0.1", port: held.port, fix: /port is in use.*pick another port/ });
      } finally {
        await held.close();
      }
    });

    await check(engine, "a privileged port without the privilege: ListenError EACCES", async () => {
      // tests often run as root, who may listen on any port: drop the effective uid for this one call
      const root = process.geteuid?.() === 0;
      if (root && !process.seteuid) throw new Skip("root, and no seteuid to drop the privilege");
      let error: unknown;
      try {
        if (root) process.seteuid!(65534);
        error = await thrown(() => target.serve({ ...base, hostname: "127.0.0.1", port: 80 }).then((s) => s.close({ timeout: 100 })));
      } finally {
        if (root) process.seteuid!(0);
      }
      if (error === undefined) throw new Skip("port 80 is open to this user here (net.ipv4.ip_unprivileged_port_start)");
      expectListenError(target, error, { code: "EACCES", address: "127.0.0.1", port: 80, fix: /permission denied.*port of 1024 or more/ });
    });

    await check(engine, "a host that is no IP address and does not resolve: ListenError ENOTFOUND", async () => {
      for (const hostname of ["256.1.1.1", "no-such-host.invalid"]) {
        const error = await failure(target, { ...base, hostname, port: 0 });
        expectListenError(target, error, { code: "ENOTFOUND", address: hostname, port: 0, fix: /nor a name that resolves.*check the hostname option/ });
      }
    });

    await check(engine, "an address that is not this machine's: ListenError EADDRNOTAVAIL", async () => {
      // 192.0.2.1: TEST-NET-1 (RFC 5737), never a real host's
      const error = await failure(target, { ...base, hostname: "192.0.2.1", port: 0 });
      expectListenError(target, error, { code: "EADDRNOTAVAIL", address: "192.0.2.1", port: 0, fix: /not one of this machine's/ });
    });

    await check(engine, "tls files' paths instead of their PEM text, or a corrupt PEM: ListenError ETLS naming the field", async () => {
      const paths = await failure(target, { ...base, hostname: "127.0.0.1", port: 0, tls: { key: "/nonexistent/key.pem", cert: "/nonexistent/cert.pem" } });
      expectListenError(target, paths, { code: "ETLS", address: "127.0.0.1", port: 0, fix: /tls\.cert is not PEM text .*is a path: pass the file's contents/, cause: false });
      const corrupt = "-----BEGIN CERTIFICATE-----\nthis is not base64!\n-----END CERTIFICATE-----\n";
      const bad = await failure(target, { ...base, hostname: "127.0.0.1", port: 0, tls: { key: corrupt.replaceAll("CERTIFICATE", "PRIVATE KEY"), cert: corrupt } });
      expectListenError(target, bad, { code: "ETLS", address: "127.0.0.1", port: 0, fix: /TLS key or certificate cannot be used/, cause: false });
    });

    await check(engine, "a PEM whose contents are no key or certificate: ListenError ETLS, the runtime's own error as its cause", async () => {
      const pem = (label: string) => `-----BEGIN ${label}-----\nAAAAAAAAAAAAAAAAAAAAAAAA\n-----END ${label}-----\n`;
      const error = await failure(target, { ...base, hostname: "127.0.0.1", port: 0, tls: { key: pem("PRIVATE KEY"), cert: pem("CERTIFICATE") } });
      expectListenError(target, error, { code: "ETLS", address: "127.0.0.1", port: 0, fix: /TLS key or certificate cannot be used/ });
    });

    await check(engine, 'maxPayload: "1mb" (ws\'s name) is reported under that name, by serve() and by connect()', async () => {
      const served = await thrown(() => target.serve({ ...base, hostname: "127.0.0.1", port: 0, maxPayload: "1mb" as unknown as number }));
      if (!(served instanceof target.InvalidOptionError) || !served.message.startsWith('maxPayload: "1mb" is not allowed')) {
        throw new Error(`serve(): ${served instanceof Error ? served.message : String(served)}`);
      }
      const connected = await thrown(() => target.connect("ws://127.0.0.1:1/", { maxPayload: "1mb" }));
      if (!(connected instanceof target.InvalidOptionError) || !connected.message.startsWith('maxPayload: "1mb" is not allowed')) {
        throw new Error(`connect(): ${connected instanceof Error ? connected.message : String(connected)}`);
      }
    });
  }
  return results;
}
