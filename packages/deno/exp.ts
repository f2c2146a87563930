import * as http from "node:http";
import type { Duplex } from "node:stream";
import { ServerCore, HeaderMap } from "@ws/core";
import { echoService } from "../../apps/echo/src/echo-service.ts";
const core = new ServerCore({ services: { "/": echoService } });
const server = http.createServer((req, res) => { res.end("hi"); });
server.on("upgrade", async (req: http.IncomingMessage, socket: Duplex, head: Uint8Array) => {
  const headers = new HeaderMap();
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
  const out = await core.negotiate({ method: req.method!, url: req.url!, httpVersion: req.httpVersion, headers });
  if (!out.ok) { socket.end(out.response); return; }
  let ev: any;
  socket.on("data", (c: Uint8Array) => ev.data(new Uint8Array(c.buffer, c.byteOffset, c.byteLength)));
  socket.on("end", () => ev.end()); socket.on("close", () => ev.close()); socket.on("drain", () => ev.drain());
  socket.on("error", () => {});
  out.accept({ start(e) { ev = e; }, write: (c) => socket.write(c), end: () => socket.end(), destroy: () => socket.destroy(), get bufferedAmount() { return socket.writableLength; } }, head.length ? new Uint8Array(head) : undefined);
});
server.listen(0, "127.0.0.1", () => console.log("Listening on port " + (server.address() as any).port));
