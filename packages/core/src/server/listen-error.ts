/**
 * A server that cannot listen: one error class on every runtime and engine, with a stable `code`. Each runtime
 * reports the same failure in its own shape — Node's `listen EADDRINUSE: address already in use 127.0.0.1:3790`
 * (`code`, `address`, `port`), Bun.listen's `Failed to listen at 127.0.0.1` (a `code`, no port in the message,
 * none at all for a name that does not resolve), Bun.serve's `Failed to start server. Is port 3790 in use?` (also
 * for a name that does not resolve), Deno's `AddrInUse` / `PermissionDenied` / `InvalidData` classes. This
 * module reads those shapes (plain JavaScript: nothing here imports a runtime) and says what went wrong and how
 * to fix it; the adapters only call `listening()`.
 */

/**
 * Why a server could not listen:
 * - `EADDRINUSE`: the port is taken (another server, another process);
 * - `EACCES`: not allowed to listen there (a port below 1024 without the privilege; Deno without `--allow-net`);
 * - `EADDRNOTAVAIL`: the host is an address, but not one of this machine's;
 * - `ENOTFOUND`: the host is neither an IP address nor a name that resolves;
 * - `ETLS`: the `tls` key, certificate or CA cannot be used (not PEM text — a file's path instead of its
 *   contents —, corrupt, or a key that does not match);
 * - `ELISTEN`: anything else (the runtime's own error is the `cause`).
 */
export type ListenErrorCode = "EADDRINUSE" | "EACCES" | "EADDRNOTAVAIL" | "ENOTFOUND" | "ETLS" | "ELISTEN";

/** Where a server was asked to listen, as the user wrote it. */
export interface ListenAttempt {
  /** the `hostname` (or `host`) option; undefined: all interfaces */
  hostname?: string | undefined;
  /** the `port` option; 0 or undefined: any free port */
  port?: number | string | undefined;
  /** the `tls` option */
  tls?: { key?: unknown; cert?: unknown; ca?: unknown } | undefined;
}

/**
 * Resolves a host name to an address (`dns.promises.lookup`); rejects when it does not resolve.
 *
 * @internal
 */
export type HostLookup = (hostname: string) => Promise<unknown>;

/** What each code means, and the fix, after "cannot listen on host:port: ". */
const EXPLAINED: Record<ListenErrorCode, string> = {
  EADDRINUSE: "the port is in use (EADDRINUSE); pick another port (or 0 for any free one), or stop the process that holds it",
  EACCES:
    "permission denied (EACCES); ports below 1024 need privileges: pick a port of 1024 or more, or grant the privilege (CAP_NET_BIND_SERVICE; on Deno, --allow-net)",
  EADDRNOTAVAIL: "the address is not one of this machine's (EADDRNOTAVAIL); use one of its interfaces' addresses, 127.0.0.1, or 0.0.0.0 for all",
  ENOTFOUND: "the host is neither an IP address nor a name that resolves (ENOTFOUND); check the hostname option, or use an address such as 127.0.0.1 or 0.0.0.0",
  ETLS: 'the TLS key or certificate cannot be used (ETLS); pass the PEM text of each file (readFileSync(path, "utf8")), the key that matches the certificate',
  ELISTEN: "the runtime refused (ELISTEN); see the cause",
};

/**
 * serve() could not listen. The same class, codes and message on every runtime and engine; `cause` is the
 * runtime's own error.
 *
 * @example
 * ```ts
 * import { ListenError } from "@ws/core";
 * import { defineService, serve } from "@ws/node"; // or @ws/bun, @ws/deno
 *
 * const services = { "/echo": defineService({ received: (message, conn) => void conn.send(message) }) };
 * try {
 *   await serve({ port: 8080, services });
 * } catch (error) {
 *   if (error instanceof ListenError && error.code === "EADDRINUSE") {
 *     // "cannot listen on 0.0.0.0:8080: the port is in use (EADDRINUSE); pick another port …"
 *     await serve({ port: 0, services }); // any free port
 *   } else throw error;
 * }
 * ```
 */
export class ListenError extends Error {
  override readonly name = "ListenError";
  /** why: one of the documented codes (see `ListenErrorCode`) */
  readonly code: ListenErrorCode;
  /** the host asked for (`hostname` / `host`), "0.0.0.0" (all interfaces) when none */
  readonly address: string;
  /** the port asked for (0: any free port) */
  readonly port: number;

  constructor(code: ListenErrorCode, attempt: ListenAttempt, cause?: unknown, detail?: string) {
    const address = attempt.hostname || "0.0.0.0";
    const port = Number(attempt.port ?? 0);
    const where = address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
    super(`cannot listen on ${where}: ${detail ? `${detail}: ` : ""}${EXPLAINED[code]}`, cause === undefined ? undefined : { cause });
    this.code = code;
    this.address = address;
    this.port = port;
  }
}

