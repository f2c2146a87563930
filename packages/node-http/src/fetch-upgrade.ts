/**
 * Upgrade requests handed to a fetch handler on node:http (`serve({ fetch })`, `attach(server, { fetch })`): the
 * request as a fetch-API `Request` (no body: an upgrade request has none), and whatever the handler returns instead
 * of `upgrade()`'s 101 (a 401 from middleware, a redirect) as the bytes of a refusal — status, headers and a bounded
 * body — for the socket, which is then closed as every refused upgrade is.
 */
import type * as http from "node:http";
import { STATUS_CODES } from "node:http";

/** The most of a refusal's body written to an upgrade's socket; the rest is dropped (the response says so by its length). */
export const MAX_REFUSAL_BODY = 64 * 1024;

/**
 * The fetch-API Request of an upgrade request (`scheme`: "http" or "https", for its URL).
 *
 * @internal
 */
export function upgradeFetchRequest(req: http.IncomingMessage, scheme: "http" | "https"): Request {
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
  const target = req.url ?? "/";
  const url = /^[a-z][a-z\d+.-]*:\/\//i.test(target) ? target : `${scheme}://${req.headers.host ?? "localhost"}${target}`;
  return new Request(url, { method: req.method ?? "GET", headers });
}

/** response header fields written here (framing and connection management) */
const OWN_FIELDS = new Set(["connection", "keep-alive", "transfer-encoding", "content-length"]);

/** Up to `limit` bytes of a body; the rest is cancelled. Within `ms`, else what has come (a body that never ends). */
export async function boundedBody(body: ReadableStream<Uint8Array>, limit: number, ms: number): Promise<Uint8Array[]> {
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
    timer.unref?.();
  });
  try {
    while (size < limit) {
      const next = await Promise.race([reader.read(), late]);
      if (next === null || next.done) break;
      const chunk = next.value.byteLength > limit - size ? next.value.subarray(0, limit - size) : next.value;
      parts.push(chunk);
      size += chunk.byteLength;
    }
  } finally {
    clearTimeout(timer);
    void reader.cancel().catch(() => {});
  }
  return parts;
}

/**
 * The bytes of `response` as the answer to a refused upgrade: its status line and headers (Set-Cookie kept one by
 * one), `Content-Length` of the body written, `Connection: close`, and at most `MAX_REFUSAL_BODY` bytes of the body
 * (read for at most `ms`).
 *
 * @internal
 */
export async function refusalBytes(response: Response, ms: number, method = "GET"): Promise<Buffer> {
  const status = response.status >= 200 && response.status <= 999 ? response.status : 500;
  let head = `HTTP/1.1 ${status} ${(response.statusText || STATUS_CODES[status] || "").replace(/[^\t\x20-\x7e]/g, "")}\r\n`;
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie" && !OWN_FIELDS.has(name)) head += `${name}: ${value}\r\n`;
  });
  for (const cookie of response.headers.getSetCookie()) head += `set-cookie: ${cookie}\r\n`;
  const noBody = method === "HEAD" || status === 204 || status === 304;
  const parts = response.body && !noBody ? await boundedBody(response.body, MAX_REFUSAL_BODY, ms) : [];
  if (noBody) void response.body?.cancel().catch(() => {});
  const body = Buffer.concat(parts);
  head += `content-length: ${body.byteLength}\r\nconnection: close\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, "latin1"), body]);
}
