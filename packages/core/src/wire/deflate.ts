/**
 * permessage-deflate (RFC 7692): negotiation of its four parameters, and per-message compression over a
 * DEFLATE codec the adapter supplies (node:zlib works on Node, Bun and Deno), so the core stays
 * runtime-agnostic.
 *
 * Compression is one-shot and synchronous: a message is deflated (or inflated) whole, in order, with the
 * "context takeover" window carried over as a preset dictionary. The inflater gets the last 2^windowBits bytes
 * of the previous messages' uncompressed data, which is exactly the LZ77 window a continuous stream would have
 * (the peer may refer back that far). The compressor keeps only the last `historySize` bytes (default 4 KiB):
 * a compressor may always refer back less far than the agreed window, and zlib's cost of a preset dictionary
 * grows with its size (a 32 KiB one costs more than compressing a 4 KiB message). So an idle connection holds
 * no zlib state at all (at most the two windows, ≤ 4 KiB and ≤ 32 KiB, and none without context takeover),
 * zlib work is bounded by construction (one message at a time per process), and a compressed message can never
 * be overtaken on the wire by a control frame sent after it.
 */
import type { ExtensionOffer } from "./handshake.ts";

export const EXTENSION_NAME = "permessage-deflate";

/** The raw DEFLATE primitive (RFC 1951) an adapter provides. */
export interface DeflateCodec {
  /** Compresses `data` as raw DEFLATE ending with a sync flush (…00 00 ff ff). */
  deflate(data: Uint8Array, options: { windowBits: number; level: number; memLevel: number; dictionary?: Uint8Array }): Uint8Array;
  /**
   * Inflates raw DEFLATE data (ending with a sync flush). Must stop, throwing, as soon as the output would
   * exceed `maxOutputLength` (never allocating beyond it) and throw on corrupt input.
   */
  inflate(data: Uint8Array, options: { windowBits: number; maxOutputLength: number; dictionary?: Uint8Array }): Uint8Array;
}

/** What a server (or client) is willing to agree to. */
export interface PerMessageDeflateOptions {
  /** the server resets its compression context after each message. Default false. */
  serverNoContextTakeover?: boolean;
  /** ask the client to reset its compression context after each message. Default false. */
  clientNoContextTakeover?: boolean;
  /** largest LZ77 window (9–15) the server compresses with. Default 15. */
  serverMaxWindowBits?: number;
  /** largest window (8–15) the client may compress with, when the client allows a limit. Default 15. */
  clientMaxWindowBits?: number;
  /** messages smaller than this many bytes are sent uncompressed. Default 1024. */
  threshold?: number;
  /** zlib compression level 0–9. Default 1 (fast; real-time messages are short). */
  level?: number;
  /** zlib memLevel 1–9. Default 8. */
  memLevel?: number;
  /**
   * With context takeover, how many bytes of the previous messages our compressor refers back to (a preset
   * dictionary; capped at the agreed window, 2^windowBits). Larger finds more repeats across messages but costs
   * compression time in proportion and is kept per connection. Default 4096; 0 compresses each message on its own.
   */
  historySize?: number;
}

/** The agreed parameters, from the point of view of one endpoint. */
export interface DeflateAgreement {
  /** window of our compressor; 8 means we never compress (zlib cannot make raw 256-byte-window streams) */
  sendWindowBits: number;
  /** window the peer compresses with: our inflater's */
  receiveWindowBits: number;
  sendNoContextTakeover: boolean;
  receiveNoContextTakeover: boolean;
}

const WINDOW_BITS = /^(8|9|1[0-5])$/;

type Params = Record<string, string | true>;

/** Validates one element's parameters: known names, no duplicates, valid values. Null when invalid. */
function checkParams(params: Params, known: readonly string[]): Params | null {
  for (const [name, value] of Object.entries(params)) {
    if (name.startsWith("\u0000duplicate:")) return null;
    if (!known.includes(name)) return null;
    if (name.endsWith("_no_context_takeover") && value !== true) return null;
    if (name.endsWith("_max_window_bits") && value !== true && !WINDOW_BITS.test(value)) return null;
  }
  return params;
}

const PARAMS = ["server_no_context_takeover", "client_no_context_takeover", "server_max_window_bits", "client_max_window_bits"] as const;

