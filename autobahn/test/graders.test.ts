// Each grader must be able to fail: deliberately broken raw echo servers get non-OK grades on exactly the cases
// their bug affects, and OK everywhere else in the family. A strict raw server gets OK everywhere.
import { afterAll, describe, expect, it } from "vitest";
import { selectCases } from "../src/cases/index.ts";
import { isAcceptable } from "../src/report.ts";
import { runClient, type CaseResult } from "../src/runner.ts";
import { startRawEchoServer, type Bugs } from "./helpers/raw-echo-server.ts";

const servers: Array<{ close(): Promise<void> }> = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function run(bugs: Bugs, patterns: string[]): Promise<Map<string, CaseResult>> {
  const srv = await startRawEchoServer(bugs);
  servers.push(srv);
  const results = await runClient(srv.url, selectCases(patterns), { agent: "raw", concurrency: 8 });
  return new Map(results.map((r) => [r.id, r]));
}

function notAcceptable(results: Map<string, CaseResult>): string[] {
  return [...results.values()].filter((r) => !isAcceptable(r.id, r)).map((r) => r.id);
}

const invalidUtf8Ids = () =>
  selectCases(["6.*"])
    .map((c) => c.id)
    .filter((id) => {
      if (id.startsWith("6.3.") || id.startsWith("6.4.")) return true;
      const c = selectCases([id])[0];
      return /not valid UTF-8/.test(c.description);
    });

describe("strict raw echo server (control)", () => {
  it("gets OK on families 1-7 and 10", async () => {
    const r = await run({}, ["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "10.*"]);
    expect(notAcceptable(r)).toEqual([]);
    for (const id of ["6.4.1", "6.4.2", "6.4.3", "6.4.4"]) expect(r.get(id)!.behavior).toBe("OK");
    expect(r.get("7.1.6")!.behavior).toBe("INFORMATIONAL");
  });
});

describe("graders fail on the affected cases only", () => {
  it("skipping UTF-8 validation fails every invalid-UTF-8 case of family 6", async () => {
    const r = await run({ skipUtf8: true }, ["6.*"]);
    expect(notAcceptable(r).sort()).toEqual(invalidUtf8Ids().sort());
    expect(r.get("6.3.1")!.behavior).toBe("FAILED");
    expect(r.get("6.12.1")!.behavior).toBe("FAILED");
    expect(r.get("6.4.1")!.behavior).toBe("FAILED");
    expect(r.get("6.5.1")!.behavior).toBe("OK");
  });

  it("validating text only at message end is NON-STRICT on the fail-fast cases 6.4.*", async () => {
    const r = await run({ noFailFast: true }, ["6.*"]);
    expect(notAcceptable(r)).toEqual(["6.4.1", "6.4.2", "6.4.3", "6.4.4"]);
    for (const id of ["6.4.1", "6.4.2", "6.4.3", "6.4.4"]) {
      expect(r.get(id)!.behavior).toBe("NON-STRICT");
      expect(r.get(id)!.behaviorClose).toBe("OK");
    }
  });

  it("echoing invalid close codes / answering an empty close with 1005 fails 7.3.1 and 7.9.*", async () => {
    const r = await run({ noCloseCodeValidation: true }, ["7.*"]);
    const expected = ["7.3.1", ...selectCases(["7.9.*"]).map((c) => c.id)];
    expect(notAcceptable(r)).toEqual(expected);
    expect(r.get("7.3.1")!.behaviorClose).toBe("UNCLEAN");
    for (const c of selectCases(["7.9.*"])) {
      expect(r.get(c.id)!.behavior).toBe("FAILED");
      expect(r.get(c.id)!.behaviorClose).toBe("WRONG CODE");
    }
  });

  it("accepting RSV bits fails every case of family 3", async () => {
    const r = await run({ acceptRsv: true }, ["3.*", "1.1.*"]);
    expect(notAcceptable(r)).toEqual(selectCases(["3.*"]).map((c) => c.id));
    expect(r.get("3.1")!.behavior).toBe("FAILED");
    expect(r.get("3.7")!.behaviorClose).toBe("WRONG CODE");
  });

  it("a wrong pong payload fails the ping cases of family 2 but not 2.5, 2.7, 2.8", async () => {
    const r = await run({ wrongPongPayload: true }, ["2.*"]);
    expect(notAcceptable(r)).toEqual(["2.1", "2.2", "2.3", "2.4", "2.6", "2.9", "2.10", "2.11"]);
    expect(r.get("2.1")!.behavior).toBe("FAILED");
  });

  it("accepting reserved opcodes fails every case of family 4", async () => {
    const r = await run({ acceptReservedOpcodes: true }, ["4.*"]);
    expect(notAcceptable(r)).toEqual(selectCases(["4.*"]).map((c) => c.id));
    expect(r.get("4.1.1")!.behaviorClose).toBe("FAILED");
    expect(r.get("4.1.3")!.behavior).toBe("FAILED");
  });
});
