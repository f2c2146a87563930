/**
 * The runtime engine on Deno: Deno.upgradeWebSocket's WebSocket mapped onto the Connection API. For people who
 * already run `Deno.serve`:
 *
 *   const ws = denoWebSocket({ services: { "/chat": chat } });
 *   Deno.serve(async (req, info) => (await ws.upgrade(req, info)) ?? new Response("hello"));
 *
 * Deno's WebSocket has no ping/pong API, no frame access and no way to abort the TCP connection; those
 * Connection methods throw UnsupportedError (see the README's feature table).
 */
import { type FetchInfo, type FetchUpgrade, type ServerControls, type ServerOptions, type UpgradeRequest } from "@ws/core";
import {
  fetchAnswer,
  isWebSocketRequest,
  notAnUpgrade,
  offerUpgrade,
  RuntimeServer,
  refusalResponse,
  serviceForCall,
  upgradeRequestFrom,
  webSocketOnlyResponse,
  type RouteMatch,
  type RuntimeSocket,
  type UpgradeVerdict,
} from "@ws/core/adapter";

const ENGINE = "Deno.upgradeWebSocket";

export type DenoWebSocketOptions = ServerOptions;

export interface DenoWebSocket extends ServerControls {
  /**
   * Call from Deno.serve's handler: `null` when the request is not a WebSocket upgrade (answer it yourself),
   * otherwise the Response to return (the 101 that completes the upgrade, or the refusal).
   */
  upgrade(request: Request, info?: Deno.ServeHandlerInfo): Promise<Response | null>;
  /**
   * The whole of Deno.serve's handler: an upgrade a registered service claims is decided here; any other request
   * goes to `fetch` (426 without one), whose `info.upgrade(request, service, { data })` — or `upgrade(request, …)`
   * from @ws/deno — upgrades it (Deno.upgradeWebSocket underneath) and gives the 101 to return.
   */
  handle(request: Request, info: Deno.ServeHandlerInfo | undefined, fetch?: (request: Request, info: FetchInfo) => Response | Promise<Response>): Promise<Response>;
}

/**
 * Builds the upgrade step for Deno.serve.
 *
 * @example
 * ```ts
 * import { defineService, denoWebSocket } from "@ws/deno";
 *
 * const echo = defineService({ received: (message, conn) => void conn.send(message) });
 * const ws = denoWebSocket({ services: { "/echo": echo } });
 * Deno.serve({ port: 8080 }, async (req, info) => (await ws.upgrade(req, info)) ?? new Response("hello"));
 * ```
 */
export function denoWebSocket(options: DenoWebSocketOptions): DenoWebSocket {
  const state = new RuntimeServer(options, ENGINE);
  state.core.warnHooklessServices();
  // Deno has no topics of its own: the server's RuntimeHub sends to each subscriber
  if (options.perMessageDeflate) state.logger.warn({}, `${ENGINE} does not support permessage-deflate; it stays off`);

  const socketFor = (ws: WebSocket): RuntimeSocket => ({
    engineName: ENGINE,
    sendText(text) {
      ws.send(text);
      return true;
    },
    sendBinary(bytes) {
      ws.send(bytes);
      return true;
    },
    close: (code, reason) => ws.close(code, reason),
    // no API to abort the TCP connection: a close frame is the most Deno's WebSocket can do
    terminate() {
      if (ws.readyState === WebSocket.OPEN) ws.close(1000);
    },
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
    hasDrainEvent: false,
  });

  const upgrade: DenoWebSocket["upgrade"] = async (request, info) => {
    if (!isWebSocketRequest(request)) return null;
    const remote = info?.remoteAddr as Deno.NetAddr | undefined;
    const upgradeRequest = upgradeRequestFrom(request, remote?.hostname, remote?.port);
    return accept(request, upgradeRequest, await state.decide(upgradeRequest));
  };

  /** The fetch-style upgrade (`info.upgrade`): decided by the server core with `service` as the route. */
  const upgradeTo = async (request: Request, peer: { remoteAddress?: string; remotePort?: number }, service: Parameters<FetchUpgrade>[1], options: Parameters<FetchUpgrade>[2]): Promise<Response> => {
    if (!isWebSocketRequest(request)) return notAnUpgrade(request, service, options);
    const upgradeRequest = upgradeRequestFrom(request, peer.remoteAddress, peer.remotePort);
    const route: RouteMatch = { service: serviceForCall(service as Parameters<typeof serviceForCall>[0], options), params: {} };
    return accept(request, upgradeRequest, await state.core.decide(upgradeRequest, route));
  };

  const handle: DenoWebSocket["handle"] = async (request, info, fetch) => {
    const remote = info?.remoteAddr as Partial<Deno.NetAddr> | undefined;
    const peer = { remoteAddress: remote?.hostname, remotePort: remote?.port };
    if (!isWebSocketRequest(request)) return fetch ? fetch(request, { ...peer, upgrade: notAnUpgrade }) : webSocketOnlyResponse();
    const upgradeRequest = upgradeRequestFrom(request, peer.remoteAddress, peer.remotePort);
    const route = state.core.route(upgradeRequest);
    // registered services first; the fetch handler takes the upgrades none of them claims
    if (route !== null || !fetch) return accept(request, upgradeRequest, await state.core.decide(upgradeRequest, route));
    const up: FetchUpgrade = (given, service, options) => upgradeTo(given, peer, service, options);
    offerUpgrade(request, up);
    const response = await fetch(request, { ...peer, upgrade: up });
    return response.status === 101 ? response : fetchAnswer(state.core, request, response, peer);
  };

  /** Acts on the server core's decision: the refusal's Response, or Deno's upgrade and its 101. */
  const accept = (request: Request, upgradeRequest: UpgradeRequest, decision: UpgradeVerdict): Response => {
    if (!decision.ok) return refusalResponse(decision);
    const settings = state.settingsFor(decision.service);
    const { socket, response } = Deno.upgradeWebSocket(request, {
      protocol: decision.protocol ?? undefined,
      // Deno's own keepalive (its idleTimeout is in seconds): a ping after half of ours, closed without a pong
      idleTimeout: settings.idleTimeout > 0 ? Math.max(1, Math.round(settings.idleTimeout / 2000)) : 0,
    });
    for (const [name, value] of Object.entries(decision.headers)) response.headers.set(name, value);
    socket.binaryType = "arraybuffer";
    const { conn, transport } = state.connection(socketFor(socket), upgradeRequest, decision, true);
    socket.onopen = () => state.open(conn, decision);
    socket.onmessage = (event: MessageEvent) => {
      const data: unknown = event.data;
      transport.handleMessage(typeof data === "string" ? data : new Uint8Array(data as ArrayBuffer));
    };
    socket.onclose = (event: CloseEvent) => {
      decision.slot.release(); // closed before it opened: the slot is free again (no-op once adopted)
      transport.handleClose(event.code, event.reason);
    };
    socket.onerror = () => {}; // followed by close
    return response;
  };

  return Object.assign(state.controls(), { upgrade, handle });
}
