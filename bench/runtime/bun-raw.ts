/** A raw TCP echo on Bun (Bun.listen): the ceiling for Bun. Bytes the socket cannot take yet wait for drain. */
declare const Bun: any;

interface State { pending: Uint8Array[] }

function flush(socket: any, state: State): void {
  while (state.pending.length > 0) {
    const chunk = state.pending[0]!;
    const written: number = socket.write(chunk);
    if (written < chunk.length) {
      state.pending[0] = chunk.subarray(Math.max(0, written));
      return;
    }
    state.pending.shift();
  }
}

const listener = Bun.listen({
  hostname: "127.0.0.1",
  port: Number(process.env.PORT ?? 0),
  socket: {
    open(socket: any) {
      socket.data = { pending: [] } satisfies State;
    },
    data(socket: any, data: Uint8Array) {
      const state = socket.data as State;
      if (state.pending.length > 0) {
        state.pending.push(data.slice());
        return;
      }
      const written: number = socket.write(data);
      if (written < data.length) state.pending.push(data.slice(Math.max(0, written)));
    },
    drain(socket: any) {
      flush(socket, socket.data as State);
    },
    error() {},
  },
});
console.log(`LISTENING ${listener.port}`);
