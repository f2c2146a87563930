// The catalogue has the original's 517 case ids in order, and the UTF-8 tables carry the published payloads.
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { catalogue, compareCaseIds, selectCases } from "../src/cases/index.ts";
import { utf8Groups } from "../src/cases/utf8.ts";
import { FrameReader, encodeFrame, toHex } from "../src/frame.ts";
import { judge } from "../src/check.ts";
import type { CaseResult } from "../src/runner.ts";

const REFERENCE = "/work/shared/autobahn/cases.json";
const reference = existsSync(REFERENCE)
  ? (JSON.parse(readFileSync(REFERENCE, "utf8")) as { cases: Array<{ id: string; description: string }> })
  : undefined;

describe("catalogue", () => {
  it("has 517 unique cases in id order", () => {
    const ids = catalogue().map((c) => c.id);
    expect(ids).toHaveLength(517);
    expect(new Set(ids).size).toBe(517);
    expect([...ids].sort(compareCaseIds)).toEqual(ids);
  });

  it.skipIf(!reference)("matches the published case ids", () => {
    expect(catalogue().map((c) => c.id)).toEqual(reference!.cases.map((c) => c.id));
  });

  it.skipIf(!reference)("6.5-6.23 payloads match the published ones", () => {
    const published = new Map(reference!.cases.map((c) => [c.id, c.description]));
    utf8Groups().forEach((g, gi) =>
      g.sequences.forEach((seq, si) => {
        const d = published.get(`6.${gi + 5}.${si + 1}`)!;
        expect(d).toContain(`Payload: 0x${toHex(seq.bytes)}`);
        expect(d.includes("not valid")).toBe(!seq.valid);
      }),
    );
  });

  it("selects with patterns and excludes", () => {
    expect(selectCases(["1.1.*"]).map((c) => c.id)).toEqual(["1.1.1", "1.1.2", "1.1.3", "1.1.4", "1.1.5", "1.1.6", "1.1.7", "1.1.8"]);
    expect(selectCases(["*"], ["9.*", "12.*", "13.*"])).toHaveLength(247);
    expect(selectCases(["6.4.1", "2.1"]).map((c) => c.id)).toEqual(["2.1", "6.4.1"]);
  });
});

describe("raw frames", () => {
  it("writes any bit pattern and reads it back", () => {
    const bytes = encodeFrame({ opcode: 0xb, fin: false, rsv: 5, payload: new Uint8Array(130).fill(7), mask: new Uint8Array([1, 2, 3, 4]) });
    expect(bytes[0]).toBe(0x5b);
    expect(bytes[1]).toBe(0x80 | 126);
    const r = new FrameReader();
    const frames = [...bytes].flatMap((b) => r.push(new Uint8Array([b])));
    expect(frames).toHaveLength(1);
    expect(frames[0]).toMatchObject({ opcode: 0xb, fin: false, rsv: 5, masked: true });
    expect(frames[0].payload).toEqual(new Uint8Array(130).fill(7));
    const big = encodeFrame({ opcode: 2, payloadLen: 70000, payload: new Uint8Array([9]) });
    expect(big[1]).toBe(127);
    expect(new FrameReader().push(big)[0].payload.length).toBe(70000);
  });
});

describe("check verdict", () => {
  const res = (id: string, behavior: string, behaviorClose = "OK", remoteCloseCode: number | null = 1000) =>
    ({ id, behavior, behaviorClose, remoteCloseCode }) as CaseResult;
  it("fails on FAILED, NON-STRICT and differences; allows INFORMATIONAL/UNIMPLEMENTED where the original does", () => {
    const expected = { a: { "1.1.1": { behavior: "OK", behaviorClose: "OK", remoteCloseCode: 1000 } } };
    expect(judge("a", [res("1.1.1", "OK")], expected).ok).toBe(true);
    expect(judge("a", [res("1.1.1", "OK", "OK", 1002)], expected).differing).toEqual(["1.1.1"]);
    expect(judge("a", [res("2.1", "FAILED")], undefined).unacceptable).toEqual(["2.1"]);
    expect(judge("a", [res("6.4.1", "NON-STRICT")], undefined).ok).toBe(false);
    expect(judge("a", [res("6.4.1", "NON-STRICT")], undefined, true).ok).toBe(true);
    expect(judge("a", [res("7.13.1", "INFORMATIONAL", "INFORMATIONAL")], undefined).ok).toBe(true);
    expect(judge("a", [res("12.1.1", "UNIMPLEMENTED")], undefined).ok).toBe(true);
    expect(judge("a", [res("1.1.1", "UNIMPLEMENTED")], undefined).ok).toBe(false);
    expect(judge("a", [res("7.7.1", "OK", "UNCLEAN")], undefined).ok).toBe(false);
  });
});
