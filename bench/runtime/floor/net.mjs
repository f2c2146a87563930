// The idle-memory floor of node:net (bench/src/idle-floor.ts): every socket held, one data listener, echo.
import * as net from "node:net";
const held = [];
const server = net.createServer({ noDelay: true }, (socket) => {
  held.push(socket);
  socket.on("error", () => {});
  socket.on("data", (data) => socket.write(data));
});
server.listen(0, "127.0.0.1", () => console.log(`LISTENING ${server.address().port}`));
