/** A `ws` client that records what it receives, for the tests against workerd. */
import WebSocket from "ws";

export interface Client {
  ws: WebSocket;
  /** text as strings, binary as Buffers, in arrival order */
  messages: Array<string | Buffer>;
  /** resolves with the n-th message (1-based) once it has arrived */
  nth(n: number, timeout?: number): Promise<string | Buffer>;
  closed: Promise<{ code: number; reason: string }>;
  /** the 101 response's headers */
  headers: Record<string, string | string[] | undefined>;
}

export function connect(url: string, protocols?: string | string[], headers?: Record<string, string>): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers });
    const messages: Array<string | Buffer> = [];
    const waiters: Array<() => void> = [];
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      messages.push(isBinary ? data : data.toString());
      for (const w of waiters.splice(0)) w();
    });
    const closed = new Promise<{ code: number; reason: string }>((res) => ws.once("close", (code, reason) => res({ code, reason: reason.toString() })));
    const nth = (n: number, timeout = 5000) =>
      new Promise<string | Buffer>((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`message ${n} did not arrive; got ${JSON.stringify(messages)}`)), timeout);
        const check = () => {
          if (messages.length >= n) {
            clearTimeout(timer);
            res(messages[n - 1]);
          } else waiters.push(check);
        };
        check();
      });
    let responseHeaders: Client["headers"] = {};
    ws.once("upgrade", (res) => (responseHeaders = res.headers));
    ws.once("open", () => resolve({ ws, messages, nth, closed, headers: responseHeaders }));
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, body })));
    });
    ws.once("error", reject);
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
