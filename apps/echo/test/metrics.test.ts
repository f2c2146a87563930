/**
 * Over real sockets on Node: the metrics hooks through prom-client, scraped from /metrics on the WebSocket
 * server's own port (dist/metrics.node.js), and the error hook answering a failing handler.
 */
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, expect, it } from "vitest";
import WebSocket from "ws";
import { startEntry } from "./support/start-entry.ts";

let server: ChildProcess;
let port = 0;

beforeAll(async () => {
  ({ server, port } = await startEntry("metrics.node.js"));
});
afterAll(() => void server.kill());

async function scrape(): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
  const samples = new Map<string, number>();
  for (const line of (await res.text()).split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const i = line.lastIndexOf(" ");
    samples.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return samples;
}

const opened = (ws: WebSocket) => new Promise((r, j) => (ws.once("open", r), ws.once("error", j)));
const closed = (ws: WebSocket) => new Promise<number>((r) => ws.once("close", (code) => r(code)));

it("counts connections, close codes, refused upgrades, messages and bytes; the error hook answers a failing handler", async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  await opened(ws);
  const echoes = new Promise<void>((r) => {
    let n = 0;
    ws.on("message", () => ++n === 2 && r());
  });
  ws.send("héllo"); // 6 UTF-8 bytes
  ws.send(Buffer.from([1, 2, 3]));
  await echoes;
  let m = await scrape();
  expect(m.get("ws_connections_open")).toBe(1);
  expect(m.get('ws_messages_received_total{type="text"}')).toBe(1);
  expect(m.get('ws_received_bytes_total{type="text"}')).toBe(6);
  expect(m.get('ws_received_bytes_total{type="binary"}')).toBe(3);
  expect(m.get('ws_sent_bytes_total{type="text"}')).toBe(6);
  ws.close(4000, "bye");
  expect(await closed(ws)).toBe(4000);

  // a handler that throws: the service's error hook sends the message back; onError counts it
  const failing = new WebSocket(`ws://127.0.0.1:${port}/fail`);
  await opened(failing);
  const reply = new Promise<string>((r) => failing.once("message", (d) => r(d.toString())));
  failing.send("x");
  expect(await reply).toBe("error: this handler always fails");

  // a protocol error: a text frame of invalid UTF-8 closes with 1007
  const failed = closed(failing);
  (failing as unknown as { _socket: import("node:net").Socket })._socket.write(Buffer.from([0x81, 0x81, 0, 0, 0, 0, 0xff]));
  expect(await failed).toBe(1007);

  // a refused upgrade (no service at /nowhere: 404)
  const refused = new WebSocket(`ws://127.0.0.1:${port}/nowhere`);
  refused.on("error", () => {}); // ws reports the refusal as an error too
  const status = await new Promise<number>((r) => refused.once("unexpected-response", (_req, res) => r(res.statusCode ?? 0)));
  expect(status).toBe(404);
  refused.terminate();

  await new Promise((r) => setTimeout(r, 100));
  m = await scrape();
  expect(m.get("ws_connections_opened_total")).toBe(2);
  expect(m.get("ws_connections_open")).toBe(0);
  expect(m.get('ws_connections_closed_total{code="4000",initiated_by="peer"}')).toBe(1);
  expect(m.get('ws_protocol_errors_total{code="1007"}')).toBe(1);
  expect(m.get('ws_upgrades_refused_total{status="404"}')).toBe(1);
  expect(m.get("ws_handler_errors_total")).toBe(1);
  expect(m.get('app_errors_total{kind="handler"}')).toBe(1);
  expect(m.get('app_errors_total{kind="protocol"}')).toBe(1);
  expect(m.get("ws_send_buffer_peak_bytes_count")).toBe(2);
});
