import { ServerCore, parseHttpHead, type ByteStream, type ByteStreamEvents } from "@ws/core";
import { echoService } from "../../apps/echo/src/echo-service.ts";
const core = new ServerCore({ services: { "/": echoService } });
const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
console.log("Listening on port " + (l.addr as Deno.NetAddr).port);
function stream(conn: Deno.Conn): ByteStream {
  let ev: ByteStreamEvents; let q: Uint8Array[] = []; let buffered = 0; let writing = false; let closed = false;
  const pump = async () => { writing = true; try { while (q.length) { const c = q.shift()!; let off = 0; while (off < c.length) off += await conn.write(c.subarray(off)); buffered -= c.length; } } catch { closed = true; } writing = false; if (ending) { try { await conn.closeWrite(); } catch {} } ev?.drain(); };
  let ending = false;
  return { start(e) { ev = e; (async () => { const buf = new Uint8Array(65536); try { for (;;) { const n = await conn.read(buf); if (n === null) { ev.end(); break; } ev.data(buf.slice(0, n)); } } catch (e) {} try { conn.close(); } catch {} ev.close(); })(); },
    write(c) { q.push(c); buffered += c.length; if (!writing) pump(); return buffered < 65536; },
    end() { ending = true; if (!writing) pump(); }, destroy() { try { conn.close(); } catch {} }, get bufferedAmount() { return buffered; } };
}
for await (const conn of l) {
  (async () => {
    let buf = new Uint8Array(0); const tmp = new Uint8Array(16384);
    for (;;) { const n = await conn.read(tmp); if (n === null) { conn.close(); return; } const j = new Uint8Array(buf.length + n); j.set(buf); j.set(tmp.subarray(0, n), buf.length); buf = j; const h = parseHttpHead(buf); if (h === null) continue; if (h instanceof Error) { conn.close(); return; }
      const [method, url, v] = h.startLine;
      const out = await core.negotiate({ method, url, httpVersion: v.replace("HTTP/", ""), headers: h.headers });
      if (!out.ok) { await conn.write(out.response); conn.close(); return; }
      conn.setNoDelay(true); const rest = buf.subarray(h.length); out.accept(stream(conn), rest.length ? rest : undefined); return; }
  })();
}
