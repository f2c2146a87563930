/**
 * Connection ids: unique within the process and, through a random per-process prefix, across processes (the
 * topic broker tells origins apart by them). A counter costs a few bytes per connection where a UUID per
 * connection costs hundreds.
 */
const prefix = Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) => b.toString(16).padStart(2, "0")).join("");
let counter = 0;

export function connectionId(): string {
  return `${prefix}-${(++counter).toString(36)}`;
}
