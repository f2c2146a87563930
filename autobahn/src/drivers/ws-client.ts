// Reference client driver: the `ws` npm package as the echo client under test.
// Usage: node dist/drivers/ws-client.js <fuzzing-server-base-url> <agent>
import WebSocket from "ws";
import { runClientProcedure, type OpenConnection } from "./procedure.ts";

export const openWs: OpenConnection = (url, handlers) => {
  // maxFragments: 0 lifts ws's default cap of 16384 fragments per message (9.3.1 / 9.4.1 send 65536)
  const options = { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024, maxFragments: 0 };
  const ws = new WebSocket(url, options as WebSocket.ClientOptions);
  const conn = {
    send: (data: string | Uint8Array) => ws.send(data),
    close: (code?: number, reason?: string) => ws.close(code, reason),
  };
  ws.on("message", (data, isBinary) => {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    handlers.onMessage(isBinary ? new Uint8Array(bytes) : bytes.toString("utf8"), conn);
  });
  ws.on("error", () => {});
  ws.on("close", () => handlers.onClose());
};

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  const [baseUrl = "ws://127.0.0.1:9001", agent = "ws"] = process.argv.slice(2);
  await runClientProcedure({ baseUrl, agent, open: openWs, log: (l) => console.log(l) });
}
