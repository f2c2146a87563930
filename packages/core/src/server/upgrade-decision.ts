/**
 * The upgrade decision: what a server answers an upgrade request before anything is written. Route (the
 * caller's), validate (RFC 6455 §4.2.1), limit (maxConnections, counting the upgrades not yet open), gate (the
 * service's `upgrade` hook, bounded by handshakeTimeout), subprotocol; a refusal is logged (RefusalLog) and
 * metered. `acceptResponse` then negotiates permessage-deflate and builds the 101. ServerCore (server.ts) owns
 * one and opens the connections it accepts.
 */
import type { ByteStream } from "../session/byte-stream.ts";
import type { Connection } from "../session/connection.ts";
import type { Logger } from "../session/errors.ts";
import { logText } from "../session/log-text.ts";
import { meter, type MetricsHooks } from "../session/metrics.ts";
import type { Settings } from "../settings/resolve.ts";
import {
  buildAcceptResponse,
  selectProtocol,
  validateUpgradeRequest,
  type ExtensionOffer,
  type UpgradeRequest,
} from "../wire/handshake.ts";
import {
  describeAgreement,
  negotiateDeflateServer,
  PerMessageDeflate,
  type DeflateCodec,
  type PerMessageDeflateOptions,
} from "../wire/deflate.ts";
import type { RefusalLog } from "./refusal-log.ts";
import type { RouteMatch } from "./router.ts";
import type { Service } from "./service.ts";

/**
 * What the server decides about an upgrade request before anything is written: a refusal (status, reason,
 * headers), or the service, the selected subprotocol, the gate's headers and data, and the validated
 * handshake. Engines that complete the handshake themselves (a runtime's built-in WebSocket) act on this.
 */
export type UpgradeVerdict =
  | { ok: false; status: number; reason: string; headers?: Record<string, string> }
  | {
      ok: true;
      service: Service<unknown>;
      protocol: string | null;
      /** extra response headers from the upgrade gate */
      headers: Record<string, string>;
      /** the upgrade gate's data for the connection */
      data: unknown;
      /** the client's Sec-WebSocket-Key */
      key: string;
      /** the client's extension offers */
      extensions: ExtensionOffer[];
      /**
       * the connection slot held for this upgrade (it counts against maxConnections): `adopt` takes it over;
       * an engine that does not open the connection after all (the client went away) must release it
       */
      slot: ConnectionSlot;
    };

/** A place counted against maxConnections from the upgrade decision until the connection is adopted. */
export interface ConnectionSlot {
  /** Frees the slot (once; later calls do nothing). */
  release(): void;
}

/** The outcome of an upgrade request: an HTTP error response, or the 101 response and how to proceed. */
export type UpgradeOutcome =
  | {
      ok: false;
      status: number;
      reason: string;
      /** the HTTP/1.1 response (head and body) */
      response: Uint8Array;
      /** the refusal's own header fields (the gate's), for an adapter that writes the response itself (HTTP/2) */
      headers?: Record<string, string>;
    }
  | {
      ok: true;
      protocol: string | null;
      /** the 101 response head */
      response: Uint8Array;
      /**
       * the response's header fields besides the handshake's own (Upgrade, Connection, Sec-WebSocket-Accept):
       * Sec-WebSocket-Protocol, Sec-WebSocket-Extensions and the gate's; what an HTTP/2 200 carries (RFC 8441 §5)
       */
      headers: Record<string, string>;
      /** writes the 101 response to `stream`, then opens the connection (`head`: bytes read past the request) */
      accept(stream: ByteStream, head?: Uint8Array): Connection<unknown>;
      /** opens the connection on `stream` whose response the adapter has written itself (an HTTP/2 stream's 200) */
      open(stream: ByteStream): Connection<unknown>;
      /** the upgrade will not be accepted after all (the socket went away): frees its connection slot */
      release(): void;
    };

const TIMED_OUT = Symbol("timed out");

/** No headers from the gate (shared, never written to). */
const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** What validateUpgradeRequest accepted. */
type ValidUpgrade = Extract<ReturnType<typeof validateUpgradeRequest>, { ok: true }>;

/** What the decision reads of its server. */
export interface UpgradeDecisionContext {
  /** the server's settings (maxConnections, handshakeTimeout) */
  readonly settings: Settings;
  /** the open connections (they count against maxConnections) */
  readonly connections: ReadonlySet<unknown>;
  readonly logger: Logger;
  /** refused upgrades: at debug each, at info one line per interval */
  readonly refusals: RefusalLog;
  readonly metrics: Partial<MetricsHooks> | undefined;
  /** a failure with no connection (an upgrade gate) to the server's `onError`, guarded */
  failed(error: unknown): void;
}

/** The decisions of one server: the connection slots it holds, whether it still takes upgrades. */
export class UpgradeDecision {
  private readonly context: UpgradeDecisionContext;
  /** upgrades decided (or at the gate) and not yet adopted: they count against maxConnections */
  private reserved = 0;
  /** the server is shutting down: every upgrade is refused (503) */
  closing = false;

  constructor(context: UpgradeDecisionContext) {
    this.context = context;
  }

  /** Upgrades decided or at the gate, not yet open. */
  get pending(): number {
    return this.reserved;
  }

