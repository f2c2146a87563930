// Fuzzing server: the original's endpoints for testing WebSocket *clients*.
//   /getCaseCount            -> one text message with the number of cases, then close
//   /runCase?case=N&agent=A  -> runs case N (1-based, in order of the selected cases) against the connecting client
//   /updateReports?agent=A   -> writes the reports, then close
// over HTTP/1.1 (Upgrade) or, with `transport` h2/h2c, over HTTP/2 (RFC 8441 extended CONNECT streams).
import { createServer, type IncomingMessage } from "node:http";
import * as http2 from "node:http2";
import type { Socket } from "node:net";
import { StreamSocket, renderHeaders, type H2Transport } from "./h2.ts";
import type { ByteSocket } from "./session.ts";
import type { CaseDef } from "./case.ts";
import { acceptOffers, createCodec } from "./cases/deflate.ts";
import { OPCODE, encodeFrame } from "./frame.ts";
import { serverHandshakeResponse } from "./handshake.ts";
import { writeReports } from "./report.ts";
import { runCaseOnSocket, type CaseResult } from "./runner.ts";

export interface FuzzingServerOptions {
  port: number;
  host?: string;
  cases: CaseDef[];
  outdir: string;
  quick?: boolean;
  failByDrop?: boolean;
  log?: (line: string) => void;
  onResult?: (r: CaseResult) => void;
  /** `http1` (the default): HTTP/1.1 Upgrade; `h2c`: cleartext HTTP/2 (prior knowledge); `h2`: HTTP/2 over TLS (`tls` required) */
  transport?: "http1" | H2Transport;
  /** PEM certificate and key for `h2` */
  tls?: { cert: string; key: string };
}

/** A WebSocket opening request, over HTTP/1.1 or HTTP/2. */
interface WebSocketRequest {
  /** path and query */
  path: string;
  extensions: string | undefined;
  httpRequest: string;
  refuse(status: number): void;
  /** Answer 101 (HTTP/1.1) or 200 (HTTP/2) with the extension response, if any: the byte pipe of the WebSocket. */
  accept(extensions?: string): { socket: ByteSocket; httpResponse: string; initial?: Uint8Array };
}

export interface FuzzingServer {
  port: number;
  results: Map<string, CaseResult>;
  /** Resolves each time reports were written. */
  reportsWritten(): Promise<void>;
  close(): Promise<void>;
}

function closeFrame(code: number): Uint8Array {
  return encodeFrame({ opcode: OPCODE.close, payload: new Uint8Array([code >> 8, code & 0xff]) });
}

/** Send a text message and a close frame, then end once the client's close arrives (or after 1 s). */
function sayAndClose(socket: ByteSocket, text?: string): void {
  if (text !== undefined) socket.write(encodeFrame({ opcode: OPCODE.text, payload: new TextEncoder().encode(text) }));
  socket.write(closeFrame(1000));
  const t = setTimeout(() => socket.destroy(), 1000);
  socket.on("data", () => {
    clearTimeout(t);
    socket.end();
  });
  socket.on("close", () => clearTimeout(t));
  socket.on("error", () => {});
  socket.resume();
}

