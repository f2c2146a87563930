/**
 * `ws` on Node: echo at "/", broadcast at "/broadcast" (ws has no topics: a loop over the clients, as its
 * README shows). With WS_NO_BUFFER_UTIL=1 ws ignores the installed bufferutil addon and masks in JavaScript.
 * utf-8-validate is not used on Node ≥ 18.14: ws 8 validates with buffer.isUtf8.
 */
import * as http from "node:http";
import { WebSocket, WebSocketServer } from "ws";

const perMessageDeflate = process.env.BENCH_DEFLATE === "1";
const echo = new WebSocketServer({ noServer: true, perMessageDeflate });
const broadcast = new WebSocketServer({ noServer: true, perMessageDeflate });

echo.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
});
broadcast.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => {
    for (const client of broadcast.clients) {
      if (client !== ws && client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
    }
  });
});

const server = http.createServer((_req, res) => {
  res.writeHead(426).end();
});
server.on("upgrade", (req, socket, head) => {
  const wss = req.url === "/broadcast" ? broadcast : echo;
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
});
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const address = server.address();
  console.log(`LISTENING ${typeof address === "object" && address ? address.port : 0}`);
});

// exit normally on SIGTERM (so that --cpu-prof writes its profile)
process.once("SIGTERM", () => process.exit(0));