  /**
   * Decides an upgrade request `route`d by the caller: validate, limit, gate, subprotocol. Sets `req.params`
   * before the gate runs. Synchronous unless the service has an upgrade gate. Never throws.
   */
  decide(req: UpgradeRequest, route: RouteMatch | null): UpgradeVerdict | Promise<UpgradeVerdict> {
    if (this.closing) return this.refuse(req, 503, "the server is shutting down");
    if (!route) return this.refuse(req, 404, `no WebSocket service at ${req.url.split("?")[0]}`);
    const service = route.service;
    req.params = route.params;
    const valid = validateUpgradeRequest(req);
    if (!valid.ok) return this.refuse(req, valid.status, valid.reason, valid.headers);
    if (this.context.connections.size + this.reserved >= this.context.settings.maxConnections) return this.refuse(req, 503, "too many connections");
    // the slot is held from here: upgrades waiting at the gate or for their socket count as connections
    const slot = this.reserve();
    if (!service.upgrade) return this.accepted(req, service, valid, slot, NO_HEADERS, undefined);
    return this.gate(req, service, valid, slot);
  }

  private reserve(): ConnectionSlot {
    this.reserved++;
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        this.reserved--;
      },
    };
  }

  private refuse(req: UpgradeRequest, status: number, reason: string, headers?: Record<string, string>): UpgradeVerdict {
    this.record(req, status, reason);
    return { ok: false, status, reason, headers };
  }

  /**
   * Counts and logs a refusal (the refusal log, the `upgradeRefused` metric): those the decision makes, and those a
   * fetch handler answers an upgrade request with instead of upgrading (its middleware's 401, a redirect).
   */
  record(req: UpgradeRequest, status: number, reason: string): void {
    this.context.refusals.record(status, reason, req);
    if (this.context.metrics !== undefined) meter(this.context.metrics, "upgradeRefused", status, req);
  }

  private accepted(req: UpgradeRequest, service: Service<unknown>, valid: ValidUpgrade, slot: ConnectionSlot, headers: Record<string, string>, data: unknown): UpgradeVerdict {
    if (this.closing) return (slot.release(), this.refuse(req, 503, "the server is shutting down"));
    const protocol = selectProtocol(valid.protocols, service.protocols);
    return { ok: true, service, protocol, headers, data, key: valid.key, extensions: valid.extensions, slot };
  }

  /** The service's upgrade gate, bounded by handshakeTimeout. */
  private async gate(req: UpgradeRequest, service: Service<unknown>, valid: ValidUpgrade, slot: ConnectionSlot): Promise<UpgradeVerdict> {
    const refuse = (status: number, reason: string, headers?: Record<string, string>) => this.refuse(req, status, reason, headers);
    const handshakeTimeout = this.context.settings.handshakeTimeout;
    let decision;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const timedOut = new Promise<typeof TIMED_OUT>((resolve) => {
        timer = setTimeout(() => resolve(TIMED_OUT), handshakeTimeout);
        (timer as { unref?: () => void }).unref?.();
      });
      decision = await Promise.race([service.upgrade!(req), timedOut]);
    } catch (e) {
      slot.release();
      this.context.logger.error({ err: e, url: logText(req.url) }, `upgrade gate failed: ${e instanceof Error ? e.message : String(e)}`);
      this.context.failed(e);
      return refuse(500, "upgrade gate failed");
    } finally {
      clearTimeout(timer);
    }
    if (decision === TIMED_OUT) {
      slot.release(); // the gate's late answer, if it ever comes, is ignored
      return refuse(503, `the upgrade gate did not answer within ${handshakeTimeout} ms`);
    }
    if (decision === false) return (slot.release(), refuse(403, "upgrade refused"));
    if (decision && decision.reject !== undefined) {
      slot.release();
      return refuse(decision.reject, decision.reason ?? "upgrade refused", decision.headers);
    }
    return this.accepted(req, service, valid, slot, decision?.headers ?? NO_HEADERS, decision?.data);
  }
}

/**
 * The 101 for an accepted upgrade: permessage-deflate negotiated (RFC 7692) when the server offers it
 * (`perMessageDeflate`) and has a `codec`, the response head with `acceptKey`'s Sec-WebSocket-Accept.
 */
export function acceptResponse(
  verdict: Extract<UpgradeVerdict, { ok: true }>,
  perMessageDeflate: boolean | PerMessageDeflateOptions | undefined,
  codec: DeflateCodec | undefined,
  acceptKey: ((key: string) => string) | undefined,
): { response: string; deflate: PerMessageDeflate | undefined; extensions: string; headers: Record<string, string> } {
  let deflate: PerMessageDeflate | undefined;
  let extensions = "";
  if (perMessageDeflate && codec) {
    const settings = perMessageDeflate === true ? {} : perMessageDeflate;
    const agreed = negotiateDeflateServer(verdict.extensions, settings);
    if (agreed) {
      deflate = new PerMessageDeflate(agreed.agreement, codec, settings);
      extensions = describeAgreement(agreed.response);
    }
  }
  const headers = extensions ? { "Sec-WebSocket-Extensions": extensions, ...verdict.headers } : verdict.headers;
  const all = verdict.protocol ? { "Sec-WebSocket-Protocol": verdict.protocol, ...headers } : headers;
  // HTTP/2 (no key): the 200's header fields only, no 101 head
  const response = verdict.key === "" ? "" : buildAcceptResponse({ key: verdict.key, protocol: verdict.protocol, accept: acceptKey, headers });
  return { response, deflate, extensions, headers: all };
}
