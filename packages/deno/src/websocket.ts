/** The WHATWG WebSocket on Deno: core's `WebSocketBase` over this adapter's `connect()` (Deno.connect / connectTls). */
import type { WebSocketOptions } from "@ws/core";
import { WebSocketBase } from "@ws/core/adapter";
import { connect, type DenoClientOptions } from "./client.ts";

/** `new WebSocket(url, protocols?, options?)`: the standard's interface; `options` are `connect()`'s. */
export class WebSocket extends WebSocketBase<DenoClientOptions> {
  constructor(url: string | URL, protocols?: string | string[], options?: WebSocketOptions<DenoClientOptions>) {
    super(url, protocols, options, { connect });
  }
}