function clampWindow(bits: number | undefined, min: number): number {
  const b = bits ?? 15;
  if (!Number.isInteger(b) || b < min || b > 15) throw new RangeError(`max window bits must be ${min}–15, got ${bits}`);
  return b;
}

/**
 * Server side (RFC 7692 §5, §7.1): picks the first acceptable offer. Offers with unknown or duplicate
 * parameters or invalid values are declined (the next one is tried). Returns the response element and the
 * agreement, or null when no offer is acceptable.
 *
 * @example
 * ```ts
 * import { negotiateDeflateServer, parseExtensionHeader, serializeExtensions } from "@ws/core/protocol";
 *
 * const offers = parseExtensionHeader("permessage-deflate; client_max_window_bits") ?? [];
 * const deal = negotiateDeflateServer(offers, { serverMaxWindowBits: 12 });
 * if (deal) {
 *   console.log(serializeExtensions([deal.response])); // "permessage-deflate; server_max_window_bits=12": the 101's Sec-WebSocket-Extensions
 *   console.log(deal.agreement.sendWindowBits); // 12: give deal.agreement to PerMessageDeflate
 * }
 * ```
 */
export function negotiateDeflateServer(
  offers: ExtensionOffer[],
  options: PerMessageDeflateOptions = {},
): { response: ExtensionOffer; agreement: DeflateAgreement } | null {
  const serverMax = clampWindow(options.serverMaxWindowBits, 9);
  const clientMax = clampWindow(options.clientMaxWindowBits, 8);
  for (const offer of offers) {
    if (offer.name !== EXTENSION_NAME) continue;
    const p = checkParams(offer.params, PARAMS);
    if (!p) continue;
    if (p.server_max_window_bits === true) continue; // §7.1.2.1: in an offer it must have a value
    const response: Params = {};
    const serverNoContext = p.server_no_context_takeover === true || options.serverNoContextTakeover === true;
    const clientNoContext = p.client_no_context_takeover === true || options.clientNoContextTakeover === true;
    if (serverNoContext) response.server_no_context_takeover = true;
    if (clientNoContext) response.client_no_context_takeover = true;
    let sendBits = serverMax;
    if (typeof p.server_max_window_bits === "string") sendBits = Math.min(sendBits, Number(p.server_max_window_bits));
    // zlib cannot compress with a 256-byte window (8): accepting would mean answering compressed messages
    // uncompressed (up to ~1000× larger). §7.1.2.1 lets a server decline an offer it cannot honour.
    if (sendBits < 9) continue;
    if (sendBits !== 15 || p.server_max_window_bits !== undefined) response.server_max_window_bits = String(sendBits);
    let receiveBits = 15;
    if (p.client_max_window_bits !== undefined) {
      // the client accepts a limit on its window; it may have proposed one itself
      receiveBits = p.client_max_window_bits === true ? clientMax : Math.min(clientMax, Number(p.client_max_window_bits));
      if (receiveBits !== 15 || typeof p.client_max_window_bits === "string") response.client_max_window_bits = String(receiveBits);
    }
    return {
      response: { name: EXTENSION_NAME, params: response },
      agreement: {
        sendWindowBits: sendBits,
        receiveWindowBits: receiveBits,
        sendNoContextTakeover: serverNoContext,
        receiveNoContextTakeover: clientNoContext,
      },
    };
  }
  return null;
}

/**
 * Client side: the offer to send (one element).
 *
 * @example
 * ```ts
 * import { createClientHandshake, deflateClientOffer } from "@ws/core/protocol";
 *
 * const offer = deflateClientOffer({ clientMaxWindowBits: 12 }); // permessage-deflate; client_max_window_bits=12
 * const handshake = createClientHandshake("ws://example.com/", { extensions: [offer] });
 * ```
 */
export function deflateClientOffer(options: PerMessageDeflateOptions = {}): ExtensionOffer {
  const params: Params = {};
  if (options.serverNoContextTakeover) params.server_no_context_takeover = true;
  if (options.clientNoContextTakeover) params.client_no_context_takeover = true;
  if (options.serverMaxWindowBits !== undefined) params.server_max_window_bits = String(clampWindow(options.serverMaxWindowBits, 8));
  params.client_max_window_bits = options.clientMaxWindowBits !== undefined ? String(clampWindow(options.clientMaxWindowBits, 8)) : true;
  return { name: EXTENSION_NAME, params };
}

