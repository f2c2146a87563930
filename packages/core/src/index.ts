export { CloseCode, isValidWireCloseCode } from "./close-codes.ts";
export { concatChunks, type ByteStream, type ByteStreamEvents } from "./byte-stream.ts";
export { setAllocator, allocateBytes } from "./byte-stream.ts";
export { Utf8Validator, isValidUtf8, decodeUtf8, decodeUtf8Strict, encodeUtf8 } from "./utf8.ts";
export {
  Opcode,
  FrameParser,
  applyMask,
  encodeFrame,
  encodeFrameParts,
  headerSize,
  isControlOpcode,
  type FrameHeader,
  type FrameSink,
  type EncodeOptions,
} from "./frame.ts";
export {
  ProtocolState,
  DEFAULT_MAX_MESSAGE_SIZE,
  DEFAULT_MAX_FRAGMENTS,
  type Role,
  type CloseInfo,
  type ProtocolLimits,
  type ProtocolOptions,
  type ProtocolHandler,
} from "./protocol.ts";
export {
  WEBSOCKET_GUID,
  acceptKey,
  validateUpgradeRequest,
  selectProtocol,
  buildAcceptResponse,
  buildRejectResponse,
  createClientHandshake,
  validateHandshakeResponse,
  parseExtensionHeader,
  serializeExtensions,
  parseHeaderList,
  type UpgradeRequest,
  type ExtensionOffer,
  type ServerHandshakeResult,
  type ClientHandshake,
  type ClientHandshakeResult,
  type HandshakeRejection,
} from "./handshake.ts";
export { HeaderMap, RawHeaders, parseHttpHead, serializeHttpHead, statusText, type HeadersLike, type HttpHead } from "./http.ts";
export {
  Connection,
  type ConnectionOptions,
  type Message,
  type SendData,
  type Fragment,
  type MessageWriter,
  type ReadyState,
} from "./connection.ts";
export { defineService, type Service, type ConnectionSettings, type UpgradeDecision } from "./service.ts";
export { Router, normalizePath } from "./router.ts";
export {
  TopicHub,
  TopicRegistry,
  encodeMessageFrame,
  toMessage,
  type TopicBroker,
  type TopicOptions,
  type TopicSubscriber,
  type PublishBackpressure,
  type PublishCompression,
} from "./topics.ts";
export { ServerCore, type ServerOptions, type UpgradeOutcome, type UpgradeVerdict, type ConnectionSlot } from "./server.ts";
export {
  ReceiveBudget,
  DEFAULT_MAX_PENDING_MESSAGE_BYTES,
  DEFAULT_MESSAGE_TIMEOUT,
  DEFAULT_MAX_BUFFERED_AMOUNT,
  DEFAULT_CONNECTION_TIMEOUT,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_HANDSHAKE_TIMEOUT,
  DEFAULT_CLOSE_TIMEOUT,
} from "./limits.ts";
export {
  MappedConnection,
  RuntimeHub,
  type ConnectionApi,
  type MappedSettings,
  type RuntimeSocket,
} from "./mapped-connection.ts";
export { MappedServer } from "./mapped-server.ts";
export {
  serveHandle,
  serveEngines,
  isWebSocketRequest,
  upgradeRequestFrom,
  refusalResponse,
  webSocketOnlyResponse,
  type ServerControls,
  type ServeEngine,
  type EngineServeOptions,
  type EngineServeHandle,
  type EngineStarters,
} from "./serve.ts";
export { connectOverStream, HandshakeError, type ClientOptions } from "./client.ts";
export {
  ReadTimeoutError,
  ConnectionClosedError,
  BackpressureError,
  UnsupportedError,
  consoleLogger,
  silentLogger,
  type Logger,
} from "./errors.ts";
export { sha1 } from "./sha1.ts";
export { base64Encode, base64Decode } from "./base64.ts";
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
} from "./deflate.ts";
export { zlibCodec, type ZlibModule } from "./zlib-codec.ts";
