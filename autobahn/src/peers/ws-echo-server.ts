// Reference echo server on the `ws` npm package (strictly conformant), for developing and testing the runner.
// Usage: PORT=0 node dist/peers/ws-echo-server.js   -> prints "Listening on port <N>"
import { WebSocketServer } from "ws";

export function startWsEchoServer(port = 0, opts: { perMessageDeflate?: boolean } = {}): Promise<{ port: number; close(): Promise<void> }> {
  return new Promise((resolve) => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port, perMessageDeflate: opts.perMessageDeflate ?? false, maxPayload: 64 * 1024 * 1024 });
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
