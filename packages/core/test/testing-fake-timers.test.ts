/** @ws/core/testing under fake timers, as the README says: advance them while a client opens; messages need none. */
import { afterEach, expect, it, vi } from "vitest";
import { defineService } from "../src/index.ts";
import { testServer } from "../src/testing.ts";

afterEach(() => void vi.useRealTimers());

it("a client opens while fake timers are advanced; messages then flow without advancing them; idleTimeout is the fake clock's", async () => {
  vi.useFakeTimers();
  const echo = defineService({ idleTimeout: 10_000, received: (message, conn) => void conn.send(message) });
  const server = testServer({ services: { "/echo": echo } });
  const opening = server.connect("/echo", { idleTimeout: 0 });
  await vi.advanceTimersByTimeAsync(1);
  const client = await opening;
  await client.send("hi");
  expect(await client.next()).toBe("hi");
  // the server's keepalive pings after 5 s of silence: the client's automatic pong answers, so it stays open
  await vi.advanceTimersByTimeAsync(30_000);
  expect(client.connection.readyState).toBe("open");
  const closing = server.close();
  await vi.advanceTimersByTimeAsync(1);
  await closing;
  expect((await client.closed).code).toBe(1001);
});
