/**
 * Deno's built-in WebSocket server (Deno.serve + Deno.upgradeWebSocket): echo at "/", a loop over the
 * connected sockets at "/broadcast" (Deno has no topics). Run with deno; not type-checked by tsc.
 */
declare const Deno: any;

const subscribers = new Set<WebSocket>();

Deno.serve(
  {
    port: Number(Deno.env.get("PORT") ?? 0),
    hostname: "127.0.0.1",
    onListen({ port }: { port: number }) {
      console.log(`LISTENING ${port}`);
    },
  },
  (req: Request) => {
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") return new Response("WebSocket only", { status: 426 });
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.binaryType = "arraybuffer";
    if (new URL(req.url).pathname === "/broadcast") {
      socket.onopen = () => subscribers.add(socket);
      socket.onclose = () => subscribers.delete(socket);
      socket.onmessage = (e: MessageEvent) => {
        for (const s of subscribers) if (s !== socket && s.readyState === WebSocket.OPEN) s.send(e.data);
      };
    } else {
      socket.onmessage = (e: MessageEvent) => socket.send(e.data);
    }
    socket.onerror = () => {};
    return response;
  },
);
