/**
 * Options are checked where they are given — `serve()`, `attach()`, `connect()`, a service's registration — with
 * one clear error naming the option, the value and what is allowed, instead of a failure later (a handshake that
 * cannot succeed, a route at "/received", messages piling up for a `recieved` typo). What TypeScript already
 * rejects is checked again here for JavaScript callers and values built at run time.
 */
import type { PerMessageDeflateOptions } from "../wire/deflate.ts";
import type { Service } from "./service.ts";
import type { MetricsHooks } from "../session/metrics.ts";
import { checkSettings, InvalidOptionError } from "../settings/resolve.ts";
import { PLUMBING_KEYS } from "./plumbing.ts";
import { settingKeys } from "../settings/resolve.ts";

export { InvalidOptionError } from "../settings/resolve.ts";

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function integer(where: string, o: Record<string, unknown>, key: string, min: number, max: number): void {
  const v = o[key];
  if (v === undefined) return;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) throw new InvalidOptionError(`${where}${key}`, v, `an integer from ${min} to ${max}`);
}

function flag(where: string, o: Record<string, unknown>, key: string): void {
  const v = o[key];
  if (v !== undefined && typeof v !== "boolean") throw new InvalidOptionError(`${where}${key}`, v, "true or false");
}

const DEFLATE_KEYS: ReadonlyArray<keyof PerMessageDeflateOptions> = [
  "serverNoContextTakeover",
  "clientNoContextTakeover",
  "serverMaxWindowBits",
  "clientMaxWindowBits",
  "threshold",
  "level",
  "memLevel",
  "historySize",
];

function checkDeflate(where: string, v: unknown): void {
  if (v === undefined || typeof v === "boolean") return;
  if (!isObject(v)) throw new InvalidOptionError(`${where}perMessageDeflate`, v, "true, false or an object of permessage-deflate preferences");
  unknownKeys(`${where}perMessageDeflate.`, v, DEFLATE_KEYS);
  const w = `${where}perMessageDeflate.`;
  flag(w, v, "serverNoContextTakeover");
  flag(w, v, "clientNoContextTakeover");
  integer(w, v, "serverMaxWindowBits", 9, 15); // zlib cannot compress with an 8-bit window
  integer(w, v, "clientMaxWindowBits", 8, 15);
  integer(w, v, "threshold", 0, Number.MAX_SAFE_INTEGER);
  integer(w, v, "level", 0, 9);
  integer(w, v, "memLevel", 1, 9);
  integer(w, v, "historySize", 0, 32768);
}

/** Levenshtein distance, for "did you mean …?" on a misspelt key. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const kept = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = kept;
    }
  }
  return row[b.length]!;
}

function unknownKeys(where: string, o: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(o)) {
    if (known.includes(key)) continue;
    const near = known.filter((k) => distance(k.toLowerCase(), key.toLowerCase()) <= 2);
    const hint = near.length > 0 ? ` (did you mean ${near.join(" or ")}?)` : "";
    throw new InvalidOptionError(`${where}${key}`, o[key], `one of the known keys${hint}: ${known.join(", ")}`);
  }
}

/** The keys of a service object: its hooks, its subprotocols and the settings it may override. */
export const SERVICE_KEYS = [
  "protocols",
  "upgrade",
  "connected",
  "disconnected",
  "received",
  "error",
  ...settingKeys("service"),
] as const;

const METRICS_HOOKS: ReadonlyArray<keyof MetricsHooks> = ["opened", "closed", "upgradeRefused", "messageIn", "messageOut", "handlerError", "protocolError"];

/**
 * Checks one service as it is registered on `path`.
 *
 * @internal
 */
export function checkService(path: string, service: unknown): asserts service is Service<unknown> {
  const where = `services["${path}"]`;
  if (!isObject(service)) {
    const hint = typeof service === "function" && (SERVICE_KEYS as readonly string[]).includes(path)
      ? `; services maps paths to services ({ "/chat": chatService }), and this looks like a service given in place of the map`
      : "";
    throw new InvalidOptionError(where, service, `a service object (defineService({ received(message, conn) { … } }))${hint}`);
  }
  unknownKeys(`${where}.`, service, SERVICE_KEYS);
  for (const hook of ["upgrade", "connected", "disconnected", "received", "error"]) {
    const v = service[hook];
    if (v !== undefined && typeof v !== "function") throw new InvalidOptionError(`${where}.${hook}`, v, "a function");
  }
  const protocols = service.protocols;
  if (protocols !== undefined && typeof protocols !== "function" && !(Array.isArray(protocols) && protocols.every((p) => typeof p === "string" && p.length > 0))) {
    throw new InvalidOptionError(`${where}.protocols`, protocols, "an array of subprotocol names or a function choosing among the client's");
  }
  checkSettings(service, "service", `${where}.`);
}

