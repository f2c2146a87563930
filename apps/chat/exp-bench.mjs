import WebSocket from "ws";
const port = process.argv[2], size = Number(process.argv[3] ?? 16), N = Number(process.argv[4] ?? 20000);
const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
const msg = Buffer.alloc(size, 97);
ws.on("open", () => {
  const t = performance.now(); let got = 0, sent = 0;
  const pump = () => { while (sent < N && sent - got < 100) { ws.send(msg); sent++; } };
  ws.on("message", () => { if (++got === N) { console.log(size, "B x", N, ":", Math.round(N / ((performance.now() - t) / 1000)), "msg/s"); ws.close(); } else pump(); });
  pump();
});
