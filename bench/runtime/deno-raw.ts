/** A raw TCP echo on Deno (Deno.listen): the ceiling for Deno. */
declare const Deno: any;

const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(Deno.env.get("PORT") ?? 0) });
console.log(`LISTENING ${listener.addr.port}`);

async function echo(conn: any): Promise<void> {
  const buf = new Uint8Array(16 * 1024); // per connection: kept small, it counts in the idle-memory scenario
  try {
    for (;;) {
      const n: number | null = await conn.read(buf);
      if (n === null) break;
      let off = 0;
      while (off < n) off += await conn.write(buf.subarray(off, n));
    }
  } catch {
    // reset by the peer
  }
  try {
    conn.close();
  } catch {
    // already closed
  }
}

for await (const conn of listener) {
  conn.setNoDelay?.(true);
  void echo(conn);
}