/** True for an IPv4 (dotted quad, each 0–255) or IPv6 address literal. */
function isIpAddress(host: string): boolean {
  if (host.includes(":")) return true;
  const parts = host.split(".");
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/** The fields a runtime's listen error may have (Node and Bun: code, syscall; Deno: its error class's name). */
function shape(error: unknown): { code: string; name: string; message: string; tlsLibrary: boolean } {
  const e = (typeof error === "object" && error !== null ? error : {}) as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === "string" ? v : "");
  return {
    code: text(e.code),
    name: text(e.name),
    message: text(e.message) || String(error),
    // Bun's BoringSSL errors carry `library` and `reason`
    tlsLibrary: "library" in e && "reason" in e,
  };
}

/**
 * The code of a runtime's listen error. `resolves`: whether the host resolved (false: it did not), which the
 * adapters learn by looking it up after a failure — Bun reports a name that does not resolve with the last errno
 * of the thread (Bun.serve: "Is port 0 in use?", or EACCES after a denied listen) or with no code (Bun.listen).
 *
 * @internal
 */
export function listenErrorCode(error: unknown, attempt: ListenAttempt, resolves?: boolean): ListenErrorCode {
  const { code, name, message, tlsLibrary } = shape(error);
  // first: Bun reports a name that does not resolve with whatever errno came last (EADDRINUSE, EACCES, none)
  if (resolves === false) return "ENOTFOUND";
  if (code === "EACCES" || code === "EPERM" || name === "PermissionDenied" || name === "NotCapable") return "EACCES";
  if (code.startsWith("ERR_OSSL") || code.startsWith("ERR_SSL") || code.startsWith("ERR_TLS") || tlsLibrary) return "ETLS";
  if (attempt.tls && (name === "InvalidData" || /certificate|private key|\bPEM\b/i.test(message))) return "ETLS";
  if (code === "ENOTFOUND" || code.startsWith("EAI_") || /failed to lookup address|name or service not known|getaddrinfo/i.test(message)) return "ENOTFOUND";
  // a port of 0 (any free port) cannot be in use: Bun.serve says so of an address it could not bind
  if (code === "EADDRINUSE" || name === "AddrInUse") return Number(attempt.port ?? 0) === 0 ? "EADDRNOTAVAIL" : "EADDRINUSE";
  // Deno's node:net says EINVAL for an address of another machine
  if (code === "EADDRNOTAVAIL" || name === "AddrNotAvailable" || (code === "EINVAL" && attempt.hostname)) return "EADDRNOTAVAIL";
  return "ELISTEN";
}

/** What is wrong with a `tls` field, if it is not PEM text; undefined when it may be (the runtime decides). */
function notPem(field: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  let text: string;
  if (typeof value === "string") text = value;
  else if (value instanceof Uint8Array) text = new TextDecoder().decode(value.subarray(0, 64 * 1024));
  else return undefined; // a runtime's own kind (Bun.file(…), an array): left to the runtime
  const blocks = [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----([^]*?)-----END \1-----/g)];
  if (blocks.length > 0) {
    // each block's body: optional "Name: value" header lines, then base64 (RFC 7468)
    const corrupt = blocks.some(([, , body]) => {
      const base64 = body!.split("\n").filter((line) => !line.includes(":")).join("").replace(/\s+/g, "");
      return base64.length === 0 || base64.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64);
    });
    return corrupt ? `tls.${field} is not PEM text (its base64 is corrupt)` : undefined;
  }
  const shown = JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
  const looksLikePath = text.length < 4096 && !/\s/.test(text.trim()) && /[/\\]|\.(pem|crt|cer|key)$/i.test(text);
  return `tls.${field} is not PEM text (${shown}${looksLikePath ? " is a path: pass the file's contents" : ""})`;
}

/**
 * Checks what can be checked of `tls` before listening: each of key, cert and ca must be PEM text (Deno's
 * node:https takes anything and fails only at each handshake). Throws a ListenError with code ETLS.
 *
 * @internal
 */
export function checkTlsPem(attempt: ListenAttempt): void {
  if (!attempt.tls) return;
  for (const field of ["cert", "key", "ca"] as const) {
    const wrong = notPem(field, attempt.tls[field]);
    if (wrong) throw new ListenError("ETLS", attempt, undefined, wrong);
  }
}

/**
 * The ListenError for a runtime's listen error. With `lookup`, a host that is not an IP address is looked up
 * (bounded to 5 s) to tell a name that does not resolve from the runtimes' other reports.
 *
 * @internal
 */
export async function toListenError(error: unknown, attempt: ListenAttempt, lookup?: HostLookup): Promise<ListenError> {
  if (error instanceof ListenError) return error;
  let resolves: boolean | undefined;
  const host = attempt.hostname;
  if (lookup && host && !isIpAddress(host) && host !== "localhost") {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), 5000)));
    resolves = await Promise.race([lookup(host).then(() => true, () => false), timeout]);
    clearTimeout(timer);
  }
  return new ListenError(listenErrorCode(error, attempt, resolves), attempt, error);
}

/**
 * Runs an adapter's `listen` step (the runtime's listen call, sync or async): the `tls` PEM text checked first,
 * and whatever it throws or rejects with turned into a ListenError.
 *
 * @internal
 */
export async function listening<T>(attempt: ListenAttempt, listen: () => T | Promise<T>, lookup?: HostLookup): Promise<T> {
  checkTlsPem(attempt);
  try {
    return await listen();
  } catch (error) {
    throw await toListenError(error, attempt, lookup);
  }
}
