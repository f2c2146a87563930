/**
 * @ws/core/protocol — the protocol toolkit, runtime-agnostic and free of I/O: the wire codec (frames and
 * masking, UTF-8, close codes, the opening handshake, HTTP heads, permessage-deflate) and the RFC 6455 state
 * machine over it (`ProtocolState`), with the budget a server's connections share for unfinished messages.
 *
 * @packageDocumentation
 * @module @ws/core/protocol
 */
export { CloseCode, isValidWireCloseCode, MAX_CLOSE_REASON_BYTES } from "./wire/close-codes.ts";
export { Utf8Validator, isValidUtf8, decodeUtf8, decodeUtf8Strict, encodeUtf8 } from "./wire/utf8.ts";
export {
  Opcode,
  FrameParser,
  applyMask,
  copyMasked,
  encodeFrame,
  encodeFrameParts,
  encodeTextFrame,
  encodeAsciiTextFrame,
  concatChunks,
  allocateUint8Array,
  headerSize,
  isControlOpcode,
  type Allocate,
  type FrameHeader,
  type FrameSink,
  type EncodeOptions,
  applyMaskWords,
  setUnmaskKernel,
  simdUnmaskInUse,
  SIMD_UNMASK_THRESHOLD,
  type UnmaskKernel,
} from "./wire/frame.ts";
export { applyMaskSimd, copyMaskedSimd, simdUnmaskAvailable } from "./wire/mask-simd.ts";
export {
  WEBSOCKET_GUID,
  acceptKey,
  validateUpgradeRequest,
  validateExtendedConnect,
  isHttp2,
  selectProtocol,
  buildAcceptResponse,
  buildRejectResponse,
  createClientHandshake,
  validateHandshakeResponse,
  parseExtensionHeader,
  serializeExtensions,
  parseHeaderList,
  asksForWebSocket,
  createUpgradeRequest,
  type UpgradeRequest,
  type UpgradeRequestInit,
  type ExtensionOffer,
  type ServerHandshakeResult,
  type ClientHandshake,
  type ClientHandshakeResult,
  type HandshakeRejection,
} from "./wire/handshake.ts";
export { HeaderMap, HttpHeadError, MAX_HTTP_HEAD, RawHeaders, parseCookieHeader, parseHttpHead, serializeHttpHead, statusText, type HeadersLike, type HttpHead } from "./wire/http.ts";
export { sha1 } from "./wire/sha1.ts";
export { base64Encode, base64Decode } from "./wire/base64.ts";
export {
  negotiateDeflateServer,
  deflateClientOffer,
  acceptDeflateResponse,
  PerMessageDeflate,
  MessageTooBigError,
  EXTENSION_NAME as PERMESSAGE_DEFLATE,
  type DeflateCodec,
  type DeflateAgreement,
  type PerMessageDeflateOptions,
} from "./wire/deflate.ts";
export { zlibCodec, type ZlibModule } from "./wire/zlib-codec.ts";
export {
  ProtocolState,
  type Role,
  type CloseInfo,
  type ProtocolLimits,
  type ProtocolOptions,
  type ProtocolHandler,
  type ClosePhase,
} from "./protocol/protocol.ts";
export { ReceiveBudget, DEFAULT_READ_HIGH_WATER_MARK } from "./protocol/limits.ts";
