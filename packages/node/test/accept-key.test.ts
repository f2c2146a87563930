/**
 * Sec-WebSocket-Accept on Node comes from node:crypto's SHA-1 (the adapter's `acceptKey`): it must equal the
 * core's portable computation for every key, and the RFC 6455 §1.3 example.
 */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { acceptKey } from "@ws/core/protocol";
import { nativeAcceptKey } from "@ws/node-http";

describe("nativeAcceptKey", () => {
  it("gives the RFC 6455 §1.3 example's answer", () => {
    expect(nativeAcceptKey("dGhlIHNhbXBsZSBub25jZQ==")).toBe("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  });

  it("agrees with the core's portable SHA-1 on random keys", () => {
    for (let i = 0; i < 500; i++) {
      const key = randomBytes(16).toString("base64");
      expect(nativeAcceptKey(key)).toBe(acceptKey(key));
    }
  });

  it("reads a key that is not ASCII as latin1, as the core does", () => {
    for (const key of ["é-not-base64", "\u00ff\u0080abc", "plain"]) expect(nativeAcceptKey(key)).toBe(acceptKey(key));
  });
});
