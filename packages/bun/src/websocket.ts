/** The WHATWG WebSocket on Bun: core's `WebSocketBase` over this adapter's `connect()` (Bun.connect, TCP or TLS). */
import type { WebSocketOptions } from "@ws/core";
import { WebSocketBase } from "@ws/core/adapter";
import { connect, type BunClientOptions } from "./client.ts";

/**
 * `new WebSocket(url, protocols?, options?)`: the standard's interface; `options` are `connect()`'s.
 *
 * @example
 * ```ts
 * import { WebSocket } from "@ws/bun";
 *
 * const ws = new WebSocket("ws://localhost:8080/chat", ["chat"], { headers: { authorization: "Bearer token" } });
 * ws.binaryType = "arraybuffer";
 * ws.onopen = () => ws.send("hello");
 * ws.onmessage = (event) => console.log(event.data);
 * ws.onclose = (event) => console.log(event.code, event.reason, event.wasClean);
 * ```
 */
export class WebSocket extends WebSocketBase<BunClientOptions> {
  constructor(url: string | URL, protocols?: string | string[], options?: WebSocketOptions<BunClientOptions>) {
    super(url, protocols, options, { connect });
  }
}
