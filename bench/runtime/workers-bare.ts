/**
 * The bare Workers echo: `new WebSocketPair()` + `server.accept()` and nothing else: every message is sent back
 * as it came, the peer's close is answered. The Workers baseline of the bench (what workerd itself costs), run
 * on workerd by src/servers/workers.ts. Not type-checked by tsc (Workers globals).
 */
declare const WebSocketPair: { new (): { 0: WebSocket; 1: WebSocket } };

export default {
  fetch(request: Request): Response {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") return new Response("WebSocket only", { status: 426 });
    const pair = new WebSocketPair();
    const client = pair[0];
    const server = pair[1] as WebSocket & { accept(): void };
    server.accept();
    server.binaryType = "arraybuffer"; // binary messages as ArrayBuffer, which send() takes back (not Blob)
    server.addEventListener("message", (event) => server.send(event.data));
    server.addEventListener("close", (event) => {
      try {
        server.close(event.code, event.reason);
      } catch {
        // workerd answered the close itself, or the code may not be sent
      }
    });
    return new Response(null, { status: 101, webSocket: client } as ResponseInit);
  },
};
