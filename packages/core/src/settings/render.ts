/**
 * The settings table as people read it: the README's "Limits and defaults" table and the options interfaces
 * with their TSDoc (options.generated.ts). Both are generated from table.ts and a test fails when either has
 * drifted (`pnpm --filter @ws/core settings` writes them anew).
 */
import { DEPRECATED_SETTINGS, SETTINGS, type SettingName, type SettingRow, type SettingScope } from "./table.ts";

const KiB = 1024;
const MiB = KiB * 1024;
const GiB = MiB * 1024;

const thousands = (n: number) => n.toLocaleString("en-US");

/** A default as the documentation shows it: 16 MiB, 4,096, 60 s, "close". */
export function formatDefault(row: SettingRow, value: number | string | boolean | undefined): string {
  if (row.defaultText !== undefined && value === row.default) return row.defaultText;
  if (value === undefined) return "off";
  if (typeof value === "string") return `\`"${value}"\``;
  if (typeof value === "boolean") return `\`${value}\``;
  if (value === Infinity) return "no limit";
  switch (row.unit) {
    case "bytes":
    case "bytes/s": {
      const per = row.unit === "bytes/s" ? "/s" : "";
      if (value % GiB === 0) return `${value / GiB} GiB${per}`;
      if (value % MiB === 0) return `${value / MiB} MiB${per}`;
      if (value % KiB === 0) return `${value / KiB} KiB${per}`;
      return `${thousands(value)} bytes${per}`;
    }
    case "ms":
      return value % 1000 === 0 ? `${thousands(value)} ms (${thousands(value / 1000)} s)` : `${thousands(value)} ms`;
    default:
      return thousands(value);
  }
}

const UNIT_WORDS: Record<SettingRow["unit"], string> = {
  bytes: "bytes",
  count: "count",
  ms: "milliseconds",
  "bytes/s": "bytes per second",
  choice: "one of",
  flag: "true or false",
};

const SCOPE_WORDS: Record<SettingScope, string> = { server: "server", service: "service", client: "client" };

function defaults(row: SettingRow): string {
  const server = formatDefault(row, row.default);
  if (!("clientDefault" in row) || row.clientDefault === row.default) return server;
  return `${server}; client: ${formatDefault(row, row.clientDefault)}`;
}

function optionCell(name: string, row: SettingRow): string {
  const aliases = (row.aliases ?? []).map((a) => ` (alias \`${a}\`)`).join("");
  const old = Object.entries(DEPRECATED_SETTINGS).filter(([, d]) => d.replacement === name).map(([o]) => `; was \`${o}\``).join("");
  return `\`${name}\`${aliases}${old}`;
}

/** The README's "Limits and defaults" table, one row per setting, from the table. */
export function renderSettingsMarkdown(): string {
  const lines = [
    "| option | what it sets | unit | default | set on | when it is hit | `ws` | Bun (`Bun\u002Eserve`) |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const row: SettingRow = SETTINGS[name];
    const unit = row.unit === "choice" ? row.choices!.map((c) => `\`"${c}"\``).join(", ") : UNIT_WORDS[row.unit];
    const where = row.scopes.map((s) => SCOPE_WORDS[s]).join(", ") + (row.engines ? `; ${row.engines}` : "");
    const zero = row.zeroTurnsOff ? "; 0 turns it off" : "";
    const unlimited = (row.unit === "bytes" || row.unit === "count" || row.unit === "bytes/s") && (row.unlimited ?? true) ? "; `Infinity`: no limit" : "";
    lines.push(`| ${optionCell(name, row)} | ${row.description} | ${unit}${zero}${unlimited} | ${defaults(row)} | ${where} | ${row.whenHit} | ${row.ws} | ${row.bun} |`);
  }
  return lines.join("\n") + "\n";
}

function valueType(row: SettingRow): string {
  if (row.unit === "choice") return row.choices!.map((c) => JSON.stringify(c)).join(" | ");
  if (row.unit === "flag") return "boolean";
  return "number";
}

