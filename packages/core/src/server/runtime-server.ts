/**
 * The server side of the runtime engine: `ServerCore` (routing, the upgrade decision, the connection set,
 * graceful shutdown) over Connections on `RuntimeSocketTransport`s, plus the settings a runtime's own
 * WebSocket cannot honour.
 */
import { Connection } from "../session/connection.ts";
import { CloseCode } from "../wire/close-codes.ts";
import { truncateReason } from "../protocol/protocol.ts";
import { connectionId } from "../session/id.ts";
import { UnsupportedError, type Logger } from "../session/errors.ts";
import type { UpgradeRequest } from "../wire/handshake.ts";
import { RuntimeSocketTransport, type RuntimeSocket } from "../session/runtime-socket-transport.ts";
import { RuntimeHub } from "./runtime-hub.ts";
import type { Settings } from "../settings/resolve.ts";
import { Router } from "./router.ts";
import type { ServerControls } from "./serve.ts";
import { ServerCore, type ServerOptions } from "./server.ts";
import type { UpgradeVerdict } from "./upgrade-decision.ts";
import type { Service } from "./service.ts";

/** An accepted upgrade, as `decide` returns it. */
type Accepted = Extract<UpgradeVerdict, { ok: true }>;

/** Frame-level limits: a runtime's WebSocket hands over whole messages, so these cannot be applied. */
const FRAME_LEVEL = ["maxFrameSize", "maxFragments"] as const satisfies ReadonlyArray<keyof Settings>;

type ErrorHook = (error: Error, conn: Connection) => unknown;

/** `hook` (the service's error hook and onError), then, for an UnsupportedError, a 1011 close naming what is missing. */
function closingOnUnsupported(hook: ErrorHook | undefined): ErrorHook {
  return (error, conn) => {
    try {
      return hook?.(error, conn);
    } finally {
      if (error instanceof UnsupportedError) void conn.close(CloseCode.InternalError, closeReason(error.message));
    }
  };
}

/** The error's message without the engine's name, cut to what a close frame's reason can carry. */
function closeReason(message: string): string {
  return truncateReason(message.split(": ").slice(1).join(": ") || message);
}

/**
 * The server side of the runtime engine, for a runtime whose own WebSocket does the framing: ServerCore's
 * decision, then Connections over the runtime's sockets (`connection`, `open`), and the server's controls.
 *
 * @example
 * ```ts
 * import { defineService } from "@ws/core";
 * import { RuntimeServer, refusalResponse, upgradeRequestFrom, type RuntimeSocket } from "@ws/core/adapter";
 *
 * // the runtime's own server-side WebSocket and its upgrade call (a stand-in for Deno.upgradeWebSocket and the like)
 * interface NativeSocket {
 *   send(data: string | Uint8Array): void;
 *   close(code: number, reason: string): void;
 *   readonly bufferedAmount: number;
 *   onopen: (() => void) | null;
 *   onmessage: ((data: string | Uint8Array) => void) | null;
 *   onclose: ((code: number, reason: string) => void) | null;
 * }
 * declare function upgradeWebSocket(request: Request, protocol?: string): { socket: NativeSocket; response: Response };
 *
 * const echo = defineService({ received: (message, conn) => void conn.send(message) });
 * const server = new RuntimeServer({ services: { "/echo": echo } }, "MyRuntime");
 *
 * export async function fetch(request: Request): Promise<Response> {
 *   const req = upgradeRequestFrom(request);
 *   const verdict = await server.decide(req); // route, validate, limits, the service's gate, the subprotocol
 *   if (!verdict.ok) return refusalResponse(verdict);
 *   const { socket, response } = upgradeWebSocket(request, verdict.protocol ?? undefined);
 *   const wrapped: RuntimeSocket = {
 *     engineName: "MyRuntime",
 *     sendText: (text) => (socket.send(text), true),
 *     sendBinary: (bytes) => (socket.send(bytes), true),
 *     close: (code, reason) => socket.close(code, reason),
 *     terminate: () => socket.close(1011, ""),
 *     get bufferedAmount() {
 *       return socket.bufferedAmount;
 *     },
 *     hasDrainEvent: false, // polled
 *   };
 *   const { conn, transport } = server.connection(wrapped, req, verdict);
 *   socket.onopen = () => server.open(conn, verdict); // the service's `connected` runs now
 *   socket.onmessage = (data) => transport.handleMessage(data);
 *   socket.onclose = (code, reason) => {
 *     verdict.slot.release(); // closed before it opened: free its place (nothing once adopted)
 *     transport.handleClose(code, reason);
 *   };
 *   return response;
 * }
 * ```
 */
