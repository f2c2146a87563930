// The HTTP/2 transport (RFC 8441, src/h2.ts): the `ws` reference peer, which speaks only HTTP/1.1, is put behind a
// small proxy that turns each extended CONNECT stream into an HTTP/1.1 Upgrade (and back), so the runner's results
// over HTTP/2 must be ws's own: OK on families 1-7 and 10 but for the fail-fast cases 6.4.* (NON-STRICT).
import * as http2 from "node:http2";
import { createServer, type Socket } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { selectCases } from "../src/cases/index.ts";
import { runClientProcedure } from "../src/drivers/procedure.ts";
import { openWs } from "../src/drivers/ws-client.ts";
import { startFuzzingServer } from "../src/fuzzing-server.ts";
import { acceptKey, clientHandshake } from "../src/handshake.ts";
import { startWsEchoServer } from "../src/peers/ws-echo-server.ts";
import { isAcceptable } from "../src/report.ts";
import { runClient, type CaseResult } from "../src/runner.ts";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const FAMILIES = ["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "10.*"];
const WS_NON_STRICT = ["6.4.1", "6.4.2", "6.4.3", "6.4.4"];
const { NGHTTP2_CANCEL } = http2.constants;

function assertReference(results: CaseResult[]): void {
  const bad = results.filter((r) => !isAcceptable(r.id, r)).map((r) => `${r.id}:${r.behavior}/${r.behaviorClose}`);
  expect(bad.map((b) => b.split(":")[0])).toEqual(WS_NON_STRICT);
}

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

/** Bytes both ways between a TCP socket and an HTTP/2 stream: FIN ↔ END_STREAM, a reset ↔ RST_STREAM. */
function splice(socket: Socket, stream: http2.Http2Stream): void {
  socket.on("error", () => {});
  stream.on("error", () => {});
  socket.on("data", (d: Buffer) => stream.write(d));
  stream.on("data", (d: Buffer) => socket.write(d));
  socket.on("end", () => stream.end());
  stream.on("end", () => socket.end());
  socket.on("close", (hadError) => {
    if (hadError && !stream.closed) stream.close(NGHTTP2_CANCEL);
  });
  stream.on("close", () => {
    if (stream.rstCode !== undefined && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) socket.resetAndDestroy();
    else socket.end();
  });
  socket.resume();
}

/** h2c server whose extended CONNECT streams become HTTP/1.1 WebSocket connections to `port`. */
function h2ToHttp1(port: number): Promise<number> {
  const server = http2.createServer({ settings: { enableConnectProtocol: true } });
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    const ext = headers["sec-websocket-extensions"] as string | undefined;
    clientHandshake(`ws://127.0.0.1:${port}${headers[":path"]}`, { extensions: ext }).then(
      (hs) => {
        stream.respond({ ":status": 200, ...(hs.extensions ? { "sec-websocket-extensions": hs.extensions } : {}) });
        if (hs.rest.length > 0) stream.write(hs.rest);
        splice(hs.socket, stream);
      },
      () => stream.respond({ ":status": 502 }, { endStream: true }),
    );
  });
  return listen(server, () => server.close());
}

