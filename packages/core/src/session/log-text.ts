/**
 * What a peer sent, made fit for a log line: a URL, a header, a reason. A peer chooses these bytes, so a line
 * that carried them as they are could be made as long as the request (an 8 KiB path, logged on every refusal) or
 * made to forge lines and terminal output (a LF, an ESC sequence).
 */

/** Chars of peer text a log line keeps (`logText`'s default). */
export const LOG_TEXT_LIMIT = 200;

/**
 * `text` shortened to `limit` chars (then "…" and how many more there were) with its control characters escaped:
 * C0 and DEL as `\xHH`, C1 as `\u0080`–`\u009f`, and the line and paragraph separators and the bidirectional
 * overrides as `\uHHHH`. What is left prints as one line, as the peer's characters.
 *
 * @example
 * ```ts
 * import { logText } from "@ws/core/adapter";
 *
 * const path = "/chat\r\nX-Injected: 1"; // from the peer
 * console.log(`no service at ${logText(path)}`); // no service at /chat\x0d\x0aX-Injected: 1 (one line)
 * console.log(logText("a".repeat(300), 10)); // "aaaaaaaaaa…" and how many more chars there were
 * ```
 */
export function logText(text: string, limit = LOG_TEXT_LIMIT): string {
  let cut = text.length > limit ? text.slice(0, limit) : text;
  // never end on half a surrogate pair
  if (cut.length > 0 && cut !== text) {
    const last = cut.charCodeAt(cut.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  }
  const escaped = UNPRINTABLE.test(cut) ? cut.replace(UNPRINTABLE_ALL, escapeChar) : cut;
  return cut === text ? escaped : `${escaped}…(+${text.length - cut.length} chars)`;
}

// C0 controls, DEL, C1 controls, LS and PS, the bidi embeddings, overrides and isolates
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const UNPRINTABLE_ALL = new RegExp(UNPRINTABLE.source, "g");

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  return code < 0x80 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}
