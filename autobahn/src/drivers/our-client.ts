// The client driver for our adapters: the adapter's connect() as the echo client under test. Runtime-agnostic
// (the adapter's connect is passed in); node-client.ts, bun-client.ts and deno-client.ts only pick the adapter.
import { runClientProcedure, type OpenConnection } from "./procedure.ts";

interface OurConnection {
  send(data: string | Uint8Array): Promise<boolean>;
  close(code?: number, reason?: string): Promise<unknown>;
  onMessage(fn: (message: string | Uint8Array) => unknown): unknown;
  onClose(fn: () => unknown): unknown;
}

type Connect = (url: string, options: Record<string, unknown>) => Promise<OurConnection>;

export function openWith(connect: Connect, logger: unknown): OpenConnection {
  // a third argument `http2`: every WebSocket as an RFC 8441 stream of the origin's HTTP/2 session (mandatory)
  const http2 = process.argv[4] === "http2";
  return (url, handlers) => {
    connect(url, { logger, maxMessageSize: 64 * 1024 * 1024, maxFragments: 1 << 17, perMessageDeflate: true, ...(http2 ? { http2: true } : {}) }).then(
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
}

/** Runs the client test procedure with argv's `<fuzzing-server-base-url> <agent> [http2]` and exits. */
export function runDriver(open: OpenConnection): void {
  const [baseUrl, agent] = process.argv.slice(2);
  if (!baseUrl || !agent) return;
  runClientProcedure({ baseUrl, agent, open, log: (line) => console.log(line) }).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
