// TCP keepalive on an accepted connection (issue 26, system calls per handshake): the heartbeat (idleTimeout)
// already finds a peer that vanished without a FIN, sooner than the OS's keepalive would; the 4 setsockopt
// calls of setKeepAlive are made only for a connection whose idleTimeout is 0 (no heartbeat).
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { attach, defineService, silentLogger } from "@ws/node";

let server: http.Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** Opens one connection through attach({ noServer }) and returns the setKeepAlive calls made on its socket. */
async function keepAliveCalls(options: { idleTimeout?: number }): Promise<unknown[][]> {
  const echo = defineService({ received: (m, conn) => void conn.send(m), ...options });
  const ws = attach({ noServer: true, services: { "/": echo }, logger: silentLogger });
  const calls: unknown[][] = [];
  server = http.createServer();
  server.on("upgrade", (req, socket: Duplex & { setKeepAlive(...a: unknown[]): unknown }, head) => {
    const original = socket.setKeepAlive.bind(socket);
    socket.setKeepAlive = (...args: unknown[]) => (calls.push(args), original(...(args as [boolean, number])));
    void ws.handleUpgrade(req, socket, head);
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  await new Promise((resolve, reject) => client.once("open", resolve).once("error", reject));
  client.send("x");
  await new Promise((resolve) => client.once("message", resolve));
  client.terminate();
  return calls;
}

describe("TCP keepalive on accepted connections", () => {
  it("is left off when the heartbeat runs (the default idleTimeout)", async () => {
    expect(await keepAliveCalls({})).toEqual([]);
  });

  it("is turned on when idleTimeout is 0 (no heartbeat)", async () => {
    expect(await keepAliveCalls({ idleTimeout: 0 })).toEqual([[true, 60_000]]);
  });
});
