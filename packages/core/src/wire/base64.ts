/**
 * Base64 (RFC 4648 §4) for the handshake's short values, on the btoa/atob every runtime provides.
 *
 * @example
 * ```ts
 * import { base64Encode } from "@ws/core/protocol";
 *
 * console.log(base64Encode(new Uint8Array([1, 2, 3]))); // "AQID"
 * ```
 */
export function base64Encode(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]!);
  return btoa(binary);
}

/**
 * Strict decoding: returns null for anything that is not canonical padded base64.
 *
 * @example
 * ```ts
 * import { base64Decode } from "@ws/core/protocol";
 *
 * console.log(base64Decode("AQID")); // Uint8Array(3) [ 1, 2, 3 ]
 * console.log(base64Decode("AQI")); // null: not padded
 * ```
 */
export function base64Decode(text: string): Uint8Array | null {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    return null;
  }
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  // canonical form only: re-encoding must give the same text (no stray bits in the last character)
  return base64Encode(out) === text ? out : null;
}
