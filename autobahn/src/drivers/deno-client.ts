// Client driver for @ws/deno: its connect() as the echo client under test, run by deno on the TypeScript source.
import { connect, silentLogger } from "@ws/deno";
import { runClientProcedure, type OpenConnection } from "./procedure.ts";

const open: OpenConnection = (url, handlers) => {
  connect(url, { logger: silentLogger, maxMessageSize: 64 * 1024 * 1024, perMessageDeflate: true }).then(
    (conn) => {
      const driver = {
        send: (data: string | Uint8Array) => void conn.send(data),
        close: (code?: number, reason?: string) => void conn.close(code, reason),
      };
      conn.onMessage((message) => handlers.onMessage(message, driver));
      conn.onClose(() => handlers.onClose());
    },
    () => handlers.onClose(),
  );
};

const [baseUrl, agent] = process.argv.slice(2);
runClientProcedure({ baseUrl: baseUrl!, agent: agent!, open, log: (line) => console.log(line) }).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
