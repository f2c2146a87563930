// The `ws` npm package is strictly conformant: it must get OK on families 1-7 and 10 in both roles. The one
// exception is the fail-fast family 6.4.*, which ws's own published Autobahn reports show as NON-STRICT (ws
// validates UTF-8 once a whole message is in), and the informational cases 7.1.6 / 7.13.*.
import { afterAll, describe, expect, it } from "vitest";
import { selectCases } from "../src/cases/index.ts";
import { startFuzzingServer } from "../src/fuzzing-server.ts";
import { runClientProcedure } from "../src/drivers/procedure.ts";
import { openWs } from "../src/drivers/ws-client.ts";
import { startWsEchoServer } from "../src/peers/ws-echo-server.ts";
import { isAcceptable } from "../src/report.ts";
import { runClient, type CaseResult } from "../src/runner.ts";
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const FAMILIES = ["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "10.*"];
const WS_NON_STRICT = ["6.4.1", "6.4.2", "6.4.3", "6.4.4"];

function assertReference(results: CaseResult[]): void {
  const bad = results.filter((r) => !isAcceptable(r.id, r)).map((r) => `${r.id}:${r.behavior}/${r.behaviorClose}`);
  expect(bad.map((b) => b.split(":")[0])).toEqual(WS_NON_STRICT);
  for (const id of WS_NON_STRICT) {
    const r = results.find((x) => x.id === id)!;
    expect(r.behavior).toBe("NON-STRICT");
    expect(r.behaviorClose).toBe("OK");
  }
}

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

describe("ws reference peer", () => {
  it("as a server (fuzzing client mode): OK on families 1-7 and 10", async () => {
    const srv = await startWsEchoServer(0);
    cleanups.push(srv.close);
    const results = await runClient(`ws://127.0.0.1:${srv.port}/`, selectCases(FAMILIES), { agent: "ws", concurrency: 8 });
    expect(results).toHaveLength(selectCases(FAMILIES).length);
    assertReference(results);
  });

  it("as a client (fuzzing server mode + ws driver): OK on families 1-7 and 10, reports written", async () => {
    const outdir = mkdtempSync(join(tmpdir(), "autobahn-"));
    const cases = selectCases(FAMILIES);
    const fs = await startFuzzingServer({ port: 0, cases, outdir });
    cleanups.push(fs.close);
    const count = await runClientProcedure({ baseUrl: `ws://127.0.0.1:${fs.port}`, agent: "ws-client", open: openWs });
    expect(count).toBe(cases.length);
    const results = [...fs.results.values()];
    expect(results).toHaveLength(cases.length);
    assertReference(results);
    expect(existsSync(join(outdir, "index.json"))).toBe(true);
    const index = JSON.parse(readFileSync(join(outdir, "index.json"), "utf8"));
    expect(Object.keys(index["ws-client"])).toHaveLength(cases.length);
    expect(index["ws-client"]["1.1.1"]).toMatchObject({ behavior: "OK", behaviorClose: "OK", remoteCloseCode: 1000, reportfile: "ws_client_case_1_1_1.json" });
  });

  it("12.* is UNIMPLEMENTED when the server refuses permessage-deflate", async () => {
    const srv = await startWsEchoServer(0, { perMessageDeflate: false });
    cleanups.push(srv.close);
    const results = await runClient(`ws://127.0.0.1:${srv.port}/`, selectCases(["12.1.1", "13.7.1"]), { agent: "ws" });
    for (const r of results) {
      expect(r.behavior).toBe("UNIMPLEMENTED");
      expect(r.behaviorClose).toBe("OK");
      expect(r.httpRequest).toMatch(/Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; client_max_window_bits/);
    }
  });

  it("12.* and 13.* run for real when the server accepts permessage-deflate (quick)", async () => {
    const srv = await startWsEchoServer(0, { perMessageDeflate: true });
    cleanups.push(srv.close);
    const results = await runClient(`ws://127.0.0.1:${srv.port}/`, selectCases(["12.1.1", "12.2.11", "13.3.2", "13.7.1"]), {
      agent: "ws",
      quick: true,
      concurrency: 4,
    });
    for (const r of results) expect([r.id, r.behavior, r.behaviorClose]).toEqual([r.id, "OK", "OK"]);
  });
});
