/** crossws on Node (its Node adapter, which runs a bundled ws): echo at "/", its own topics at "/broadcast". */
import * as http from "node:http";
import crossws from "crossws/adapters/node";

const ws = crossws({
  serverOptions: { perMessageDeflate: process.env.BENCH_DEFLATE === "1" },
  hooks: {
    open(peer) {
      if (peer.namespace === "/broadcast") peer.subscribe("bench");
    },
    message(peer, message) {
      // rawData: a string for text, a Buffer for binary
      if (peer.namespace === "/broadcast") peer.publish("bench", message.rawData);
      else peer.send(message.rawData);
    },
  },
});

const server = http.createServer((_req, res) => {
  res.writeHead(426).end();
});
server.on("upgrade", (req, socket, head) => {
  void ws.handleUpgrade(req, socket, head);
});
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const address = server.address();
  console.log(`LISTENING ${typeof address === "object" && address ? address.port : 0}`);
});

// exit normally on SIGTERM (so that --cpu-prof writes its profile)
process.once("SIGTERM", () => process.exit(0));
