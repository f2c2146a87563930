/**
 * A raw TCP echo on Node: the ceiling. It does no WebSocket work at all and sends every byte back unchanged;
 * the generator counts replies by frame length, and a masked frame echoed as-is has a length like any other.
 */
import * as net from "node:net";

const server = net.createServer({ noDelay: true }, (socket) => {
  socket.on("error", () => {});
  socket.pipe(socket);
});
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const address = server.address();
  console.log(`LISTENING ${typeof address === "object" && address ? address.port : 0}`);
});

// exit normally on SIGTERM (so that --cpu-prof writes its profile)
process.once("SIGTERM", () => process.exit(0));
