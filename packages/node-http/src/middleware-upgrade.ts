/**
 * Upgrade requests through an app's own request handling before the upgrade decision (Express middleware: a cookie,
 * a session, auth; Fastify's router and hooks in @ws/fastify). node:http hands an upgrade request to the 'upgrade'
 * event with its socket and never to the request listener, so an app's middleware does not see it. Here it does:
 * the request gets a `ServerResponse` written to the upgrade's socket, so whatever the app answers (a 401 with its
 * headers and body, a redirect) is written by node:http itself, as for any request, with `Connection: close`, and
 * the socket is closed once it is out: that answer is the refusal. When the app lets the request through instead,
 * the socket is taken back from the response and the upgrade decided by the server core as usual.
 */
import { ServerResponse, type IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { REFUSED_UPGRADE_LINGER } from "@ws/core";
import type { AttachedServer } from "./server.ts";

/** An upgrade request's response over its socket, while the app decides; see `responseOverSocket`. */
export interface UpgradeResponse {
  /** the response the app writes its refusal to; its socket is the upgrade's */
  readonly response: ServerResponse;
  /**
   * The app let the upgrade through: the socket is taken back from the response (nothing was written) and the
   * timer stopped. False when the socket is gone or the response was written (the app answered after all).
   */
  takeSocket(): boolean;
}

/**
 * A `ServerResponse` written to an upgrade request's socket, for an app to answer the request with: once it has
 * finished, the socket is half-closed and destroyed `REFUSED_UPGRADE_LINGER` ms later (unless the client closes
 * first). The socket is destroyed if the app has neither answered nor let the upgrade through within `timeout` ms.
 *
 * @example
 * ```ts
 * import { createServer } from "node:http";
 * import { attach, defineService, responseOverSocket } from "@ws/node";
 *
 * const ws = attach({ noServer: true, services: { "/echo": defineService({ received: (m, conn) => void conn.send(m) }) } });
 * const server = createServer((_req, res) => res.end("hello"));
 * server.on("upgrade", (req, socket, head) => {
 *   const { response, takeSocket } = responseOverSocket(req, socket, 10_000);
 *   if (req.headers.origin === "https://evil.example") return void response.writeHead(403).end("not from there");
 *   if (takeSocket()) void ws.handleUpgrade(req, socket, head);
 * });
 * server.listen(8080);
 * ```
 */
export function responseOverSocket(req: IncomingMessage, socket: Duplex, timeout: number): UpgradeResponse {
  const ignoreError = (): void => {};
  socket.on("error", ignoreError); // a reset while the app decides must not crash anything
  const response = new ServerResponse(req);
  response.shouldKeepAlive = false; // the answer goes out with Connection: close
  response.assignSocket(socket as never);
  const timer = setTimeout(() => socket.destroy(), timeout);
  timer.unref();
  socket.once("close", () => clearTimeout(timer));
  const detach = () => {
    if (response.socket === socket) response.detachSocket(socket as never);
  };
  response.once("finish", () => {
    clearTimeout(timer);
    detach();
    socket.end();
    const linger = setTimeout(() => socket.destroy(), REFUSED_UPGRADE_LINGER);
    linger.unref();
    socket.once("close", () => clearTimeout(linger));
  });
  return {
    response,
    takeSocket() {
      clearTimeout(timer);
      if (socket.destroyed || response.headersSent || response.writableEnded) return false;
      detach();
      socket.off("error", ignoreError); // handleUpgrade guards the socket from here
      return true;
    },
  };
}

/**
 * A connect-style request handler: an Express app or router (`app(req, res, next)`), connect, polka. `next` is
 * called when the request falls through it (no middleware answered), with an error when one failed.
 */
export type RequestMiddleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => unknown;

/**
 * An 'upgrade' listener that runs each upgrade request through `app` (an Express app: `cookie-parser`,
 * `express-session`, your auth) before the upgrade decision, with a response written to the upgrade's socket. What
 * the app answers (a 401 from your auth middleware: status, headers, body) is the refusal the client gets; a request
 * that falls through the app (no route answers it; an error gives 500) is handed to `ws.handleUpgrade`, where the
 * service's `upgrade(req)` gate reads what the middleware left on the request: `req.raw` is the same object
 * (`req.raw.session`, `req.raw.signedCookies`), and its `{ data }` is `conn.data`. The middleware and the gate
 * together are bounded by `ws`'s `handshakeTimeout`. Keep WebSocket paths clear of routes that answer every GET
 * (a page catch-all would answer the upgrade request too: a 200 refusal).
 *
 * @example
 * ```ts
 * import express from "express";
 * import { attach, defineService, expressUpgrade, type UpgradeRequest } from "@ws/node";
 *
 * const app = express();
 * app.use((req, res, next) => (req.headers.cookie?.includes("user=") ? next() : res.status(401).json({ error: "log in first" })));
 * app.get("/", (_req, res) => void res.send("hello over HTTP"));
 *
 * const chat = defineService<{ cookie: string }>({
 *   upgrade: (req: UpgradeRequest<express.Request>) => ({ data: { cookie: req.raw?.headers.cookie ?? "" } }),
 *   connected: (conn) => void conn.send(`hello, ${conn.data.cookie}`),
 * });
 * const server = app.listen(8080);
 * const ws = attach({ noServer: true, services: { "/chat": chat } });
 * server.on("upgrade", expressUpgrade(app, ws));
 * ```
 */
export function expressUpgrade(app: RequestMiddleware, ws: Pick<AttachedServer, "handleUpgrade" | "core">): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    const { response, takeSocket } = responseOverSocket(req, socket, ws.core.settings.handshakeTimeout);
    let settled = false;
    const next = (error?: unknown): void => {
      if (settled) return;
      settled = true;
      if (error !== undefined && error !== null && error !== "route" && error !== "router") {
        ws.core.logger.error({ err: error }, `middleware failed on an upgrade request: ${error instanceof Error ? error.message : String(error)}`);
        if (!response.headersSent && !response.writableEnded) response.writeHead(500, { "content-type": "text/plain" }).end("Internal Server Error\n");
        return;
      }
      if (takeSocket()) void ws.handleUpgrade(req, socket, head);
    };
    try {
      app(req, response, next);
    } catch (error) {
      next(error ?? new Error("middleware threw"));
    }
  };
}
