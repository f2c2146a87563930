/**
 * Issue 21, defect 9: a `resolve()` that returns a new service object per request. ServerCore keeps one pair
 * of listeners per service (shared by its connections); once a service's connections have all closed, the
 * server must not keep that service (nor its listeners) alive. Asserted with weak references and a full
 * garbage collection (`gc`, exposed at run time through V8's flag): every closed service is collectable.
 */
import { describe, expect, it } from "vitest";
import { defineService, silentLogger, type Connection, type Service } from "../src/index.ts";
import { connectOverStream, ServerCore } from "../src/adapter.ts";
import { memoryPair } from "./support/memory-stream.ts";
import { serveStream } from "./support/serve-stream.ts";

// node:v8 and node:vm loaded dynamically, so the core's type-check (no Node typings) stays honest (vitest runs on Node)
const v8 = (await import("node:v8" as string)) as { setFlagsFromString(flags: string): void };
const vm = (await import("node:vm" as string)) as { runInNewContext(code: string): unknown };
v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** Opens a connection over a memory stream, exchanges one message, closes it; returns a weak ref to its service. */
async function oneConnection(core: ServerCore, made: Array<Service<unknown>>): Promise<WeakRef<Service<unknown>>> {
  const [a, b] = memoryPair();
  const served = serveStream(core, a);
  const client = await connectOverStream(b, "ws://localhost/any", { logger: silentLogger });
  const conn = (await served) as Connection;
  const echoed = new Promise<void>((resolve) => client.onMessage(() => resolve()));
  await client.send("hi");
  await echoed;
  const closed = conn.closed;
  await client.close(1000, "bye");
  await closed;
  const service = made.pop()!;
  return new WeakRef(service);
}

describe("hostile: a new service object per request (resolve)", () => {
  it("keeps nothing of a service once its connections have closed", async () => {
    const made: Array<Service<unknown>> = [];
    const core = new ServerCore({
      services: {},
      resolve: () => {
        const service = defineService({
          received: (message, conn) => void conn.send(message),
          disconnected: () => {},
          error: () => {},
          // a little weight of its own, as a real per-request service would carry (state, closures)
          state: new Uint8Array(1024),
        } as Parameters<typeof defineService>[0]);
        made.push(service);
        return service;
      },
      logger: silentLogger,
    });
    const refs: Array<WeakRef<Service<unknown>>> = [];
    for (let i = 0; i < 200; i++) refs.push(await oneConnection(core, made));
    expect(core.connections.size).toBe(0);
    expect(made).toEqual([]);

    for (let i = 0; i < 5; i++) {
      await tick();
      gc();
    }
    const alive = refs.filter((r) => r.deref() !== undefined).length;
    expect(alive).toBe(0);
    await core.close({ timeout: 100 });
  });
});