/**
 * Client side: validates the server's response to our offer (RFC 7692 §7.1). Null when unacceptable.
 *
 * @example
 * ```ts
 * import { acceptDeflateResponse, deflateClientOffer, parseExtensionHeader } from "@ws/core/protocol";
 *
 * const offer = deflateClientOffer();
 * const [response] = parseExtensionHeader("permessage-deflate; client_max_window_bits=10") ?? []; // the 101's Sec-WebSocket-Extensions
 * const agreement = response ? acceptDeflateResponse(response, offer) : null;
 * console.log(agreement?.sendWindowBits); // 10 (null: an unacceptable response, fail the handshake)
 * ```
 */
export function acceptDeflateResponse(response: ExtensionOffer, offer: ExtensionOffer): DeflateAgreement | null {
  if (response.name !== EXTENSION_NAME) return null;
  const p = checkParams(response.params, PARAMS);
  if (!p) return null;
  if (p.server_max_window_bits === true || p.client_max_window_bits === true) return null; // values required here
  const offered = offer.params;
  if (p.server_max_window_bits !== undefined && typeof offered.server_max_window_bits === "string") {
    if (Number(p.server_max_window_bits) > Number(offered.server_max_window_bits)) return null;
  }
  if (p.client_max_window_bits !== undefined) {
    if (offered.client_max_window_bits === undefined) return null; // §7.1.2.2: only if we allowed it
    if (typeof offered.client_max_window_bits === "string" && Number(p.client_max_window_bits) > Number(offered.client_max_window_bits)) return null;
  }
  if (offered.server_no_context_takeover === true && p.server_no_context_takeover !== true) return null;
  return {
    sendWindowBits: p.client_max_window_bits !== undefined ? Number(p.client_max_window_bits) : typeof offered.client_max_window_bits === "string" ? Number(offered.client_max_window_bits) : 15,
    receiveWindowBits: p.server_max_window_bits !== undefined ? Number(p.server_max_window_bits) : 15,
    sendNoContextTakeover: p.client_no_context_takeover === true || offered.client_no_context_takeover === true,
    receiveNoContextTakeover: p.server_no_context_takeover === true,
  };
}

/**
 * The inflated message would exceed the size limit (close 1009).
 *
 * @example
 * ```ts
 * import * as zlib from "node:zlib";
 * import { MessageTooBigError, PerMessageDeflate, zlibCodec } from "@ws/core/protocol";
 *
 * const agreement = { sendWindowBits: 15, receiveWindowBits: 15, sendNoContextTakeover: true, receiveNoContextTakeover: true };
 * const deflate = new PerMessageDeflate(agreement, zlibCodec(zlib), { threshold: 0 });
 * const bomb = deflate.compress(new Uint8Array(1 << 20)); // 1 MiB of zeros: about 1 KiB compressed
 * try {
 *   deflate.decompress(bomb, 64 * 1024);
 * } catch (error) {
 *   if (error instanceof MessageTooBigError) console.log("close with 1009"); // stopped at 64 KiB, never inflated whole
 * }
 * ```
 */
export class MessageTooBigError extends Error {
  override readonly name = "MessageTooBigError";
}

/** Bytes of earlier messages the compressor refers back to by default (PerMessageDeflateOptions.historySize). */
export const DEFAULT_HISTORY_SIZE = 4096;

const TAIL = new Uint8Array([0x00, 0x00, 0xff, 0xff]);

/** Keeps the last `size` bytes of `history` followed by `data`. */
function slideWindow(history: Uint8Array | undefined, data: Uint8Array, size: number): Uint8Array {
  // copies: `data` may be the caller's buffer (or a Node Buffer, whose slice() is a view)
  if (data.length >= size) return new Uint8Array(data.subarray(data.length - size));
  const keep = Math.min(history?.length ?? 0, size - data.length);
  const out = new Uint8Array(keep + data.length);
  if (keep > 0) out.set(history!.subarray(history!.length - keep));
  out.set(data, keep);
  return out;
}

