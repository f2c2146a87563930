/**
 * The WHATWG WebSocket on Node: core's `WebSocketBase` over this adapter's `connect()` (ws:// and wss://),
 * with the "nodebuffer" binary type as well (a Buffer over the received bytes, no copy).
 */
import type { WebSocketOptions } from "@ws/core";
import { WebSocketBase, type WebSocketRuntime } from "@ws/core/adapter";
import { connect, type NodeClientOptions } from "./client.ts";

const node: WebSocketRuntime<NodeClientOptions, "nodebuffer"> = {
  connect,
  binaryTypes: { nodebuffer: (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) },
};

/**
 * `new WebSocket(url, protocols?, options?)`: the standard's interface; `options` are `connect()`'s.
 *
 * @example
 * ```ts
 * import { WebSocket } from "@ws/node";
 *
 * const ws = new WebSocket("ws://localhost:8080/chat", ["chat"], { headers: { authorization: "Bearer token" } });
 * ws.binaryType = "arraybuffer";
 * ws.onopen = () => ws.send("hello");
 * ws.onmessage = (event) => console.log(event.data);
 * ws.onclose = (event) => console.log(event.code, event.reason, event.wasClean);
 * ```
 */
export class WebSocket extends WebSocketBase<NodeClientOptions, "nodebuffer"> {
  constructor(url: string | URL, protocols?: string | string[], options?: WebSocketOptions<NodeClientOptions>) {
    super(url, protocols, options, node);
  }
}
