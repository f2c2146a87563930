// Fuzzing server: the original's endpoints for testing WebSocket *clients*.
//   /getCaseCount            -> one text message with the number of cases, then close
//   /runCase?case=N&agent=A  -> runs case N (1-based, in order of the selected cases) against the connecting client
//   /updateReports?agent=A   -> writes the reports, then close
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { Socket } from "node:net";
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
function sayAndClose(socket: Socket, text?: string): void {
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
  const server: Server = createServer((_req, res) => {
    res.writeHead(426, { "content-type": "text/plain" });
    res.end("This is a WebSocket fuzzing server: connect with a WebSocket client.\n");
  });
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on("error", () => {});
    const key = req.headers["sec-websocket-key"];
    if (typeof key !== "string" || (req.headers.upgrade ?? "").toLowerCase() !== "websocket") {
      socket.end("HTTP/1.1 400 Bad Request\r\n\r\n");
      return;
    }
    const url = new URL(req.url ?? "/", "http://localhost");
    const agent = url.searchParams.get("agent") ?? "UnknownClient";
    const httpRequest =
      `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n` +
      Object.entries(req.headers)
        .map(([k, v]) => `${k}: ${String(v)}`)
        .join("\r\n") +
      "\r\n\r\n";
    if (url.pathname === "/runCase") {
      const n = Number(url.searchParams.get("case"));
      const def = Number.isInteger(n) && n >= 1 && n <= opts.cases.length ? opts.cases[n - 1] : undefined;
      if (!def) {
        socket.end("HTTP/1.1 400 Bad Request\r\n\r\n");
        return;
      }
      const extra: string[] = [];
      let codec;
      if (def.deflate) {
        const acc = acceptOffers(req.headers["sec-websocket-extensions"] as string | undefined, def.deflate.offers);
        if (acc) {
          extra.push(`Sec-WebSocket-Extensions: ${acc.response}`);
          codec = createCodec(acc.ownBits, acc.response.includes("server_no_context_takeover"));
        }
      }
      const httpResponse = serverHandshakeResponse(key, extra);
      socket.write(httpResponse);
      log(`Running test case ID ${def.id} for agent ${agent}`);
      void runCaseOnSocket(def, socket, {
        agent,
        quick: opts.quick,
        failByDrop: opts.failByDrop,
        isServer: true,
        initial: new Uint8Array(head),
        codec,
        httpRequest,
        httpResponse,
        index: n,
      }).then((r) => {
        results.set(`${agent}\u0000${r.id}`, r);
        opts.onResult?.(r);
      });
      return;
    }
    socket.write(serverHandshakeResponse(key));
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