/**
 * One connection's compression state.
 *
 * @example
 * ```ts
 * import * as zlib from "node:zlib";
 * import { PerMessageDeflate, zlibCodec, type DeflateAgreement } from "@ws/core/protocol";
 *
 * const agreement: DeflateAgreement = { sendWindowBits: 15, receiveWindowBits: 15, sendNoContextTakeover: false, receiveNoContextTakeover: false };
 * const sender = new PerMessageDeflate(agreement, zlibCodec(zlib), { threshold: 64 });
 * const receiver = new PerMessageDeflate(agreement, zlibCodec(zlib));
 * const message = new TextEncoder().encode("hello ".repeat(100));
 * if (sender.shouldCompress(message.length)) {
 *   const payload = sender.compress(message); // send it in a frame with RSV1 set
 *   const back = receiver.decompress(payload, 1 << 20); // at most 1 MiB
 *   console.log(payload.length, back.length); // 16 600
 * }
 * ```
 */
export class PerMessageDeflate {
  readonly agreement: DeflateAgreement;
  private readonly codec: DeflateCodec;
  private readonly threshold: number;
  private readonly level: number;
  private readonly memLevel: number;
  private readonly historySize: number;
  private sendWindow: Uint8Array | undefined;
  private receiveWindow: Uint8Array | undefined;

  constructor(agreement: DeflateAgreement, codec: DeflateCodec, options: PerMessageDeflateOptions = {}) {
    this.agreement = agreement;
    this.codec = codec;
    this.threshold = options.threshold ?? 1024;
    this.level = options.level ?? 1;
    this.memLevel = options.memLevel ?? 8;
    const history = options.historySize ?? DEFAULT_HISTORY_SIZE;
    if (!Number.isInteger(history) || history < 0) throw new RangeError(`historySize must be an integer ≥ 0, got ${history}`);
    this.historySize = Math.min(history, 1 << agreement.sendWindowBits);
  }

  /** Whether a message of this size is sent compressed. */
  shouldCompress(size: number): boolean {
    return size >= this.threshold && this.agreement.sendWindowBits >= 9;
  }

  /** The compressed payload of one whole message (trailing 00 00 ff ff removed, RFC 7692 §7.2.1). */
  compress(data: Uint8Array): Uint8Array {
    const a = this.agreement;
    const out = this.codec.deflate(data, {
      windowBits: a.sendWindowBits,
      level: this.level,
      memLevel: this.memLevel,
      dictionary: a.sendNoContextTakeover ? undefined : this.sendWindow,
    });
    if (!a.sendNoContextTakeover && this.historySize > 0) this.sendWindow = slideWindow(this.sendWindow, data, this.historySize);
    const n = out.length;
    if (n >= 4 && out[n - 4] === 0 && out[n - 3] === 0 && out[n - 2] === 0xff && out[n - 1] === 0xff) return out.subarray(0, n - 4);
    return out;
  }

  /** The data of one whole compressed message. Throws MessageTooBigError past `maxSize`, Error on corrupt data. */
  decompress(payload: Uint8Array, maxSize: number): Uint8Array {
    const a = this.agreement;
    const input = new Uint8Array(payload.length + 4);
    input.set(payload);
    input.set(TAIL, payload.length);
    let out: Uint8Array;
    try {
      out = this.codec.inflate(input, {
        windowBits: a.receiveWindowBits,
        maxOutputLength: maxSize,
        dictionary: a.receiveNoContextTakeover ? undefined : this.receiveWindow,
      });
    } catch (e) {
      if (e instanceof RangeError || (e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") {
        throw new MessageTooBigError(`inflated message exceeds ${maxSize} bytes`);
      }
      throw e;
    }
    if (!a.receiveNoContextTakeover) this.receiveWindow = slideWindow(this.receiveWindow, out, 1 << a.receiveWindowBits);
    return out;
  }

  /** Bytes held between messages (the two context-takeover windows). */
  get retainedBytes(): number {
    return (this.sendWindow?.length ?? 0) + (this.receiveWindow?.length ?? 0);
  }
}

/** Serializes an agreement's response element for the Sec-WebSocket-Extensions header. */
export function describeAgreement(response: ExtensionOffer): string {
  return [response.name, ...Object.entries(response.params).map(([k, v]) => (v === true ? k : `${k}=${v}`))].join("; ");
}