export class RuntimeServer {
  readonly core: ServerCore;
  /** the engine's name in error messages: "Bun.serve", "Deno.upgradeWebSocket" */
  readonly engineName: string;
  /** the topics of this server's connections (with the options' broker and publish policy) */
  readonly hub: RuntimeHub;
  /**
   * Closes a connection with 1011 when its service's code lets an UnsupportedError escape (what the engine lacks,
   * e.g. topics in a plain Worker), after the error hooks have had it: the service cannot work here, and an open
   * connection that never answers is worse. Set by the adapter; off by default.
   */
  closeOnUnsupported = false;

  /** Throws UnsupportedError for settings the runtime's socket cannot honour (in the options or a service). */
  constructor(options: ServerOptions, engineName: string) {
    this.engineName = engineName;
    for (const key of FRAME_LEVEL) {
      if (options[key] !== undefined) throw new UnsupportedError(`${engineName}: ${key} needs the core engine`);
    }
    if (!(options.services instanceof Router)) {
      for (const [path, service] of Object.entries(options.services ?? {})) this.check(path, service);
    }
    // the broker belongs to the runtime engine's hub, not to ServerCore's (which has no connection of its own)
    this.core = new ServerCore({ ...options, broker: undefined });
    this.hub = new RuntimeHub({ broker: options.broker, settings: this.core.settings, logger: this.core.logger });
  }

  get logger(): Logger {
    return this.core.logger;
  }

  private check(path: string, service: Service<unknown>): void {
    for (const key of FRAME_LEVEL) {
      if (service[key] !== undefined) throw new UnsupportedError(`${this.engineName}: ${key} (service at ${path}) needs the core engine`);
    }
  }

  /** Registers a service; throws UnsupportedError for settings the runtime's socket cannot honour. */
  register(path: string, service: Service<unknown>): void {
    this.check(path, service);
    this.core.router.register(path, service);
  }

  /** Route, validate (RFC 6455 §4.2.1), limit, gate, subprotocol: ServerCore's decision. */
  decide(req: UpgradeRequest): Promise<UpgradeVerdict> {
    return this.core.decide(req);
  }

  /** The settings of a connection to `service`, as ServerCore resolves them (one frozen object per service). */
  settingsFor(service: Service<unknown>): Settings {
    return this.core.settingsFor(service);
  }

  /**
   * A Connection over a runtime's socket for an accepted upgrade, and the transport whose `handle*` methods the
   * adapter calls from the runtime's events. `open` it once the runtime reports the socket open. `id`: the
   * connection's id when it has one already (a connection rebuilt after a Durable Object's hibernation).
   */
  connection(
    socket: RuntimeSocket,
    request: UpgradeRequest,
    verdict: Accepted,
    keepaliveNative = false,
    id: string = connectionId(),
  ): { conn: Connection<unknown>; transport: RuntimeSocketTransport } {
    const settings = this.settingsFor(verdict.service);
    const observers = this.core.observersFor(verdict.service);
    if (this.closeOnUnsupported) observers.onError = closingOnUnsupported(observers.onError);
    const transport = new RuntimeSocketTransport(socket, { maxMessageSize: settings.maxMessageSize, keepaliveNative, logger: this.logger, label: id });
    const conn = new Connection<unknown>(transport, {
      id,
      role: "server",
      request,
      protocol: verdict.protocol,
      settings,
      heartbeat: this.core.heartbeatFor(settings.idleTimeout),
      logger: this.logger,
      hub: this.hub,
      ...observers,
    });
    return { conn, transport };
  }

  /**
   * Takes a new connection into the server and wires it to its service (ServerCore.adopt); `slot` is the
   * decision's connection slot, which the connection takes over. `resumed`: the connection was open before
   * (rebuilt after a Durable Object's hibernation): the service's `connected` is not called again.
   */
  open(conn: Connection<unknown>, verdict: Accepted, options: { resumed?: boolean } = {}): void {
    this.core.adopt(conn, verdict.service, verdict.data, undefined, verdict.slot, options);
  }

  /**
   * The server's controls (connections, register, close, …), with topics from `topics` (default: `hub`, which
   * uses the runtime's native publish where the adapter set `hub.native`).
   */
  controls(topics: Pick<ServerControls, "publish" | "subscriberCount"> = this.hub): ServerControls {
    const core = this.core;
    const hub = this.hub;
    return {
      get connections() {
        return core.connections;
      },
      get connectionCount() {
        return core.connectionCount;
      },
      register: (path, service) => this.register(path, service),
      unregister: (path) => core.router.unregister(path),
      publish: (topic, message) => topics.publish(topic, message),
      subscriberCount: (topic) => topics.subscriberCount(topic),
      skippedMessages: (conn) => hub.skipped(conn),
      close: async (options) => {
        await core.close(options);
        await hub.close();
      },
    };
  }
}