/** A default as TSDoc's `@defaultValue` shows it: the literal in code, then how it reads (`16_777_216` (16 MiB)). */
function docDefault(row: SettingRow, value: number | string | boolean | undefined): string {
  if (row.defaultText !== undefined && value === row.default) return /^`\w+`$/.test(row.defaultText) ? `the value of ${row.defaultText}` : row.defaultText;
  if (value === undefined) return "unset (off)";
  if (typeof value !== "number") return `\`${JSON.stringify(value)}\``;
  if (value === Infinity) return "`Infinity` (no limit)";
  const literal = `\`${value >= 10_000 ? String(value).replace(/\B(?=(\d{3})+(?!\d))/g, "_") : value}\``;
  const reads = row.unit === "ms" && value % 1000 === 0 ? `${thousands(value / 1000)} s` : formatDefault(row, value);
  return reads === thousands(value) ? literal : `${literal} (${reads})`;
}

function docDefaults(row: SettingRow): string {
  const server = docDefault(row, row.default);
  if (!("clientDefault" in row) || row.clientDefault === row.default) return server;
  return `${server}; on a client: ${docDefault(row, row.clientDefault)}`;
}

function tsdoc(row: SettingRow, indent: string): string {
  const unit = row.unit === "choice" || row.unit === "flag" ? "" : ` Unit: ${UNIT_WORDS[row.unit]}.`;
  const zero = row.zeroTurnsOff ? " 0 turns it off." : "";
  const unlimited = (row.unit === "bytes" || row.unit === "count" || row.unit === "bytes/s") && (row.unlimited ?? true) ? " `Infinity`: no limit." : "";
  const engines = row.engines ? ` Honoured by: ${row.engines}.` : "";
  const desc = row.description.charAt(0).toUpperCase() + row.description.slice(1);
  const text = [
    `${desc}.${unit}${zero}${unlimited}${engines}`,
    `When it is hit: ${row.whenHit}. \`ws\`: ${row.ws}; Bun: ${row.bun}.`,
    `@defaultValue ${docDefaults(row)}`,
  ];
  return `${indent}/**\n${text.map((l) => `${indent} * ${l}`).join("\n")}\n${indent} */`;
}

function members(names: SettingName[], scope: SettingScope, indent: string): string[] {
  const out: string[] = [];
  for (const name of names) {
    const row: SettingRow = SETTINGS[name];
    out.push(tsdoc(row, indent), `${indent}${name}?: ${valueType(row)};`);
    for (const alias of row.aliases ?? []) out.push(`${indent}/**\n${indent} * The same as \`${name}\` (another library's name for it).\n${indent} * @defaultValue the value of \`${name}\`\n${indent} */`, `${indent}${alias}?: ${valueType(row)};`);
    for (const [old, d] of Object.entries(DEPRECATED_SETTINGS)) {
      if (d.replacement !== name) continue;
      out.push(`${indent}/**\n${indent} * @deprecated ${old}: ${d.message}\n${indent} * @defaultValue unset: \`${name}\` applies\n${indent} */`, `${indent}${old}?: number;`);
    }
    void scope;
  }
  return out;
}

const only = (scope: SettingScope, not?: SettingScope) =>
  (Object.keys(SETTINGS) as SettingName[]).filter((n) => {
    const scopes = SETTINGS[n].scopes as readonly SettingScope[];
    return scopes.includes(scope) && (not === undefined || !scopes.includes(not));
  });

/** The options interfaces (ConnectionSettings, ServerSettings, ClientSettings) with their TSDoc, from the table. */
export function renderOptionsModule(): string {
  // a connection setting the client does not have (keepRawRequest)
  const serverOnly = only("service", "client");
  const lines = [
    "// Generated from table.ts by `pnpm --filter @ws/core settings`: edit the table, not this file.",
    "",
    "/** The settings a server sets for all its services and a service may override for its own connections. */",
    "export interface ConnectionSettings {",
    ...members(only("service"), "service", "  "),
    "}",
    "",
    "/** The settings of a whole server (`serve()`, `attach()`), besides the connection settings it gives its services. */",
    "export interface ServerSettings extends ConnectionSettings {",
    ...members(only("server", "service"), "server", "  "),
    "}",
    "",
    "/** The settings of a client connection (`connect()`, `WebSocket`): a connection's, without those only a server has. */",
    `export interface ClientSettings extends ${serverOnly.length > 0 ? `Omit<ConnectionSettings, ${serverOnly.map((n) => JSON.stringify(n)).join(" | ")}>` : "ConnectionSettings"} {`,
    ...members(only("client", "service"), "client", "  "),
    "}",
    "",
  ];
  return lines.join("\n");
}
