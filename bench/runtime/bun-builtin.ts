/**
 * Bun's built-in WebSocket server (Bun.serve with websocket handlers): echo at "/", Bun's topics at
 * "/broadcast" (ws.publish reaches every subscriber but the sender). Run with bun; not type-checked by tsc.
 */
declare const Bun: any;

const deflate = process.env.BENCH_DEFLATE === "1";
const server = Bun.serve({
  port: Number(process.env.PORT ?? 0),
  hostname: "127.0.0.1",
  fetch(req: Request, srv: any) {
    const broadcast = new URL(req.url).pathname === "/broadcast";
    if (srv.upgrade(req, { data: { broadcast } })) return undefined;
    return new Response("WebSocket only", { status: 426 });
  },
  websocket: {
    perMessageDeflate: deflate,
    open(ws: any) {
      if (ws.data.broadcast) ws.subscribe("bench");
    },
    message(ws: any, message: string | Uint8Array) {
      if (ws.data.broadcast) ws.publish("bench", message);
      // with permessage-deflate the echo goes back compressed, as every other server's does (Bun's send()
      // compresses only when asked: its second argument)
      else ws.send(message, deflate);
    },
  },
});
console.log(`LISTENING ${server.port}`);
