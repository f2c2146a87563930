/**
 * The fetch-style upgrade: inside a fetch handler, `upgrade(request, service, { data, headers })` decides the
 * upgrade (through ServerCore: routing skipped, validation, limits, the service's gate, its settings, refusal
 * logging) and resolves to the Response to return — the 101, or the refusal. The same call on every runtime and
 * engine: the fetch handler's second argument carries it (`info.upgrade`), and `upgrade` exported by @ws/core (and
 * every adapter) finds it from the request the handler was given, for code that only has the Request (a framework's
 * route handler).
 *
 * Rules (README "Upgrading from a fetch handler"):
 *  - the service's own `upgrade` gate still runs, with the request, after the handler's decision: a gate is part of
 *    the service (its authentication, its limits) wherever it is served. Its refusal is the Response; when it
 *    accepts, `data` given to the call wins over the gate's (the gate's is used when the call gives none), and the
 *    call's `headers` go on the 101 under the gate's;
 *  - one upgrade per request; the Response resolved must be the one the handler returns (a core engine writes the
 *    101 and opens the connection only then: a handler that returns another Response after all — a middleware
 *    that replaced it — refuses the upgrade with that Response, and the connection slot is freed);
 *  - registered services (by path, and `resolve`) come first: the fetch handler sees only the upgrade requests none
 *    of them claims.
 */
import type { Service, UpgradeDecision } from "./service.ts";
import type { ServerCore, UpgradeOutcome } from "./server.ts";
import { decidedRefusal, markDecided, refusalResponse, upgradeRequestFrom, type FetchUpgrade, type UpgradeOptions } from "./serve.ts";
import { asksForWebSocket, type UpgradeRequest } from "../wire/handshake.ts";

/** the upgrade of each request a server handed to a fetch handler (weak: it goes with the request) */
const offered = new WeakMap<Request, FetchUpgrade>();

/**
 * Makes `upgrade(request, …)` reach `upgrade` (a serving layer calls this before its fetch handler).
 *
 * @internal
 */
export function offerUpgrade(request: Request, upgrade: FetchUpgrade): void {
  offered.set(request, upgrade);
}

/**
 * `upgrade(request, …)` was given a Request that no `@ws` server handed to a fetch handler (a copy, or an app served
 * by something else): there is no socket to upgrade. A `TypeError`; a framework integration catches it by `name`
 * to say which server to use.
 *
 * @example
 * ```ts
 * import { defineService, NotServedError, upgrade } from "@ws/core";
 *
 * const echo = defineService({ received: (message, conn) => void conn.send(message) });
 * const copy = new Request("http://localhost/echo", { headers: { upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" } });
 * try {
 *   await upgrade(copy, echo);
 * } catch (error) {
 *   console.log(error instanceof NotServedError, (error as Error).name); // true "NotServedError"
 * }
 * ```
 */
export class NotServedError extends TypeError {
  override readonly name = "NotServedError";
}

/**
 * The fetch-style upgrade (see `FetchUpgrade`), for the request a server (`serve({ fetch })`, `attach(server, {
 * fetch })`, a Worker's `handler({ fetch })`) handed to its fetch handler: the same as the handler's
 * `info.upgrade`. Rejects with a TypeError for a request no server handed out (a copy made with `new Request(…)`).
 *
 * @example
 * ```ts
 * import { defineService, upgrade } from "@ws/core";
 *
 * const chat = defineService({ received: (message, conn) => void conn.send(message) });
 *
 * // a framework's route handler that has only the Request, under any adapter's serve({ fetch }) or attach(server, { fetch })
 * export async function chatRoute(request: Request): Promise<Response> {
 *   const user = request.headers.get("x-user");
 *   if (!user) return new Response("who are you?\n", { status: 401 });
 *   return upgrade(request, chat, { data: { user }, headers: { "x-chat-version": "2" } }); // return it as it is
 * }
 * ```
 */
export function upgrade<Data>(request: Request, service: Service<Data>, options?: UpgradeOptions<Data>): Promise<Response> {
  const offer = offered.get(request);
  if (!offer && !asksForWebSocket(request.headers)) return notAnUpgrade(request, service, options);
  if (!offer) {
    return Promise.reject(
      new NotServedError("upgrade(request, …) takes the Request a @ws server gave its fetch handler (serve({ fetch }), attach(server, { fetch }), handler({ fetch })), not a copy; or call the handler's info.upgrade"),
    );
  }
  return offer(request, service, options);
}

