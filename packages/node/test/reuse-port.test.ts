/**
 * Issue 26, "every core", on Node: `reusePort` where the runtime's net.Server.listen() would ignore it (Node before
 * 22.12 / 23.1, this machine's Node 20) is refused at start, naming the fix (@ws/node/cluster's runPrimary), and
 * so is `reusePort` with attach() (the server you attach to listens); `reusePort: false` (the default) and a bad
 * value are handled as every other setting. Bun and Deno, which honour it, are tested in their packages.
 */
import * as http from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { attach, defineService, InvalidOptionError, serve } from "../src/index.ts";

const echo = defineService({ received: (message, conn) => void conn.send(message) });
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
const nodeHasReusePort = major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

describe("reusePort on Node", () => {
  it.skipIf(nodeHasReusePort)("is refused by serve() on a Node whose listen() has no reusePort, naming @ws/node/cluster's runPrimary", async () => {
    const error = await serve({ port: 0, hostname: "127.0.0.1", services: { "/echo": echo }, logger: quiet, reusePort: true }).then(
      (server) => {
        closers.push(() => server.close({ timeout: 100 }));
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as Error).message).toMatch(/^reusePort: true is not allowed; expected false on Node \d+\..*22\.12.*@ws\/node\/cluster's runPrimary\(\)/);
  });

  it("is refused by attach(): the server attached to does the listening", () => {
    const server = http.createServer();
    expect(() => attach(server, { services: { "/echo": echo }, logger: quiet, reusePort: true })).toThrow(/reusePort: true is not allowed; expected false with attach\(\).*listen\(\)/);
  });

  it("false (the default) serves as before; a value that is not a boolean is refused", async () => {
    const server = await serve({ port: 0, hostname: "127.0.0.1", services: { "/echo": echo }, logger: quiet, reusePort: false });
    closers.push(() => server.close({ timeout: 100 }));
    expect(server.port).toBeGreaterThan(0);
    await expect(serve({ port: 0, services: { "/echo": echo }, logger: quiet, reusePort: "yes" as unknown as boolean })).rejects.toThrow(/reusePort: "yes" is not allowed; expected true or false/);
  });
});
