// The whole catalogue, in the original's case order.
import type { CaseDef } from "../case.ts";
import { basicCases } from "./basic.ts";
import { closeCases } from "./close.ts";
import { deflateCases } from "./deflate.ts";
import { autoFragmentCases, limitCases } from "./limits.ts";
import { utf8Cases } from "./utf8.ts";

let cached: CaseDef[] | undefined;

export function catalogue(): CaseDef[] {
  cached ??= [...basicCases(), ...utf8Cases(), ...closeCases(), ...limitCases(), ...autoFragmentCases(), ...deflateCases()];
  return cached;
}

export function caseIdTuple(id: string): number[] {
  return id.split(".").map(Number);
}

export function compareCaseIds(a: string, b: string): number {
  const x = caseIdTuple(a);
  const y = caseIdTuple(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? -1) - (y[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

function toRegex(pattern: string): RegExp {
  return new RegExp("^" + pattern.trim().replace(/\./g, "\\.").replace(/\*/g, ".*") + "$");
}

/** Resolve "cases" / "exclude" patterns (e.g. "1.*", "6.4.1", "9.*") to case ids in catalogue order. */
export function selectCases(include: string[] = ["*"], exclude: string[] = []): CaseDef[] {
  const inc = include.map(toRegex);
  const exc = exclude.map(toRegex);
  return catalogue()
    .filter((c) => inc.some((r) => r.test(c.id)) && !exc.some((r) => r.test(c.id)))
    .sort((a, b) => compareCaseIds(a.id, b.id));
}

export function findCase(id: string): CaseDef | undefined {
  return catalogue().find((c) => c.id === id);
}

/** Cases whose result the original defines as informational. */
export function isInformationalCase(id: string): boolean {
  return id === "7.1.6" || id.startsWith("7.13.");
}

/** Cases the original reports as UNIMPLEMENTED when the peer lacks the feature (permessage-deflate). */
export function mayBeUnimplemented(id: string): boolean {
  return id.startsWith("12.") || id.startsWith("13.");
}
