/**
 * A raw TCP echo on Deno over node:net, the socket layer @ws/deno's core engine runs on (through
 * @ws/node-http): the floor and ceiling for that engine, as deno-raw.ts (Deno.listen) is for Deno itself.
 */
import * as net from "node:net";

declare const Deno: { env: { get(name: string): string | undefined } };

const server = net.createServer({ noDelay: true }, (socket) => {
  socket.on("error", () => {});
  socket.pipe(socket);
});
server.listen(Number(Deno.env.get("PORT") ?? 0), "127.0.0.1", () => {
  const address = server.address();
  console.log(`LISTENING ${typeof address === "object" && address ? address.port : 0}`);
});
