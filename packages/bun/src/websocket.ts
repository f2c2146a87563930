/** The WHATWG WebSocket on Bun: core's `WebSocketBase` over this adapter's `connect()` (Bun.connect, TCP or TLS). */
import type { WebSocketOptions } from "@ws/core";
import { WebSocketBase } from "@ws/core/adapter";
import { connect, type BunClientOptions } from "./client.ts";

/** `new WebSocket(url, protocols?, options?)`: the standard's interface; `options` are `connect()`'s. */
export class WebSocket extends WebSocketBase<BunClientOptions> {
  constructor(url: string | URL, protocols?: string | string[], options?: WebSocketOptions<BunClientOptions>) {
    super(url, protocols, options, { connect });
  }
}
