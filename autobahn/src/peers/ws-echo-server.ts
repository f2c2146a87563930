// Reference echo server on the `ws` npm package (strictly conformant), for developing and testing the runner.
// Usage: PORT=0 node dist/peers/ws-echo-server.js   -> prints "Listening on port <N>"
import { WebSocketServer } from "ws";

export function startWsEchoServer(port = 0, opts: { perMessageDeflate?: boolean } = {}): Promise<{ port: number; close(): Promise<void> }> {
  return new Promise((resolve) => {
    // ws >= 8.23 caps a message at 16384 fragments by default (a DoS guard, answered with 1008); 9.3.1 / 9.4.1 send
    // 65536 fragments of 64 octets, so the reference peer lifts that cap (0 = unlimited).
    const options = { host: "127.0.0.1", port, perMessageDeflate: opts.perMessageDeflate ?? false, maxPayload: 64 * 1024 * 1024, maxFragments: 0 };
    const wss = new WebSocketServer(options as ConstructorParameters<typeof WebSocketServer>[0]);
    wss.on("connection", (ws) => {
      ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
      ws.on("error", () => {});
    });
    wss.on("listening", () => {
      const addr = wss.address();
      resolve({
        port: typeof addr === "object" && addr ? addr.port : port,
        close: () =>
          new Promise<void>((r) => {
            for (const c of wss.clients) c.terminate();
            wss.close(() => r());
          }),
      });
    });
  });
}

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  const srv = await startWsEchoServer(Number(process.env.PORT ?? 9001), { perMessageDeflate: process.env.DEFLATE === "1" });
  console.log(`Listening on port ${srv.port}`);
}
