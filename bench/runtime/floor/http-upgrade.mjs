// The idle-memory floor of node:http's upgrade path (bench/src/idle-floor.ts): a 101 written by hand, the
// upgraded socket held with one data listener, the request dropped.
import * as http from "node:http";
const held = [];
const server = http.createServer((_req, res) => res.end("not an upgrade"));
server.on("upgrade", (_req, socket) => {
  held.push(socket);
  socket.on("error", () => {});
  socket.on("data", (data) => socket.write(data));
  socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
});
server.listen(0, "127.0.0.1", () => console.log(`LISTENING ${server.address().port}`));
