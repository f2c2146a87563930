/**
 * The fetch-style upgrade's core (server/fetch-upgrade.ts): `upgrade(request, …)` finds the upgrade a server offered
 * for the request, the call's data and headers over the gate's, and CoreFetchUpgrade's accounting — an upgrade the
 * handler does not return frees its connection slot, a 2xx without upgrading is the server's 404, the gate's refusal
 * keeps its status, headers and body.
 */
import { describe, expect, it } from "vitest";
import { defineService, NotServedError, silentLogger, upgrade } from "../src/index.ts";
import { CoreFetchUpgrade, ServerCore, serviceForCall } from "../src/adapter.ts";

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

// the fetch API as the test runtime has it (core's own globals declare only what core uses of it)
const FetchRequest = (globalThis as unknown as { Request: new (url: string, init?: { headers?: Record<string, string> }) => Request }).Request;
type FullResponse = Response & { headers: Headers; text(): Promise<string> };

function upgradeRequest(path = "/chat", headers: Record<string, string> = {}): Request {
  return new FetchRequest(`http://localhost${path}`, {
    headers: { Host: "localhost", Upgrade: "websocket", Connection: "Upgrade", "Sec-WebSocket-Key": KEY, "Sec-WebSocket-Version": "13", ...headers },
  });
}

describe("upgrade(request, service, options)", () => {
  it("a plain request gets 426; a WebSocket request no server offered is a TypeError naming the fix", async () => {
    const service = defineService({ received: () => {} });
    expect((await upgrade(new FetchRequest("http://localhost/"), service)).status).toBe(426);
    await expect(upgrade(upgradeRequest(), service)).rejects.toThrow(/the Request a @ws server gave its fetch handler/);
  });

  it("reaches the upgrade the server offered for the request", async () => {
    const core = new ServerCore({ logger: silentLogger });
    const request = upgradeRequest();
    const call = new CoreFetchUpgrade(core, request, "127.0.0.1", 1);
    const response = await upgrade(request, defineService({ received: () => {} }));
    expect(response.status).toBe(101);
    expect(core.pendingUpgrades).toBe(1);
    const accepted = call.settle(response);
    expect(accepted).not.toBeInstanceOf(Response);
    if (!(accepted instanceof Response)) accepted.release();
    expect(core.pendingUpgrades).toBe(0);
  });
});

describe("serviceForCall", () => {
  it("the gate runs first: its refusal stands; the call's data wins over the gate's, the gate's headers over the call's", async () => {
    const gated = defineService<{ who: string }>({
      upgrade: (req) => (req.headers.get("x-open") ? { data: { who: "gate" }, headers: { "x-a": "gate" } } : { reject: 401 }),
      received: () => {},
    });
    const derived = serviceForCall(gated, { data: { who: "call" }, headers: { "x-a": "call", "x-b": "call" } });
    expect(derived.received).toBe(gated.received);
    const open = { headers: new Headers({ "x-open": "1" }) } as never;
    expect(await derived.upgrade!(open)).toEqual({ data: { who: "call" }, headers: { "x-a": "gate", "x-b": "call" } });
    expect(await derived.upgrade!({ headers: new Headers() } as never)).toEqual({ reject: 401 });
    expect(await serviceForCall(gated, { headers: { "x-b": "call" } }).upgrade!(open)).toEqual({ data: { who: "gate" }, headers: { "x-a": "gate", "x-b": "call" } });
  });
});

describe("CoreFetchUpgrade", () => {
  it("an accepted upgrade the handler does not return frees its slot, and that Response is the answer", async () => {
    const core = new ServerCore({ logger: silentLogger, maxConnections: 1 });
    const request = upgradeRequest();
    const call = new CoreFetchUpgrade(core, request, undefined, undefined);
    expect((await call.upgrade(request, defineService({ received: () => {} }))).status).toBe(101);
    expect(core.pendingUpgrades).toBe(1);
    const redirect = new Response(null, { status: 302, headers: { Location: "/" } });
    expect(call.settle(redirect)).toBe(redirect);
    expect(core.pendingUpgrades).toBe(0);
  });

  it("a 2xx without upgrading is the server's 404; the gate's refusal keeps its status, headers and body; one upgrade per request", async () => {
    const core = new ServerCore({ logger: silentLogger });
    const request = upgradeRequest();
    const call = new CoreFetchUpgrade(core, request, undefined, undefined);
    const gate = defineService({ upgrade: () => ({ reject: 401, reason: "who are you", headers: { "WWW-Authenticate": "Bearer" } }), received: () => {} });
    const refused = (await call.upgrade(request, gate)) as FullResponse;
    expect(refused.status).toBe(401);
    expect(refused.headers.get("www-authenticate")).toBe("Bearer");
    expect(await refused.text()).toBe("who are you\n");
    await expect(call.upgrade(request, gate)).rejects.toThrow(/one upgrade per request/);
    const page = call.settle(new Response("a page"));
    expect(page).toBeInstanceOf(Response);
    expect((page as Response).status).toBe(404);
  });

  it("maxConnections: the upgrade is refused with 503 while the slots are taken", async () => {
    const core = new ServerCore({ logger: silentLogger, maxConnections: 1 });
    const first = upgradeRequest();
    await new CoreFetchUpgrade(core, first, undefined, undefined).upgrade(first, defineService({ received: () => {} }));
    const second = upgradeRequest();
    expect((await new CoreFetchUpgrade(core, second, undefined, undefined).upgrade(second, defineService({ received: () => {} }))).status).toBe(503);
  });
  it("every refused upgrade is counted once (upgradeRefused): the handler's own 401, upgrade()'s refusal, an unclaimed 2xx", async () => {
    const refused: number[] = [];
    const core = new ServerCore({ logger: silentLogger, metrics: { upgradeRefused: (status) => void refused.push(status) } });
    // the handler's middleware answers 401 without calling upgrade()
    const a = upgradeRequest();
    new CoreFetchUpgrade(core, a, undefined, undefined).settle(new Response("log in", { status: 401 }));
    expect(refused).toEqual([401]);
    // upgrade() refused by the gate, and the handler returns that refusal: counted by the decision, not again
    const b = upgradeRequest();
    const call = new CoreFetchUpgrade(core, b, undefined, undefined);
    const gate = defineService({ upgrade: () => ({ reject: 403 }), received: () => {} });
    call.settle(await call.upgrade(b, gate));
    expect(refused).toEqual([401, 403]);
    // a 2xx page: the server's 404, once
    const c = upgradeRequest();
    new CoreFetchUpgrade(core, c, undefined, undefined).settle(new Response("a page"));
    expect(refused).toEqual([401, 403, 404]);
  });
});

describe("upgrade() without a @ws server", () => {
  it("rejects a Request no server handed out with NotServedError (a TypeError, named), saying what to call", async () => {
    const error = await upgrade(upgradeRequest(), defineService({ received: () => {} })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotServedError);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).name).toBe("NotServedError");
    expect((error as Error).message).toMatch(/info\.upgrade/);
  });
});
