/**
 * TLS and HTTP/2 from the environment, the same on Node, Bun and Deno (`get`: process.env's or Deno.env's lookup):
 * TLS_CERT and TLS_KEY are paths of PEM files (both, or neither); HTTP2=1 serves WebSockets over HTTP/2 (RFC 8441)
 * and HTTP/1.1 on the one port — with TLS, else cleartext h2c for a proxy that speaks it.
 */
import { readFileSync } from "node:fs";

/** serve()'s `tls` and `http2` from TLS_CERT, TLS_KEY and HTTP2; a half-given pair throws. */
export function tlsFromEnv(get: (name: string) => string | undefined): { tls?: { cert: string; key: string }; http2?: boolean } {
  const cert = get("TLS_CERT");
  const key = get("TLS_KEY");
  if (Boolean(cert) !== Boolean(key)) throw new Error("TLS_CERT and TLS_KEY go together: the paths of the certificate and of its key (PEM)");
  const http2 = get("HTTP2") === "1" || get("HTTP2") === "true";
  return {
    ...(cert && key ? { tls: { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") } } : {}),
    ...(http2 ? { http2: true } : {}),
  };
}