/** Checks a path a service is registered on. */
export function checkPath(path: unknown): void {
  if (typeof path !== "string") throw new InvalidOptionError("services", path, `a path ("/chat") as the key of each service`);
}

/** The keys of a server's options that core knows (ServerOptions): its settings, services and hooks. */
export const SERVER_KEYS: readonly string[] = [
  "services",
  "resolve",
  "perMessageDeflate",
  "logger",
  "onError",
  "metrics",
  "broker",
  ...settingKeys("server"),
];

/**
 * Options of `ws`, Bun.serve and Deno.serve that a migrating user tries where this toolkit has another way: the
 * fix for each. An adapter adds its own for the keys whose fix depends on where they are written (`server`,
 * `noServer`, `port` …). `maxPayload` and `perMessageDeflate` are not here: they are ours too.
 */
export const FOREIGN_OPTIONS: Readonly<Record<string, string>> = {
  path: `use services: { "/ws": yourService } (path is ws's option)`,
  verifyClient: "use the service's upgrade(req) gate: return { reject: 401, reason } to refuse (verifyClient is ws's option)",
  handleProtocols: "use the service's protocols: an array, or a function choosing among the client's (handleProtocols is ws's option)",
  clientTracking: "connections are always tracked: read server.connections (clientTracking is ws's option)",
  skipUTF8Validation: "text messages are always checked for UTF-8, as RFC 6455 requires (skipUTF8Validation is ws's option)",
  websocket: `use services: { "/ws": { received(message, conn) { … }, connected(conn) { … } } } (websocket: { message, open, close } is the option of Bun's serve)`,
  maxPayloadLength: "use maxMessageSize (maxPayloadLength is the option of Bun's serve)",
  backpressureLimit: "use maxBufferedAmount (backpressureLimit is the option of Bun's serve)",
  closeOnBackpressureLimit: `use backpressure: "close" (closeOnBackpressureLimit is the option of Bun's serve)`,
  handler: "use fetch for plain HTTP and services for WebSocket paths (handler is the option of Deno's serve)",
  onListen: "await serve(): it resolves once listening, with port and url (onListen is the option of Deno's serve)",
};

/** An option that is not one here, by a name another library (or another entry point) uses: its message names the fix. */
export class ForeignOptionError extends InvalidOptionError {
  constructor(where: string, option: string, value: unknown, fix: string) {
    super(option, value, fix);
    this.message = `${where}: ${option} is not an option here; ${fix}`;
  }
}

/**
 * What an adapter's entry point (serve(), attach(), handler()) adds to core's server options.
 *
 * @internal
 */
export interface AdapterKeys {
  /** the keys it takes besides core's (port, hostname, tls, fetch, engine, …) */
  keys: readonly string[];
  /** the fix for a key it does not take where another entry point does (`port` in attach(): use serve()) */
  foreign?: Readonly<Record<string, string>>;
}

/**
 * Checks a server's options (serve(), attach(), a runtime engine's handlers) before anything listens. With
 * `adapter` (the entry point's own keys), a key that is neither core's nor the adapter's is refused: by the fix
 * when it is another library's option (`FOREIGN_OPTIONS`, `adapter.foreign`), else with "did you mean …?".
 * Without it (ServerCore, called with an adapter's options), only the other libraries' options are refused.
 *
 * @internal
 */
export function checkServerOptions(options: unknown, where = "options", adapter?: AdapterKeys): void {
  if (!isObject(options)) throw new InvalidOptionError(where, options, "an options object, e.g. { services: { \"/chat\": chat } }");
  const o = options;
  const known = adapter ? [...SERVER_KEYS, ...adapter.keys] : undefined;
  for (const key of Object.keys(o)) {
    if (known?.includes(key) || o[key] === undefined) continue;
    const fix = adapter?.foreign?.[key] ?? FOREIGN_OPTIONS[key];
    if (fix !== undefined) throw new ForeignOptionError(where, key, o[key], fix);
  }
  if (known) unknownKeys("", o, known);
  // an adapter's plumbing is ServerCore's second parameter, never an option (even where other keys are not checked)
  else unknownKeys("", plumbingIn(o), SERVER_KEYS);
  checkSettings(o, "server");
  checkDeflate("", o.perMessageDeflate);
  const services = o.services;
  if (services !== undefined && !(isObject(services) && typeof (services as { register?: unknown }).register === "function")) {
    if (!isObject(services)) throw new InvalidOptionError("services", services, `an object of paths to services ({ "/chat": chatService }) or a Router`);
    for (const [path, service] of Object.entries(services)) {
      checkPath(path);
      checkService(path, service);
    }
  }
  if (o.onError !== undefined && typeof o.onError !== "function") throw new InvalidOptionError("onError", o.onError, "a function (error, conn?) => …");
  const metrics = o.metrics;
  if (metrics !== undefined) {
    if (!isObject(metrics)) throw new InvalidOptionError("metrics", metrics, "an object of metrics hooks ({ opened, closed, … })");
    unknownKeys("metrics.", metrics, METRICS_HOOKS);
    for (const hook of METRICS_HOOKS) {
      if (metrics[hook] !== undefined && typeof metrics[hook] !== "function") throw new InvalidOptionError(`metrics.${hook}`, metrics[hook], "a function");
    }
  }
  const logger = o.logger;
  if (logger !== undefined && !(isObject(logger) && ["info", "warn", "error"].every((k) => typeof (logger as Record<string, unknown>)[k] === "function"))) {
    throw new InvalidOptionError("logger", logger, "an object with info, warn and error methods (console, pino, …)");
  }
}