/**
 * The service an upgrade through `upgrade(request, service, options)` is decided and served by: `service` itself
 * (its hooks and settings, through its prototype) with a gate that runs the service's own, then applies the call's
 * `data` and `headers`. A fresh object per call: its settings are resolved for it.
 *
 * @internal
 */
export function serviceForCall(service: Service<unknown>, options: UpgradeOptions<unknown> | undefined): Service<unknown> {
  if (!options || (options.data === undefined && options.headers === undefined)) return service;
  const { data, headers } = options;
  const gate = async (req: Parameters<NonNullable<Service<unknown>["upgrade"]>>[0]): Promise<UpgradeDecision<unknown>> => {
    const decision = service.upgrade ? await service.upgrade(req) : undefined;
    if (decision === false || (decision && decision.reject !== undefined)) return decision;
    const own = decision || undefined;
    return {
      headers: headers ? { ...headers, ...own?.headers } : own?.headers,
      data: data !== undefined ? data : own?.data,
    };
  };
  return Object.create(service, { upgrade: { value: gate, enumerable: true } }) as Service<unknown>;
}

/**
 * What `upgrade()` resolves to on an engine that writes the 101 itself once the handler has returned (the core
 * engine on every runtime, Bun.serve's): a Response that reads as 101 Switching Protocols. (The fetch standard's
 * Response cannot be made with status 101.) Only the serving layer that made it acts on it.
 *
 * @internal
 */
export function switchingProtocols(): Response {
  const response = new Response(null, { status: 200 });
  try {
    Object.defineProperty(response, "status", { value: 101 });
    Object.defineProperty(response, "statusText", { value: "Switching Protocols" });
  } catch {
    // a runtime whose Response will not take it: the serving layer knows it by identity anyway
  }
  return response;
}

/** `info.upgrade` for a request that is not an upgrade (plain HTTP): a 426 refusal, never a connection. */
export const notAnUpgrade: FetchUpgrade = () =>
  Promise.resolve(
    new Response("not a WebSocket upgrade request\n", {
      status: 426,
      headers: { "Content-Type": "text/plain; charset=utf-8", Upgrade: "websocket", Connection: "close" },
    }),
  );

/** An accepted outcome of ServerCore's negotiation. */
type Accepted = Extract<UpgradeOutcome, { ok: true }>;

/** The Response of a refusal ServerCore wrote as bytes (`buildRejectResponse`): its status, headers and body. */
function refusalOf(outcome: Extract<UpgradeOutcome, { ok: false }>): Response {
  const text = new TextDecoder().decode(outcome.response);
  const end = text.indexOf("\r\n\r\n");
  const headers: Record<string, string> = {};
  for (const line of text.slice(0, end).split("\r\n").slice(1)) {
    const colon = line.indexOf(":");
    const name = line.slice(0, colon);
    if (name.toLowerCase() !== "content-length") headers[name] = line.slice(colon + 1).trim();
  }
  return markDecided(new Response(text.slice(end + 4), { status: outcome.status, headers }));
}

/**
 * One upgrade request handed to a fetch handler on the core engine (Node's serve/attach, Bun's and Deno's core
 * engine): `upgrade` (the handler's `info.upgrade`) negotiates through ServerCore (`negotiate`, with the service as
 * the route) and, when accepted, holds the outcome; once the handler has returned, `settle` says whether to write
 * the 101 (the handler returned the Response `upgrade` gave it) or the handler's Response as the refusal.
 *
 * @internal
 */
export class CoreFetchUpgrade {
  /** the handler's `info.upgrade` for this request */
  readonly upgrade: FetchUpgrade;
  private accepted: Accepted | null = null;
  private switching: Response | null = null;
  private called = false;
  private settled = false;
  private readonly core: ServerCore;
  private readonly request: Request;
  private readonly peer: { remoteAddress: string | undefined; remotePort: number | undefined };

