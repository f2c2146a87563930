// The client test procedure of the fuzzing server, independent of any runtime: ask for the case count, run every
// case as an echo client, then ask the server to write its reports. A driver for a WebSocket client library only
// has to provide `open` (see ws-client.ts): this file must stay free of node:*, Bun and Deno APIs.

export interface DriverConnection {
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
}

export interface DriverHandlers {
  onMessage(data: string | Uint8Array, conn: DriverConnection): void;
  /** Called once the connection is closed (or failed to open). */
  onClose(): void;
}

/** Open a WebSocket connection to `url` with the client library under test. */
export type OpenConnection = (url: string, handlers: DriverHandlers) => void;

export interface ProcedureOptions {
  /** Base URL of the fuzzing server, e.g. ws://127.0.0.1:9001 */
  baseUrl: string;
  agent: string;
  open: OpenConnection;
  log?: (line: string) => void;
}

function once(open: OpenConnection, url: string, onMessage: DriverHandlers["onMessage"]): Promise<void> {
  return new Promise((resolve) => {
    let done = false;
    open(url, {
      onMessage,
      onClose() {
        if (!done) {
          done = true;
          resolve();
        }
      },
    });
  });
}

export async function getCaseCount(opts: ProcedureOptions): Promise<number> {
  let count = 0;
  await once(opts.open, `${opts.baseUrl}/getCaseCount`, (data) => {
    count = Number(typeof data === "string" ? data : new TextDecoder().decode(data));
  });
  return count;
}

/** Run the whole procedure; resolves after the reports were requested. */
export async function runClientProcedure(opts: ProcedureOptions): Promise<number> {
  const log = opts.log ?? (() => {});
  const count = await getCaseCount(opts);
  if (!(count > 0)) throw new Error(`could not get a case count from ${opts.baseUrl}/getCaseCount`);
  log(`Will run ${count} cases for agent ${opts.agent}`);
  const agent = encodeURIComponent(opts.agent);
  for (let i = 1; i <= count; i++) {
    await once(opts.open, `${opts.baseUrl}/runCase?case=${i}&agent=${agent}`, (data, conn) => conn.send(data));
  }
  await once(opts.open, `${opts.baseUrl}/updateReports?agent=${agent}`, () => {});
  log("Reports updated");
  return count;
}