export function startFuzzingServer(opts: FuzzingServerOptions): Promise<FuzzingServer> {
  const results = new Map<string, CaseResult>();
  const log = opts.log ?? (() => {});
  let reportWaiters: Array<() => void> = [];
  const transport = opts.transport ?? "http1";
  const settings = { enableConnectProtocol: true };
  const server =
    transport === "h2c"
      ? http2.createServer({ settings })
      : transport === "h2"
        ? http2.createSecureServer({ ...opts.tls, settings })
        : createServer((_req, res) => {
            res.writeHead(426, { "content-type": "text/plain" });
            res.end("This is a WebSocket fuzzing server: connect with a WebSocket client.\n");
          });
  if (transport === "h2" && !opts.tls) throw new Error("the h2 transport needs tls: { cert, key }");
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  /** One WebSocket request, whichever HTTP version it came over: the fuzzing server's endpoints. */
  const onWebSocket = (ws: WebSocketRequest): void => {
    const url = new URL(ws.path, "http://localhost");
    const agent = url.searchParams.get("agent") ?? "UnknownClient";
    if (url.pathname === "/runCase") {
      const n = Number(url.searchParams.get("case"));
      const def = Number.isInteger(n) && n >= 1 && n <= opts.cases.length ? opts.cases[n - 1] : undefined;
      if (!def) {
        ws.refuse(400);
        return;
      }
      let extensions: string | undefined;
      let codec;
      if (def.deflate) {
        const acc = acceptOffers(ws.extensions, def.deflate.offers);
        if (acc) {
          extensions = acc.response;
          codec = createCodec(acc.ownBits, acc.response.includes("server_no_context_takeover"));
        }
      }
      const { socket, httpResponse, initial } = ws.accept(extensions);
      log(`Running test case ID ${def.id} for agent ${agent}`);
      void runCaseOnSocket(def, socket, {
        agent,
        quick: opts.quick,
        failByDrop: opts.failByDrop,
        isServer: true,
        initial,
        codec,
        httpRequest: ws.httpRequest,
        httpResponse,
        index: n,
      }).then((r) => {
        results.set(`${agent}\u0000${r.id}`, r);
        opts.onResult?.(r);
      });
      return;
    }
    const { socket } = ws.accept();
    if (url.pathname === "/getCaseCount") {
      sayAndClose(socket, JSON.stringify(opts.cases.length));
    } else if (url.pathname === "/updateReports") {
      log(`Updating reports, requested by agent ${agent}`);
      writeReports(opts.outdir, [...results.values()]);
      sayAndClose(socket);
      const w = reportWaiters;
      reportWaiters = [];
      for (const f of w) f();
    } else {
      sayAndClose(socket);
    }
  };
  server.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    stream.on("error", () => {});
    const refuse = (status: number) => {
      if (!stream.destroyed && !stream.headersSent) stream.respond({ ":status": status }, { endStream: true });
    };
    if (headers[":method"] !== "CONNECT" || headers[":protocol"] !== "websocket") return refuse(headers[":method"] === "CONNECT" ? 400 : 426);
    if (headers["sec-websocket-version"] !== "13") return refuse(400);
    const ext = headers["sec-websocket-extensions"];
    onWebSocket({
      path: headers[":path"] ?? "/",
      extensions: Array.isArray(ext) ? ext.join(", ") : ext,
      httpRequest: renderHeaders(headers),
      refuse,
      accept: (extensions) => {
        const head: http2.OutgoingHttpHeaders = { ":status": 200, server: "ws-autobahn-ts/0.1" };
        if (extensions) head["sec-websocket-extensions"] = extensions;
        stream.respond(head);
        return { socket: new StreamSocket(stream) as unknown as ByteSocket, httpResponse: renderHeaders(head) };
      },
    });
  });
  server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on("error", () => {});
    const key = req.headers["sec-websocket-key"];
    if (typeof key !== "string" || (req.headers.upgrade ?? "").toLowerCase() !== "websocket") {
      socket.end("HTTP/1.1 400 Bad Request\r\n\r\n");
      return;
    }
    onWebSocket({
      path: req.url ?? "/",
      extensions: req.headers["sec-websocket-extensions"],
      httpRequest:
        `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n` +
        Object.entries(req.headers)
          .map(([k, v]) => `${k}: ${String(v)}`)
          .join("\r\n") +
        "\r\n\r\n",
      refuse: (status) => socket.end(`HTTP/1.1 ${status} Bad Request\r\n\r\n`),
      accept: (extensions) => {
        const httpResponse = serverHandshakeResponse(key, extensions ? [`Sec-WebSocket-Extensions: ${extensions}`] : []);
        socket.write(httpResponse);
        return { socket, httpResponse, initial: new Uint8Array(head) };
      },
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "127.0.0.1", () => {
      const addr = server.address();
      const port = typeof addr === "object" && addr ? addr.port : opts.port;
      resolve({
        port,
        results,
        reportsWritten: () => new Promise<void>((r) => reportWaiters.push(r)),
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}
