/**
 * The settings table (table.ts) put to work: each option checked against its row (unit, bounds, choices), the
 * aliases and deprecated names mapped, and the layers (a service's own, the server's, the defaults) merged
 * into one frozen object that every layer below reads as it is.
 */
import { DEPRECATED_SETTINGS, MAX_TIMER_DELAY, SETTINGS, type SettingName, type SettingRow, type SettingScope } from "./table.ts";

/**
 * A server, client or service option with a value that cannot work.
 *
 * @example
 * ```ts
 * import { InvalidOptionError } from "@ws/core";
 * import { serve } from "@ws/node";
 *
 * try {
 *   await serve({ port: 8080, services: {}, idleTimeout: 30 }); // 30 looks like seconds: refused
 * } catch (error) {
 *   if (error instanceof InvalidOptionError) console.log(error.message); // names the fix: idleTimeout: 30_000
 * }
 * ```
 */
export class InvalidOptionError extends TypeError {
  /** the option as the user wrote it (`services["/chat"].maxPayload`) */
  readonly option: string;
  readonly value: unknown;
  constructor(option: string, value: unknown, allowed: string) {
    super(`${option}: ${describeValue(value)} is not allowed; expected ${allowed}`);
    this.name = "InvalidOptionError";
    this.option = option;
    this.value = value;
  }
}

/** A value as an error message shows it. */
export function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "function") return "a function";
  if (value === null || typeof value !== "object") return String(value);
  if (Array.isArray(value)) return "an array";
  return "an object";
}

type Rows = typeof SETTINGS;
type ValueOf<R> = R extends { readonly unit: "choice"; readonly choices: readonly (infer C)[] }
  ? R extends { readonly default: undefined } ? C | undefined : C
  : R extends { readonly unit: "flag" } ? boolean : number;

/** Every setting with its value: what a connection, a server or a client reads. Frozen. */
export type Settings = { readonly [K in SettingName]: ValueOf<Rows[K]> };

/** Where a deprecated option was seen: it warns once per process, not once per connection. */
const warned = new Set<string>();

/** Where deprecation warnings go (a Logger's `warn`, or console's). */
export type Warn = (message: string) => void;

const fmtNumber = (n: number) => (Number.isInteger(n) ? n.toLocaleString("en-US").replace(/,/g, "_") : String(n));

/** Checks one value against its row; throws InvalidOptionError naming `written` (the name the user used). */
export function checkSetting(name: SettingName, value: unknown, written: string = name): void {
  if (value === undefined) return;
  const row: SettingRow = SETTINGS[name];
  switch (row.unit) {
    case "flag":
      if (typeof value !== "boolean") throw new InvalidOptionError(written, value, "true or false");
      return;
    case "choice":
      if (typeof value !== "string" || !row.choices!.includes(value)) throw new InvalidOptionError(written, value, row.choices!.map((c) => JSON.stringify(c)).join(" or "));
      return;
    case "ms": {
      const off = row.zeroTurnsOff ? " (0 turns it off)" : "";
      if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
        throw new InvalidOptionError(written, value, `a duration in milliseconds, a finite number ≥ 0${off}`);
      }
      if (value === 0 && !row.zeroTurnsOff) throw new InvalidOptionError(written, value, `a duration in milliseconds greater than 0`);
      if (value > 0 && row.plausibleMin !== undefined && value < row.plausibleMin) {
        throw new InvalidOptionError(
          written,
          value,
          `a duration in milliseconds of at least ${fmtNumber(row.plausibleMin)}${off}: durations are in milliseconds (did you mean ${fmtNumber(value * 1000)}, ${value} seconds?)`,
        );
      }
      if (value > MAX_TIMER_DELAY) throw new InvalidOptionError(written, value, `a duration in milliseconds of at most ${fmtNumber(MAX_TIMER_DELAY)} (about 24.8 days, the longest timer JavaScript has)${off}`);
      return;
    }
    default: {
      const what = row.unit === "count" ? "a count" : row.unit === "bytes/s" ? "a number of bytes per second" : "a number of bytes";
      const unlimited = row.unlimited ?? true;
      if (typeof value !== "number" || Number.isNaN(value) || value <= 0 || (!unlimited && !Number.isFinite(value))) {
        throw new InvalidOptionError(written, value, `${what}, a positive number${unlimited ? " (Infinity for no limit)" : ""}`);
      }
    }
  }
}

/** The names a settings object may use for `name` in `o` (its own, its aliases); the first one present. */
function written(o: Record<string, unknown>, name: SettingName): string | undefined {
  if (o[name] !== undefined) return name;
  const row: SettingRow = SETTINGS[name];
  for (const alias of row.aliases ?? []) if (o[alias] !== undefined) return alias;
  return undefined;
}

