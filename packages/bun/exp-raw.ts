import { ServerCore, HeaderMap, parseHttpHead } from "@ws/core";
import { BunSocketStream } from "./src/byte-stream.ts";
import { echoService } from "../../apps/echo/src/echo-service.ts";
const core = new ServerCore({ services: { "/": echoService } });
type D = { stream: BunSocketStream; buf: Uint8Array; done: boolean };
const l = Bun.listen<D>({ hostname: "127.0.0.1", port: 0, socket: {
  open(s) { s.data = { stream: new BunSocketStream(s as any), buf: new Uint8Array(0), done: false }; },
  async data(s, d) {
    const st = s.data;
    if (st.done) return st.stream.handleData(d);
    const j = new Uint8Array(st.buf.length + d.length); j.set(st.buf); j.set(d, st.buf.length); st.buf = j;
    const head = parseHttpHead(j); if (!head || head instanceof Error) return;
    st.done = true;
    const [method, url, v] = head.startLine;
    const out = await core.negotiate({ method, url, httpVersion: v.replace("HTTP/", ""), headers: head.headers });
    if (!out.ok) { s.end(out.response); return; }
    s.setNoDelay(true);
    const rest = j.subarray(head.length);
    out.accept(st.stream, rest.length ? rest : undefined);
  },
  drain(s) { s.data.stream.handleDrain(); },
  end(s) { s.data.stream.handleEnd(); },
  close(s, e) { s.data.stream.handleClose(e); },
  error(s, e) {},
}});
console.log("Listening on port " + l.port);