/** HTTP/1.1 server whose WebSocket upgrades become extended CONNECT streams on one h2c session to `port`. */
function http1ToH2(port: number): Promise<number> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on("error", () => {});
  const server = createServer((socket) => {
    socket.on("error", () => {});
    let head = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("data", onData);
      socket.pause();
      const [requestLine, ...lines] = head.subarray(0, end).toString("latin1").split("\r\n");
      const h = new Map(lines.map((l) => [l.slice(0, l.indexOf(":")).trim().toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
      const stream = session.request({
        ":method": "CONNECT",
        ":protocol": "websocket",
        ":scheme": "http",
        ":authority": `127.0.0.1:${port}`,
        ":path": requestLine.split(" ")[1],
        "sec-websocket-version": "13",
        ...(h.has("sec-websocket-extensions") ? { "sec-websocket-extensions": h.get("sec-websocket-extensions") } : {}),
      });
      stream.on("error", () => {});
      stream.once("response", (res) => {
        if (res[":status"] !== 200) return void socket.destroy();
        const ext = res["sec-websocket-extensions"];
        socket.write(
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            `Sec-WebSocket-Accept: ${acceptKey(h.get("sec-websocket-key") ?? "")}\r\n` +
            (ext ? `Sec-WebSocket-Extensions: ${String(ext)}\r\n` : "") +
            "\r\n",
        );
        if (head.length > end + 4) stream.write(head.subarray(end + 4));
        splice(socket, stream);
      });
    };
    socket.on("data", onData);
  });
  return listen(server, () => {
    session.close();
    server.close();
  });
}

function listen(server: { listen(port: number, host: string, cb: () => void): unknown; address(): unknown }, close: () => void): Promise<number> {
  cleanups.push(close);
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
}

describe("HTTP/2 transport (RFC 8441)", () => {
  it("fuzzing client over h2c: the ws reference behind an HTTP/2 → HTTP/1.1 proxy gets its own results", async () => {
    const srv = await startWsEchoServer(0);
    cleanups.push(srv.close);
    const port = await h2ToHttp1(srv.port);
    const results = await runClient(`ws://127.0.0.1:${port}/`, selectCases(FAMILIES), { agent: "ws-h2", concurrency: 8, transport: "h2c" });
    expect(results).toHaveLength(selectCases(FAMILIES).length);
    expect(results[0].httpRequest).toMatch(/^:method: CONNECT\r\n:protocol: websocket\r\n/);
    expect(results[0].httpResponse).toMatch(/^:status: 200\r\n/);
    assertReference(results);
  });

  it("fuzzing server over h2c: the ws client behind an HTTP/1.1 → HTTP/2 proxy gets its own results", async () => {
    const cases = selectCases(FAMILIES);
    const fs = await startFuzzingServer({ port: 0, cases, outdir: mkdtempSync(join(tmpdir(), "autobahn-h2-")), transport: "h2c" });
    cleanups.push(fs.close);
    const port = await http1ToH2(fs.port);
    const count = await runClientProcedure({ baseUrl: `ws://127.0.0.1:${port}`, agent: "ws-client-h2", open: openWs });
    expect(count).toBe(cases.length);
    const results = [...fs.results.values()];
    expect(results).toHaveLength(cases.length);
    expect(results[0].httpRequest).toMatch(/:protocol: websocket/);
    assertReference(results);
  });

  it("a server that does not advertise SETTINGS_ENABLE_CONNECT_PROTOCOL: the opening handshake fails and says why", async () => {
    const server = http2.createServer();
    const port = await listen(server, () => server.close());
    const [r] = await runClient(`ws://127.0.0.1:${port}/`, selectCases(["1.1.1"]), { agent: "plain-h2", transport: "h2c" });
    expect(r.behavior).toBe("FAILED");
    expect(r.result).toMatch(/do not enable extended CONNECT/);
  });

  it("the fuzzing server over h2c answers a plain request 426 and a CONNECT without version 13 400", async () => {
    const fs = await startFuzzingServer({ port: 0, cases: selectCases(["1.1.1"]), outdir: mkdtempSync(join(tmpdir(), "autobahn-h2-")), transport: "h2c" });
    cleanups.push(fs.close);
    const session = http2.connect(`http://127.0.0.1:${fs.port}`);
    cleanups.push(() => void session.close());
    const status = (headers: http2.OutgoingHttpHeaders) =>
      new Promise<unknown>((resolve) => session.request(headers, { endStream: false }).on("response", (h) => resolve(h[":status"])).on("error", () => {}));
    expect(await status({ ":path": "/getCaseCount" })).toBe(426);
    expect(
      await status({ ":method": "CONNECT", ":protocol": "websocket", ":scheme": "http", ":path": "/getCaseCount", ":authority": "x", "sec-websocket-version": "8" }),
    ).toBe(400);
  });
});
