/**
 * Options are checked where they are given — `serve()`, `attach()`, `connect()`, a service's registration — with
 * one clear error naming the option, the value and what is allowed, instead of a failure later (a handshake that
 * cannot succeed, a route at "/received", messages piling up for a `recieved` typo). What TypeScript already
 * rejects is checked again here for JavaScript callers and values built at run time.
 */
import type { PerMessageDeflateOptions } from "../wire/deflate.ts";
import type { Service } from "./service.ts";
import type { MetricsHooks } from "../session/metrics.ts";

/** A server, client or service option with a value that cannot work. */
export class InvalidOptionError extends TypeError {
  readonly option: string;
  readonly value: unknown;
  constructor(option: string, value: unknown, allowed: string) {
    super(`${option}: ${describe(value)} is not allowed; expected ${allowed}`);
    this.name = "InvalidOptionError";
    this.option = option;
    this.value = value;
  }
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "function") return "a function";
  if (value === null || typeof value !== "object") return String(value);
  if (Array.isArray(value)) return "an array";
  return "an object";
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** A size or count: a positive number, `Infinity` for no limit. */
function size(where: string, o: Record<string, unknown>, key: string): void {
  const v = o[key];
  if (v === undefined) return;
  if (typeof v !== "number" || Number.isNaN(v) || v <= 0) throw new InvalidOptionError(`${where}${key}`, v, "a positive number of bytes or a count (Infinity for no limit)");
}

/** A duration or timeout: a finite number ≥ 0 (0 turns it off where the option says so). */
function duration(where: string, o: Record<string, unknown>, key: string): void {
  const v = o[key];
  if (v === undefined) return;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new InvalidOptionError(`${where}${key}`, v, "a finite number ≥ 0");
}

function oneOf(where: string, o: Record<string, unknown>, key: string, values: readonly string[]): void {
  const v = o[key];
  if (v === undefined) return;
  if (typeof v !== "string" || !values.includes(v)) throw new InvalidOptionError(`${where}${key}`, v, values.map((x) => JSON.stringify(x)).join(" or "));
}

function integer(where: string, o: Record<string, unknown>, key: string, min: number, max: number): void {
  const v = o[key];
  if (v === undefined) return;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) throw new InvalidOptionError(`${where}${key}`, v, `an integer from ${min} to ${max}`);
}

function flag(where: string, o: Record<string, unknown>, key: string): void {
  const v = o[key];
  if (v !== undefined && typeof v !== "boolean") throw new InvalidOptionError(`${where}${key}`, v, "true or false");
}

/** The settings a server and each service share (ConnectionSettings and the protocol limits). */
function checkSettings(where: string, o: Record<string, unknown>): void {
  for (const key of ["maxMessageSize", "maxFrameSize", "maxFragments", "maxBufferedAmount", "inflateRate"]) size(where, o, key);
  for (const key of ["connectionTimeout", "closeTimeout", "messageTimeout"]) duration(where, o, key);
  oneOf(where, o, "backpressure", ["close", "reject"]);
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
  "maxMessageSize",
  "maxFrameSize",
  "maxFragments",
  "connectionTimeout",
  "closeTimeout",
  "maxBufferedAmount",
  "backpressure",
  "messageTimeout",
  "inflateRate",
  "keepRawRequest",
] as const;

const METRICS_HOOKS: ReadonlyArray<keyof MetricsHooks> = ["opened", "closed", "upgradeRefused", "messageIn", "messageOut", "handlerError", "protocolError"];

/** Checks one service as it is registered on `path`. */
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
  checkSettings(`${where}.`, service);
  flag(`${where}.`, service, "keepRawRequest");
}

/** Checks a path a service is registered on. */
export function checkPath(path: unknown): void {
  if (typeof path !== "string") throw new InvalidOptionError("services", path, `a path ("/chat") as the key of each service`);
}

/**
 * Checks a server's options (serve(), attach(), a runtime engine's handlers) before anything listens. The keys an
 * adapter adds of its own (port, tls, fetch, …) are the adapter's to check; unknown keys are not refused here.
 */
export function checkServerOptions(options: unknown, where = "options"): void {
  if (!isObject(options)) throw new InvalidOptionError(where, options, "an options object, e.g. { services: { \"/chat\": chat } }");
  const o = options;
  checkSettings("", o);
  for (const key of ["maxConnections", "maxPendingMessageBytes", "maxServerBufferedAmount", "maxPublishBufferedAmount"]) size("", o, key);
  duration("", o, "handshakeTimeout");
  flag("", o, "keepRawRequest");
  oneOf("", o, "publishBackpressure", ["skip", "close"]);
  oneOf("", o, "publishCompression", ["shared", "per-connection"]);
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

/** Checks a client's URL and options (connect()). */
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
  checkSettings("", options);
  duration("", options, "handshakeTimeout");
  checkDeflate("", options.perMessageDeflate);
  const protocols = options.protocols;
  if (protocols !== undefined && !(Array.isArray(protocols) && protocols.every((p) => typeof p === "string" && p.length > 0))) {
    throw new InvalidOptionError("protocols", protocols, "an array of subprotocol names");
  }
}

/** Checks a listening port: an integer 0–65535 (0 picks a free one), or such a number as a string (PORT). */
export function checkPort(port: unknown): number | undefined {
  if (port === undefined) return undefined;
  const n = typeof port === "string" && /^\d+$/.test(port) ? Number(port) : port;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidOptionError("port", port, "an integer from 0 to 65535 (0: any free port)");
  return n;
}
