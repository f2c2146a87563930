/**
 * Close status codes, RFC 6455 §7.4.1 (with the IANA registry's later additions 1012–1014), plus the
 * 3000–3999 (registered) and 4000–4999 (private) ranges left to applications.
 */
/** The most bytes of UTF-8 a close frame's reason can carry (RFC 6455 §5.5: 125 bytes of payload, 2 for the code). */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * Close status codes by name, RFC 6455 §7.4.1 and the IANA registry (1000–1015); applications use 3000–4999.
 *
 * @example
 * ```ts
 * import { CloseCode, defineService } from "@ws/core";
 *
 * defineService({
 *   received(message, conn) {
 *     if (typeof message !== "string") return conn.close(CloseCode.UnsupportedData, "text only"); // 1003
 *   },
 *   disconnected(conn, code) {
 *     if (code === CloseCode.AbnormalClosure) console.log(`${conn.id} went away without a close frame`); // 1006
 *   },
 * });
 * ```
 */
export const CloseCode = {
  /** 1000: the purpose for which the connection was established has been fulfilled. */
  NormalClosure: 1000,
  /** 1001: an endpoint is going away (server shutting down, browser leaving the page). */
  GoingAway: 1001,
  /** 1002: the endpoint is terminating the connection due to a protocol error. */
  ProtocolError: 1002,
  /** 1003: the endpoint received a type of data it cannot accept (e.g. binary where only text is understood). */
  UnsupportedData: 1003,
  /** 1005: reserved; reported when a close frame carried no status code. Never sent. */
  NoStatusReceived: 1005,
  /** 1006: reserved; reported when the connection closed without a close frame. Never sent. */
  AbnormalClosure: 1006,
  /** 1007: a message's data was not consistent with its type (e.g. invalid UTF-8 in a text message). */
  InvalidFramePayloadData: 1007,
  /** 1008: a message violates the endpoint's policy. */
  PolicyViolation: 1008,
  /** 1009: a message is too big to process. */
  MessageTooBig: 1009,
  /** 1010: (client) the server did not negotiate an extension the client requires. */
  MandatoryExtension: 1010,
  /** 1011: (server) an unexpected condition prevented fulfilling the request. */
  InternalError: 1011,
  /** 1012: the service is restarting. */
  ServiceRestart: 1012,
  /** 1013: try again later (temporary server condition). */
  TryAgainLater: 1013,
  /** 1014: a gateway or proxy received an invalid response from upstream. */
  BadGateway: 1014,
  /** 1015: reserved; reported when the TLS handshake failed. Never sent. */
  TLSHandshake: 1015,
} as const;

/** A named RFC 6455 close code, or an application code in 3000–4999. */
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode] | (number & {});

/**
 * Whether `code` may appear in a close frame on the wire (RFC 6455 §7.4): the defined codes 1000–1003 and
 * 1007–1014, and 3000–4999. 1004 (reserved), 1005, 1006 and 1015 (reserved for reporting), 1016–2999 (reserved
 * for future protocol use) and everything below 1000 or above 4999 are invalid.
 *
 * @example
 * ```ts
 * import { isValidWireCloseCode } from "@ws/core";
 *
 * console.log(isValidWireCloseCode(1000)); // true
 * console.log(isValidWireCloseCode(1005)); // false: reported when a close frame has no code, never sent
 * console.log(isValidWireCloseCode(4001)); // true: an application's code
 * ```
 */
export function isValidWireCloseCode(code: number): boolean {
  if (!Number.isInteger(code)) return false;
  if (code >= 1000 && code <= 1003) return true;
  if (code >= 1007 && code <= 1014) return true;
  return code >= 3000 && code <= 4999;
}

/** The close code a user may pass to `close()`: 1000, 1001, 1002, 1003, 1007–1014, 3000–4999. */
export function assertSendableCloseCode(code: number): void {
  if (!isValidWireCloseCode(code)) {
    throw new RangeError(`close code ${code} may not be sent (valid: 1000–1003, 1007–1014, 3000–4999)`);
  }
}
