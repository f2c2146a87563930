/**
 * @ws/node-http — @ws/core on the upgrade path of a node:http-compatible server: `attach()` to an existing
 * http/https server, `serve()` for a standalone one, and the node:stream socket as the core's ByteStream.
 * Node's adapter is built on it, and so is the default ("core") engine of Bun's and Deno's, whose node:http
 * delivers the same 'upgrade' event. It has no import-time side effects.
 *
 * @packageDocumentation
 * @module @ws/node-http
 */
export {
  attach,
  serve,
  type AttachOptions,
  type AttachedServer,
  type NodeServerOptions,
  type NodeUpgradeRequest,
  type ServeOptions,
  type ServeHandle,
  type WebSocketServer,
} from "./server.ts";
export { socketByteStream, allocateBuffer } from "./byte-stream.ts";
export { nativeAcceptKey } from "./server.ts";
export { answerFetch, REQUEST_BODY_HIGH_WATER_MARK, type FetchHandler } from "./fetch-bridge.ts";
export { refusalBytes, upgradeFetchRequest, MAX_REFUSAL_BODY } from "./fetch-upgrade.ts";
export { expressUpgrade, responseOverSocket, type RequestMiddleware, type UpgradeResponse } from "./middleware-upgrade.ts";
export { connectStream, http2SessionCount } from "./http2-client.ts";
export { RAPID_RESET_LIMIT, RAPID_RESET_AGE, type Http2UpgradeRequest, type AnyHttp2Server } from "./http2.ts";
