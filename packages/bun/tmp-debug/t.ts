import { serve, connect, BunSocketStream, silentLogger } from "@ws/bun";
const P = BunSocketStream.prototype as any;
for (const m of ["handleData", "handleEnd", "handleClose"]) {
  const orig = P[m];
  P[m] = function (...a: any[]) { console.log(performance.now().toFixed(1), m, a[0]?.length ?? ""); return orig.apply(this, a); };
}
const server = await serve({ engine: "runtime", port: 0, hostname: "127.0.0.1", services: { "/echo": { received: (m, c) => void c.send(m) } }, logger: silentLogger });
const c = await connect(`ws://127.0.0.1:${server.port}/echo`);
console.log(performance.now().toFixed(1), "connected");
await server.close({ timeout: 1000 });
console.log(performance.now().toFixed(1), "server closed");
console.log((await c.closed));
process.exit(0);
