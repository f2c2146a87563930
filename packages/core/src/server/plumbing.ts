/**
 * Adapter plumbing: what a runtime adapter hands the core besides the user's options — its DEFLATE primitive,
 * its buffer type, its native SHA-1 for Sec-WebSocket-Accept. Not an option a user writes: `new ServerCore(options,
 * plumbing)` and `connectOverStream(stream, url, options, plumbing)` take it apart from the options, and the
 * options checks refuse its keys as unknown.
 */
import type { Allocate } from "../wire/frame.ts";
import type { DeflateCodec } from "../wire/deflate.ts";

/** What a runtime adapter gives the core's server (`new ServerCore(options, plumbing)`) or client (`connectOverStream`). */
export interface AdapterPlumbing {
  /** the DEFLATE primitive: permessage-deflate (`perMessageDeflate`) needs it */
  deflateCodec?: DeflateCodec;
  /** where broadcast frames are allocated (the runtime's preferred buffer type); a server's */
  allocate?: Allocate;
  /**
   * Sec-WebSocket-Accept for a client's key, base64(SHA-1(key + GUID)) (RFC 6455 §4.2.2), with the runtime's
   * native SHA-1; a server's. Default: the core's own (portable, slower) `acceptKey`.
   */
  acceptKey?: (key: string) => string;
}

/** The keys of AdapterPlumbing: never keys of the options. */
export const PLUMBING_KEYS: ReadonlyArray<keyof AdapterPlumbing> = ["deflateCodec", "allocate", "acceptKey"];