/** Every key a settings object in `scope` may have: the settings, their aliases, the deprecated names. */
export function settingKeys(scope: SettingScope): string[] {
  const keys: string[] = [];
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const row: SettingRow = SETTINGS[name];
    if (!row.scopes.includes(scope)) continue;
    keys.push(name, ...(row.aliases ?? []));
  }
  for (const [old, d] of Object.entries(DEPRECATED_SETTINGS)) if ((SETTINGS[d.replacement].scopes as readonly SettingScope[]).includes(scope)) keys.push(old);
  return keys;
}

/**
 * Checks the settings in `o` (an options object or a service) for `scope` — the table's rows, their aliases,
 * the deprecated names — and reports settings that do not belong there (a server-only one on a service).
 * `where` prefixes the names in errors (`services["/chat"].`). Other keys are the caller's to check.
 */
export function checkSettings(o: Record<string, unknown>, scope: SettingScope, where = ""): void {
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const key = written(o, name);
    if (key === undefined) continue;
    const row: SettingRow = SETTINGS[name];
    if (!row.scopes.includes(scope)) {
      const places = row.scopes.map((s) => (s === "server" ? "serve()/attach() options" : s === "service" ? "a service" : "connect() options")).join(" or ");
      throw new InvalidOptionError(`${where}${key}`, o[key], `no ${key} here: it is a setting of ${places}`);
    }
    checkSetting(name, o[key], `${where}${key}`);
    const other = row.aliases?.find((a) => a !== key && o[a] !== undefined) ?? (key !== name && o[name] !== undefined ? name : undefined);
    if (other !== undefined) throw new InvalidOptionError(`${where}${other}`, o[other], `only one of ${name} and ${[...(row.aliases ?? [])].join(", ")} (they are the same setting)`);
  }
  for (const [old, d] of Object.entries(DEPRECATED_SETTINGS)) {
    const v = o[old];
    if (v === undefined) continue;
    if (o[d.replacement] !== undefined) throw new InvalidOptionError(`${where}${old}`, v, `only one of ${old} and ${d.replacement}: ${old} is the old name (${d.message})`);
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new InvalidOptionError(`${where}${old}`, v, `a number ≥ 0 (${d.message})`);
    checkSetting(d.replacement, d.convert(v), `${where}${old} (as ${d.replacement}: ${fmtNumber(d.convert(v))})`);
  }
}

/** The value `o` gives for `name`, under its name, an alias or a deprecated name (converted); undefined if none. */
function given(o: Record<string, unknown> | undefined, name: SettingName, warn: Warn | undefined): unknown {
  if (o === undefined) return undefined;
  const key = written(o, name);
  if (key !== undefined) return o[key];
  for (const [old, d] of Object.entries(DEPRECATED_SETTINGS)) {
    if (d.replacement !== name || o[old] === undefined) continue;
    if (!warned.has(old)) {
      warned.add(old);
      (warn ?? ((m: string) => console.warn(m)))(`${old}: ${d.message}`);
    }
    return d.convert(o[old] as number);
  }
  return undefined;
}

/**
 * The settings for `scope`, from the first layer that gives each (a service's own, then the server's), else
 * the table's default for that scope; derived defaults filled in (`maxFrameSize`: `maxMessageSize`). Frozen: a
 * server resolves once per service and every connection of the service reads the same object.
 *
 * @example
 * ```ts
 * import { defineService, resolveSettings } from "@ws/core";
 *
 * const chat = defineService({ maxMessageSize: 64 * 1024, received() {} });
 * const settings = resolveSettings("server", [chat, { idleTimeout: 30_000 }]); // the service's own, then the server's
 * console.log(settings.maxMessageSize, settings.idleTimeout, settings.maxFrameSize); // 65536 30000 65536
 * ```
 */
export function resolveSettings(scope: "server" | "client", layers: ReadonlyArray<object | undefined>, warn?: Warn): Settings {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const row: SettingRow = SETTINGS[name];
    let value: unknown;
    for (const layer of layers) {
      value = given(layer as Record<string, unknown> | undefined, name, warn);
      if (value !== undefined) break;
    }
    out[name] = value !== undefined ? value : scope === "client" && "clientDefault" in row ? row.clientDefault : row.default;
  }
  // the derived defaults (the rows' `defaultText`)
  out.maxFrameSize ??= out.maxMessageSize;
  if (!layers.some((l) => given(l as Record<string, unknown> | undefined, "maxPublishBufferedAmount", warn) !== undefined)) {
    const sendBuffer = layers.map((l) => given(l as Record<string, unknown> | undefined, "maxBufferedAmount", warn)).find((v) => v !== undefined);
    if (sendBuffer !== undefined) out.maxPublishBufferedAmount = sendBuffer;
  }
  return Object.freeze(out) as Settings;
}

/** The defaults, resolved (nothing given). */
export const DEFAULT_SETTINGS: Settings = resolveSettings("server", []);
export const DEFAULT_CLIENT_SETTINGS: Settings = resolveSettings("client", []);
