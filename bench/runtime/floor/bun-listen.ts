// The idle-memory floor of Bun's native sockets (bench/src/idle-floor.ts): Bun.listen, every socket held, echo.
declare const Bun: any;
const held: unknown[] = [];
const server = Bun.listen({
  hostname: "127.0.0.1",
  port: 0,
  socket: { open: (socket: unknown) => held.push(socket), data: (socket: { write(d: Uint8Array): number }, data: Uint8Array) => socket.write(data) },
});
console.log(`LISTENING ${server.port}`);
