/**
 * Streaming UTF-8 validation (Unicode §3.9, Table 3-7 "Well-Formed UTF-8 Byte Sequences").
 *
 * The validator keeps the state of a partial sequence between calls, so a text message may be checked as its
 * bytes arrive, fragment by fragment and chunk by chunk, and fails on the very byte that makes the input
 * ill-formed (the fail-fast behaviour RFC 6455 §8.1 asks for), not at the end of the message.
 *
 * @example
 * ```ts
 * import { Utf8Validator } from "@ws/core/protocol";
 *
 * const euro = new Uint8Array([0xe2, 0x82, 0xac]); // "€"
 * const utf8 = new Utf8Validator();
 * console.log(utf8.update(euro.subarray(0, 2)), utf8.complete); // true false: a chunk may end inside a character
 * console.log(utf8.update(euro.subarray(2)), utf8.complete); // true true
 * console.log(utf8.update(new Uint8Array([0xed, 0xa0]))); // false, on the byte that makes it ill-formed (a surrogate): close with 1007
 * utf8.reset(); // for the next message
 * ```
 */
export class Utf8Validator {
  /** continuation bytes still expected for the current sequence */
  private needed = 0;
  /** allowed range of the next continuation byte (narrowed after E0, ED, F0, F4) */
  private lower = 0x80;
  private upper = 0xbf;
  private failed = false;

  /** Feeds bytes; returns false as soon as the input so far can no longer be well-formed UTF-8. */
  update(bytes: Uint8Array, start = 0, end = bytes.length): boolean {
    if (this.failed) return false;
    let needed = this.needed;
    let lower = this.lower;
    let upper = this.upper;
    let i = start;
    while (i < end) {
      if (needed === 0) {
        // ASCII runs dominate real text: skip them without touching the state.
        while (i < end && bytes[i]! < 0x80) i++;
        if (i === end) break;
        const lead = bytes[i++]!;
        if (lead >= 0xc2 && lead <= 0xdf) {
          needed = 1;
        } else if (lead >= 0xe0 && lead <= 0xef) {
          needed = 2;
          if (lead === 0xe0) lower = 0xa0; // no overlong 3-byte forms
          else if (lead === 0xed) upper = 0x9f; // no UTF-16 surrogates
        } else if (lead >= 0xf0 && lead <= 0xf4) {
          needed = 3;
          if (lead === 0xf0) lower = 0x90; // no overlong 4-byte forms
          else if (lead === 0xf4) upper = 0x8f; // nothing above U+10FFFF
        } else {
          this.failed = true; // 80–C1 (stray continuation, overlong 2-byte lead) and F5–FF never start a sequence
          return false;
        }
      } else {
        const b = bytes[i++]!;
        if (b < lower || b > upper) {
          this.failed = true;
          return false;
        }
        lower = 0x80;
        upper = 0xbf;
        needed--;
      }
    }
    this.needed = needed;
    this.lower = lower;
    this.upper = upper;
    return true;
  }

  /** True when no sequence is left open: the input so far is complete, well-formed UTF-8. */
  get complete(): boolean {
    return !this.failed && this.needed === 0;
  }

  reset(): void {
    this.needed = 0;
    this.lower = 0x80;
    this.upper = 0xbf;
    this.failed = false;
  }
}

/**
 * Whether `bytes` is complete, well-formed UTF-8.
 *
 * @example
 * ```ts
 * import { isValidUtf8 } from "@ws/core/protocol";
 *
 * console.log(isValidUtf8(new Uint8Array([0xe2, 0x82, 0xac]))); // true: "€"
 * console.log(isValidUtf8(new Uint8Array([0xe2, 0x82]))); // false: the last character is cut
 * ```
 */
export function isValidUtf8(bytes: Uint8Array): boolean {
  const v = new Utf8Validator();
  return v.update(bytes) && v.complete;
}

const fatalDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lenientDecoder = new TextDecoder("utf-8", { ignoreBOM: true });
const encoder = new TextEncoder();

/**
 * Decodes well-formed UTF-8, or returns null when it is not (one pass: the native decoder validates).
 *
 * @example
 * ```ts
 * import { decodeUtf8Strict } from "@ws/core/protocol";
 *
 * const text = decodeUtf8Strict(new Uint8Array([0xc0, 0x80])); // an overlong NUL
 * if (text === null) console.log("not UTF-8: close with 1007");
 * ```
 */
export function decodeUtf8Strict(bytes: Uint8Array): string | null {
  try {
    return fatalDecoder.decode(bytes);
  } catch {
    return null;
  }
}

/**
 * Decodes bytes already known to be well-formed UTF-8. A leading U+FEFF is kept: it is message content.
 *
 * @example
 * ```ts
 * import { Utf8Validator, decodeUtf8 } from "@ws/core/protocol";
 *
 * const bytes = new Uint8Array([0x68, 0x69]);
 * const utf8 = new Utf8Validator();
 * if (utf8.update(bytes) && utf8.complete) console.log(decodeUtf8(bytes)); // "hi"
 * ```
 */
export function decodeUtf8(bytes: Uint8Array): string {
  return lenientDecoder.decode(bytes);
}

/**
 * The UTF-8 bytes of `text` (a lone surrogate becomes U+FFFD, as TextEncoder does).
 *
 * @example
 * ```ts
 * import { encodeUtf8 } from "@ws/core/protocol";
 *
 * console.log(encodeUtf8("€")); // Uint8Array(3) [ 226, 130, 172 ]
 * ```
 */
export function encodeUtf8(text: string): Uint8Array {
  return encoder.encode(text);
}
