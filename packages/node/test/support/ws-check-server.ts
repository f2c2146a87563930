/** The checks' server (test/websocket-checks.ts) on `ws`'s WebSocketServer, a reference peer. */
import { WebSocketServer, type WebSocket as WsSocket } from "ws";

const PATHS = new Set(["/echo", "/greet", "/chat"]);

export async function wsCheckServer(): Promise<{ url: string; close(): Promise<void> }> {
  const wss = new WebSocketServer({
    port: 0,
    host: "127.0.0.1",
    perMessageDeflate: true,
    verifyClient: (info: { req: { url?: string } }) => PATHS.has(info.req.url ?? ""),
    handleProtocols: (offered: Set<string>, req: { url?: string }) => (req.url === "/chat" && offered.has("chat") ? "chat" : false),
  });
  wss.on("connection", (ws: WsSocket, req) => {
    if (req.url === "/greet") {
      ws.send("hello");
      ws.send(Buffer.from([1, 2, 3]));
      return;
    }
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      const text = isBinary ? null : data.toString();
      if (text?.startsWith("close:")) {
        const [, code, reason] = text.split(":");
        return ws.close(Number(code), reason);
      }
      if (text === "drop") return ws.terminate();
      ws.send(data, { binary: isBinary });
    });
  });
  await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
  const { port } = wss.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}`,
    close: () => {
      for (const c of wss.clients) c.terminate();
      return new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
