/**
 * Connection ids: unique within the process and, through a random per-process prefix, across processes (the
 * topic broker tells origins apart by them). A counter costs a few bytes per connection where a UUID per
 * connection costs hundreds. The prefix is drawn on the first id, not at import: Cloudflare Workers allow no
 * random values at a module's global scope.
 */
let prefix: string | undefined;
let counter = 0;

export function connectionId(): string {
  prefix ??= Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) => b.toString(16).padStart(2, "0")).join("");
  // join() makes one flat string: `${prefix}-${n}` would be a cons string (two 32-byte cells kept per
  // connection, and the counter's own string behind them)
  return [prefix, (++counter).toString(36)].join("-");
}
