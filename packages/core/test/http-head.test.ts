/**
 * Issue 21 defect 8: the HTTP head parser (wire/http.ts, the Bun core engine's and the client's) bounds the whole
 * head, complete or not, and reads RFC 9112's syntax strictly, as Node's parser does: no bare LF or CR, no control
 * character in the request-target or a field value, field names that are tokens.
 */
import { describe, expect, it } from "vitest";
import { HttpHeadError, MAX_HTTP_HEAD, parseHttpHead } from "../src/protocol.ts";

/** one byte per char (ISO-8859-1), so control characters and obs-text go on the wire as they are */
const bytes = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
const request = (target: string, fields = "Host: a\r\n") => bytes(`GET ${target} HTTP/1.1\r\n${fields}\r\n`);

function refused(input: Uint8Array, status: number): HttpHeadError {
  const head = parseHttpHead(input);
  expect(head).toBeInstanceOf(HttpHeadError);
  expect((head as HttpHeadError).status).toBe(status);
  return head as HttpHeadError;
}

describe("parseHttpHead: the size bound holds for the whole head", () => {
  it("a 100 KiB request line in one write: 414, though the head is complete", () => {
    refused(request(`/${"a".repeat(100 * 1024)}`), 414);
  });

  it("60 KiB of header fields in one write: 431, though the head is complete", () => {
    const fields = Array.from({ length: 60 }, (_, i) => `X-F${i}: ${"v".repeat(1000)}\r\n`).join("");
    refused(request("/chat", fields), 431);
  });

  it("unterminated past the bound: 414 while still in the request line, 431 after it", () => {
    refused(bytes(`GET /${"a".repeat(MAX_HTTP_HEAD)}`), 414);
    refused(bytes(`GET / HTTP/1.1\r\nX-Big: ${"a".repeat(MAX_HTTP_HEAD)}`), 431);
  });

  it("a head of exactly MAX_HTTP_HEAD bytes is read; one byte more is refused", () => {
    const base = "GET / HTTP/1.1\r\nX: \r\n\r\n";
    const exact = `GET / HTTP/1.1\r\nX: ${"v".repeat(MAX_HTTP_HEAD - base.length)}\r\n\r\n`;
    expect(exact.length).toBe(MAX_HTTP_HEAD);
    const head = parseHttpHead(bytes(exact));
    expect(head).not.toBeInstanceOf(Error);
    expect(head && !(head instanceof Error) && head.length).toBe(MAX_HTTP_HEAD);
    refused(bytes(exact.replace("X: ", "X: v")), 431);
  });

  it("a 101 response head over the bound is refused too (the client's side)", () => {
    refused(bytes(`HTTP/1.1 101 Switching Protocols\r\nX: ${"v".repeat(MAX_HTTP_HEAD)}\r\n\r\n`), 431);
  });
});

describe("parseHttpHead: RFC 9112 character rules, strictly (400)", () => {
  it("refuses NUL, CR, LF and other control characters in a field value; HTAB and obs-text are fine", () => {
    for (const c of ["\0", "\x01", "\x08", "\x0b", "\x1f", "\x7f", "\r"]) refused(request("/", `X: a${c}b\r\n`), 400);
    const head = parseHttpHead(request("/", "X: a\tb\xe9\r\n"));
    expect(head && !(head instanceof Error) ? head.headers.get("x") : null).toBe("a\tb\xe9");
  });

  it("refuses a bare LF anywhere: as a line end, in the request-target, in a value", () => {
    refused(bytes("GET / HTTP/1.1\nHost: a\n\n"), 400);
    refused(bytes("GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n"), 400);
    refused(request("/a\nforged log line"), 400);
    refused(request("/", "X: a\nb\r\n"), 400);
    // an unterminated head with a bare LF is refused at once, not waited on
    refused(bytes("GET /a\nb"), 400);
  });

  it("refuses a bare CR", () => {
    refused(request("/a\rb"), 400);
    refused(bytes("GET / HTTP/1.1\rHost: a\r\n\r\n"), 400);
  });

  it("refuses space, NUL, control characters and raw non-ASCII bytes in the request-target (as Node does)", () => {
    for (const t of ["/a b", "/a\0b", "/a\x01b", "/a\x7fb", "/a\tb", "/a\x9bb", "/caf\xe9"]) refused(request(t), 400);
    refused(bytes("GET  / HTTP/1.1\r\n\r\n"), 400); // two spaces: an empty target
    refused(bytes("GET / HTTP/1.1 \r\n\r\n"), 400);
    refused(bytes("GET / FTP/1.1\r\n\r\n"), 400);
    refused(bytes("G(T / HTTP/1.1\r\n\r\n"), 400); // the method is a token
  });

  it("refuses a field name that is not a token, and obs-fold", () => {
    for (const line of ["X(y): 1", "X y: 1", "X\0: 1", "\xe9: 1", ": 1"]) refused(request("/", `${line}\r\n`), 400);
    refused(request("/", "X: 1\r\n  folded\r\n"), 400);
  });

  it("never repeats the peer's bytes in its message (it is a response body and a log line)", () => {
    const e = refused(request("/secret\x01value"), 400);
    expect(e.message).not.toContain("secret");
  });

  it("reads what is well-formed as before: OWS trimmed (SP, HTAB only), obs-text in values, response heads", () => {
    const head = parseHttpHead(request("/caf%C3%A9?x=1&y=[~]", "A: \t 1 \t\r\nB:\r\nC: \xa0x\xa0\r\n"));
    if (!head || head instanceof Error) throw new Error("expected a head");
    expect(head.startLine).toEqual(["GET", "/caf%C3%A9?x=1&y=[~]", "HTTP/1.1"]);
    expect(head.headers.get("a")).toBe("1");
    expect(head.headers.get("b")).toBe("");
    expect(head.headers.get("c")).toBe("\xa0x\xa0");
    const response = parseHttpHead(bytes("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"));
    expect(response && !(response instanceof Error) ? response.startLine : null).toEqual(["HTTP/1.1", "101", "Switching Protocols"]);
    refused(bytes("HTTP/1.1 101 Switching\x01\r\n\r\n"), 400);
    refused(bytes("HTTP/1.1 1x1 OK\r\n\r\n"), 400);
  });
});