  /**
   * `upgradeRequest`: the UpgradeRequest the decision reads, when it is not the one the handler's Request makes
   * (an HTTP/2 extended CONNECT, handed to the handler as a GET with `Upgrade: websocket`)
   */
  constructor(core: ServerCore, request: Request, remoteAddress: string | undefined, remotePort: number | undefined, upgradeRequest?: UpgradeRequest) {
    this.core = core;
    this.request = request;
    this.peer = { remoteAddress, remotePort };
    this.upgrade = async (given, service, options) => {
      if (this.called) throw new TypeError("upgrade() was called already for this request: one upgrade per request");
      this.called = true;
      // the request the handler was given (a framework may hand on another object for the same request)
      const req = upgradeRequest ?? upgradeRequestFrom(given, remoteAddress, remotePort);
      const outcome = await core.negotiate(req, { service: serviceForCall(service as Service<unknown>, options as UpgradeOptions<unknown>), params: {} });
      if (!outcome.ok) return refusalOf(outcome);
      if (this.settled) {
        // the handler returned before its upgrade was decided: nothing will write this 101
        outcome.release();
        return refusalResponse({ status: 500, reason: "the fetch handler returned before its upgrade() was decided" });
      }
      this.accepted = outcome;
      return (this.switching = switchingProtocols());
    };
    offerUpgrade(request, this.upgrade);
  }

  /**
   * What the handler returned: the accepted upgrade to write (it returned `upgrade`'s 101), or the Response to
   * write as the refusal (an accepted upgrade's connection slot is freed): the handler's own, or for a 2xx the
   * server's 404 (`unclaimedUpgrade`).
   */
  settle(response: Response): Accepted | Response {
    this.settled = true;
    const accepted = this.accepted;
    this.accepted = null;
    if (accepted && response === this.switching) return accepted;
    accepted?.release();
    if (isSuccess(response)) return unclaimedUpgrade(this.core, this.request, this.peer);
    handlerRefusal(this.core, this.request, response, this.peer);
    return response;
  }

  /** The handler failed: an accepted upgrade's connection slot is freed. */
  abandon(): void {
    this.settled = true;
    this.accepted?.release();
    this.accepted = null;
  }
}

/** A 2xx: what a handler answers with that neither upgraded nor refused (a catch-all page). */
function isSuccess(response: Response): boolean {
  return response.status >= 200 && response.status < 300;
}

/**
 * The answer to an upgrade request whose fetch handler returned a 2xx without upgrading (its catch-all route, a
 * page): the server's own "no WebSocket service here" (404, or 503 while shutting down), refused and logged by the
 * server core as an upgrade no service claims. A 3xx, 4xx or 5xx from the handler is the refusal as it is.
 */
export function unclaimedUpgrade(core: ServerCore, request: Request, peer: { remoteAddress?: string; remotePort?: number } = {}): Response {
  const verdict = core.decideNow(upgradeRequestFrom(request, peer.remoteAddress, peer.remotePort), null);
  // no route: refused at once, never a promise
  return verdict instanceof Promise || verdict.ok ? refusalResponse({ status: 404, reason: "no WebSocket service here" }) : refusalResponse(verdict);
}

/**
 * What a runtime engine returns for an upgrade request its fetch handler answered with `response` (not `upgrade()`'s
 * Response): a 2xx becomes the server's 404 (`unclaimedUpgrade`), anything else is returned as it is.
 *
 * @internal
 */
export function fetchAnswer(core: ServerCore, request: Request, response: Response, peer?: { remoteAddress?: string; remotePort?: number }): Response {
  if (isSuccess(response)) return unclaimedUpgrade(core, request, peer);
  handlerRefusal(core, request, response, peer);
  return response;
}

/** An upgrade request the fetch handler answered with its own 3xx, 4xx or 5xx: counted and logged as a refusal. */
function handlerRefusal(core: ServerCore, request: Request, response: Response, peer: { remoteAddress?: string; remotePort?: number } = {}): void {
  if (decidedRefusal(response)) return; // the decision's own (upgrade() refused): counted when it was made
  core.refusedElsewhere(upgradeRequestFrom(request, peer.remoteAddress, peer.remotePort), response.status, "refused by the fetch handler");
}
