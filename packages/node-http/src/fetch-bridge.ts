/**
 * Plain HTTP requests on `serve()`: node:http's request → a fetch `Request` → the user's handler → its `Response`
 * written back, both bodies streamed. The request body reaches the handler as a stream that holds at most
 * `REQUEST_BODY_HIGH_WATER_MARK` bytes ahead of the reader (the socket is paused beyond that), so a large upload
 * costs the server nothing the handler does not read; a streaming response (Server-Sent Events, a large file) is
 * written chunk by chunk as the handler produces it.
 */
import * as http from "node:http";
import type { FetchInfo } from "@ws/core";
import { notAnUpgrade } from "@ws/core/adapter";
import { CONNECTION_SPECIFIC } from "./http2.ts";

/** Bytes of request body read ahead of the handler before the socket stops being read. */
export const REQUEST_BODY_HIGH_WATER_MARK = 64 * 1024;

/**
 * A fetch handler; `info` is the connection's peer (the socket's address, not a forwarded header) and `upgrade`, for
 * an upgrade request (`upgrade(request, service, { data })` resolves to the Response to return).
 */
export type FetchHandler = (request: Request, info: FetchInfo) => Response | Promise<Response>;

/**
 * Answers a node:http request with a fetch handler: the request as a fetch-API Request, the Response written back.
 *
 * @internal
 */
export async function answerFetch(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  handler: FetchHandler,
  scheme: "http" | "https",
): Promise<void> {
  // over HTTP/2 (node:http2's compatibility request) the authority is `:authority`, and the pseudo-header
  // fields (":method", ":path", …) are among the raw headers: a Request takes none of them
  const http2 = req.httpVersionMajor === 2;
  const host = req.headers.host ?? (http2 ? (req.headers[":authority"] as string | undefined) : undefined);
  const url = `${scheme}://${host ?? "localhost"}${req.url ?? "/"}`;
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    if (http2 && req.rawHeaders[i]!.charCodeAt(0) === 0x3a) continue;
    headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
  }
  const aborted = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) aborted.abort();
  });
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  const init: RequestInit & { duplex?: "half" } = { method: req.method, headers, signal: aborted.signal };
  if (hasBody) {
    init.body = requestBody(req);
    init.duplex = "half";
    // what the handler left unread once its response is out is read and dropped, as node:http does itself
    res.once("finish", () => {
      if (req.complete) return;
      req.removeAllListeners("data");
      req.resume();
    });
  }
  const response = await handler(new Request(url, init), { remoteAddress: req.socket.remoteAddress, remotePort: req.socket.remotePort, upgrade: notAnUpgrade });
  const outHeaders: [string, string][] = [];
  response.headers.forEach((value, name) => {
    // HTTP/2 has no connection-specific fields (RFC 9113 §8.2.2); node:http2 refuses to send them
    if (name !== "set-cookie" && !(http2 && CONNECTION_SPECIFIC.has(name))) outHeaders.push([name, value]);
  });
  for (const cookie of response.headers.getSetCookie()) outHeaders.push(["set-cookie", cookie]);
  res.writeHead(response.status, response.statusText || http.STATUS_CODES[response.status] || "", outHeaders.flat());
  if (!response.body || req.method === "HEAD") {
    res.end();
    await response.body?.cancel().catch(() => {});
    return;
  }
  res.flushHeaders();
  await writeBody(response.body, res);
}

/** The request's body as a byte stream pulled by the handler: the socket is paused while the queue is full. */
function requestBody(req: http.IncomingMessage): ReadableStream<Uint8Array> {
  let cancelled = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        req.on("data", (chunk: Buffer) => {
          if (cancelled) return;
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 0) <= 0) req.pause();
        });
        req.once("end", () => {
          if (!cancelled) controller.close();
        });
        req.once("error", (error) => {
          if (!cancelled) controller.error(error);
        });
        req.pause();
      },
      pull() {
        req.resume();
      },
      cancel() {
        // the handler wants no more: read and drop the rest so the response can still go out
        cancelled = true;
        req.resume();
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: REQUEST_BODY_HIGH_WATER_MARK }),
  );
}

/** Copies a response body to the socket, waiting for `drain` whenever node:http's buffer is full. */
async function writeBody(body: ReadableStream<Uint8Array>, res: http.ServerResponse): Promise<void> {
  const reader = body.getReader();
  const gone = new Promise<void>((resolve) => res.once("close", resolve));
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), gone.then(() => null)]);
      if (next === null) {
        await reader.cancel().catch(() => {});
        return;
      }
      if (next.done) break;
      if (!res.write(next.value)) await Promise.race([new Promise((resolve) => res.once("drain", resolve)), gone]);
    }
    res.end();
  } catch (error) {
    res.destroy(error instanceof Error ? error : new Error(String(error)));
    throw error;
  } finally {
    try {
      reader.releaseLock();
    } catch {
      // a read still pending after cancel(): the lock goes with the stream
    }
  }
}