/**
 * Checks that a serve() has something to serve: services (or `resolve`), a fetch handler, or both. Without them
 * every request is a 404 or a 426 and nothing says why.
 *
 * @internal
 */
export function checkServes(options: { services?: unknown; resolve?: unknown; fetch?: unknown }): void {
  if (options.services === undefined && options.resolve === undefined && options.fetch === undefined) {
    throw new TypeError(`serve() needs services ({ "/chat": chat }) or a fetch handler (or both)`);
  }
}

/**
 * The warning for a service with no hook that could read or decide anything (no received, connected or upgrade):
 * its messages queue for a `conn.read()` that nothing calls, and reading pauses. Not refused: a test or an app may
 * register one for a handshake-only endpoint.
 */
export function hooklessService(path: string, service: Service<unknown>): string | undefined {
  if (service.received || service.connected || service.upgrade) return undefined;
  return `services["${path}"] has no hooks: its messages wait for conn.read(), which nothing calls; add received(message, conn) { … } (or connected(conn) that reads, or an upgrade gate for a handshake-only endpoint)`;
}

/** The keys of a client's options that core knows (ClientOptions), and the adapters' `tls`. */
export const CLIENT_KEYS: readonly string[] = [
  "protocols",
  "headers",
  "origin",
  "logger",
  "onError",
  "metrics",
  "perMessageDeflate",
  "http2",
  "tls",
  ...settingKeys("client"),
];

/** The adapter plumbing keys written in `o` (AdapterPlumbing): they belong to a parameter of their own. */
function plumbingIn(o: Record<string, unknown>): Record<string, unknown> {
  const found: Record<string, unknown> = {};
  for (const key of PLUMBING_KEYS) if (o[key] !== undefined) found[key] = o[key];
  return found;
}

/**
 * Checks a client's URL and options (connect()).
 *
 * @internal
 */
export function checkClientOptions(url: unknown, options: unknown): void {
  let u: URL;
  try {
    u = new URL(url instanceof URL ? url.href : String(url));
  } catch {
    throw new InvalidOptionError("url", url, "an absolute ws://, wss://, http:// or https:// URL");
  }
  if (typeof url !== "string" && !(url instanceof URL)) throw new InvalidOptionError("url", url, "a string or a URL");
  if (!["ws:", "wss:", "http:", "https:"].includes(u.protocol)) throw new InvalidOptionError("url", url, "a ws://, wss://, http:// or https:// URL");
  if (options === undefined) return;
  if (!isObject(options)) throw new InvalidOptionError("options", options, "an options object");
  unknownKeys("", plumbingIn(options), CLIENT_KEYS);
  checkSettings(options, "client");
  checkDeflate("", options.perMessageDeflate);
  if (options.http2 !== undefined && typeof options.http2 !== "boolean" && options.http2 !== "auto") {
    throw new InvalidOptionError("http2", options.http2, 'true (HTTP/2 only), "auto" (HTTP/2 when the server offers it) or false');
  }
  const protocols = options.protocols;
  if (protocols !== undefined && !(Array.isArray(protocols) && protocols.every((p) => typeof p === "string" && p.length > 0))) {
    throw new InvalidOptionError("protocols", protocols, "an array of subprotocol names");
  }
}

/**
 * Checks a listening port: an integer 0–65535 (0 picks a free one), or such a number as a string (PORT).
 *
 * @internal
 */
export function checkPort(port: unknown): number | undefined {
  if (port === undefined) return undefined;
  const n = typeof port === "string" && /^\d+$/.test(port) ? Number(port) : port;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidOptionError("port", port, "an integer from 0 to 65535 (0: any free port)");
  return n;
}
