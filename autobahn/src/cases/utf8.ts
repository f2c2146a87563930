// Family 6: UTF-8 handling. The 6.5-6.23 tables follow Markus Kuhn's UTF-8 decoder stress test layout, plus
// non-characters and specials (valid UTF-8 by RFC 3629).
import { CLOSE, type CaseDef } from "../case.ts";
import { OPCODE, concat, encodeHeader, hex, isValidUtf8, resolveMask, applyMask } from "../frame.ts";
import { expect, msg, normalClose, peerFails, s, secs } from "./util.ts";

const KAPPA = hex("cebae1bdb9cf83cebcceb5"); // "κόσμε"
const HELLO_UTF8 = s("Hello-µ@ßöäüàá-UTF-8!!");

export interface Utf8Group {
  title: string;
  sequences: Array<{ valid: boolean; bytes: Uint8Array }>;
}

const v = (h: string) => ({ valid: true, bytes: hex(h) });
const x = (h: string) => ({ valid: false, bytes: hex(h) });

/** The 6.5 .. 6.23 tables, in catalogue order. */
export function utf8Groups(): Utf8Group[] {
  const groups: Utf8Group[] = [];
  groups.push({
    title: "Some valid UTF-8 sequences",
    sequences: [
      { valid: true, bytes: s("hello$world") },
      { valid: true, bytes: s("hello\u00a2world") },
      { valid: true, bytes: s("hello\u20acworld") },
      { valid: true, bytes: s("hello\u{24b62}world") },
      { valid: true, bytes: KAPPA },
    ],
  });
  const prefixes = [];
  for (let n = 1; n <= KAPPA.length; n++) {
    const b = KAPPA.slice(0, n);
    prefixes.push({ valid: isValidUtf8(b), bytes: b });
  }
  groups.push({ title: "All prefixes of a valid UTF-8 string that contains multi-byte code points", sequences: prefixes });
  groups.push({ title: "First possible sequence of a certain length", sequences: [v("00"), v("c280"), v("e0a080"), v("f0908080")] });
  groups.push({ title: "First possible sequence length 5/6 (invalid codepoints)", sequences: [x("f888808080"), x("fc8480808080")] });
  groups.push({ title: "Last possible sequence of a certain length", sequences: [v("7f"), v("dfbf"), v("efbfbf"), v("f48fbfbf")] });
  groups.push({
    title: "Last possible sequence length 4/5/6 (invalid codepoints)",
    sequences: [x("f7bfbfbf"), x("fbbfbfbfbf"), x("fdbfbfbfbfbf")],
  });
  groups.push({
    title: "Other boundary conditions",
    sequences: [v("ed9fbf"), v("ee8080"), v("efbfbd"), v("f48fbfbf"), x("f4908080")],
  });
  const cont = [x("80"), x("bf"), x("80bf"), x("80bf80"), x("80bf80bf"), x("80bf80bf80"), x("80bf80bf80bf")];
  const allCont = new Uint8Array(0xbf - 0x80);
  for (let i = 0; i < allCont.length; i++) allCont[i] = 0x80 + i;
  cont.push({ valid: false, bytes: allCont });
  groups.push({ title: "Unexpected continuation bytes", sequences: cont });
  const lonely = [];
  for (const [lo, hi] of [[0xc0, 0xdf], [0xe0, 0xef], [0xf0, 0xf7], [0xf8, 0xfb], [0xfc, 0xfd]]) {
    const b: number[] = [];
    for (let i = lo; i < hi; i++) b.push(i, 0x20);
    lonely.push({ valid: false, bytes: new Uint8Array(b) });
  }
  groups.push({ title: "Lonely start characters", sequences: lonely });
  const missing = ["c0", "e080", "f08080", "f8808080", "fc80808080", "df", "efbf", "f7bfbf", "fbbfbfbf", "fdbfbfbfbf"].map(x);
  groups.push({ title: "Sequences with last continuation byte missing", sequences: missing });
  groups.push({ title: "Concatenation of incomplete sequences", sequences: [{ valid: false, bytes: concat(missing.map((m) => m.bytes)) }] });
  groups.push({ title: "Impossible bytes", sequences: [x("fe"), x("ff"), x("fefeffff")] });
  groups.push({
    title: "Examples of an overlong ASCII character",
    sequences: [x("c0af"), x("e080af"), x("f08080af"), x("f8808080af"), x("fc80808080af")],
  });
  groups.push({
    title: "Maximum overlong sequences",
    sequences: [x("c1bf"), x("e09fbf"), x("f08fbfbf"), x("f887bfbfbf"), x("fc83bfbfbfbf")],
  });
  groups.push({
    title: "Overlong representation of the NUL character",
    sequences: [x("c080"), x("e08080"), x("f0808080"), x("f880808080"), x("fc8080808080")],
  });
  const surrogates = ["eda080", "edadbf", "edae80", "edafbf", "edb080", "edbe80", "edbfbf"];
  groups.push({ title: "Single UTF-16 surrogates", sequences: surrogates.map(x) });
  const pairs = [];
  for (const hiS of ["eda080", "edadbf", "edae80", "edafbf"]) for (const loS of ["edb080", "edbfbf"]) pairs.push(x(hiS + loS));
  groups.push({ title: "Paired UTF-16 surrogates", sequences: pairs });
  const nonChars = [v("efbfbe"), v("efbfbf")];
  for (const lead of [0xf0, 0xf1, 0xf2, 0xf3, 0xf4]) {
    for (const second of [0x8f, 0x9f, 0xaf, 0xbf]) {
      if (lead === 0xf4 && second !== 0x8f) continue; // beyond U+10FFFF
      if (lead === 0xf0 && second === 0x8f) continue; // overlong
      for (const last of [0xbe, 0xbf]) nonChars.push({ valid: true, bytes: new Uint8Array([lead, second, 0xbf, last]) });
    }
  }
  groups.push({ title: "Non-character code points (valid UTF-8)", sequences: nonChars });
  groups.push({
    title: "Unicode specials (i.e. replacement char)",
    sequences: ["efbfb9", "efbfba", "efbfbb", "efbfbc", "efbfbd", "efbfbe", "efbfbf"].map(v),
  });
  return groups;
}

const INVALID_MSG = hex("cebae1bdb9cf83cebcceb5eda080656469746564");

export function utf8Cases(): CaseDef[] {
  const out: CaseDef[] = [];
  // 6.1 empty payloads
  out.push({
    id: "6.1.1",
    description: "A text message with an empty payload.",
    expectation: "An empty text message is echoed.",
    onOpen(c) {
      expect(c, [msg("")]);
      c.expectedClose = normalClose;
      c.p.sendMessage(new Uint8Array(0), false);
      c.p.killAfter(secs(1));
    },
  });
  out.push({
    id: "6.1.2",
    description: "A text message in three fragments, all empty.",
    expectation: "An empty text message is echoed.",
    onOpen(c) {
      expect(c, [msg("")]);
      c.expectedClose = normalClose;
      c.p.sendFrame({ opcode: OPCODE.text, fin: false });
      c.p.sendFrame({ opcode: OPCODE.continuation, fin: false });
      c.p.sendFrame({ opcode: OPCODE.continuation, fin: true });
      c.p.killAfter(secs(1));
    },
  });
  out.push({
    id: "6.1.3",
    description: "A text message in three fragments: empty, non-empty, empty.",
    expectation: "The middle fragment's payload is echoed as one text message.",
    onOpen(c) {
      expect(c, [msg("middle frame payload")]);
      c.expectedClose = normalClose;
      c.p.sendFrame({ opcode: OPCODE.text, fin: false });
      c.p.sendFrame({ opcode: OPCODE.continuation, fin: false, payload: s("middle frame payload") });
      c.p.sendFrame({ opcode: OPCODE.continuation, fin: true });
      c.p.killAfter(secs(1));
    },
  });
  // 6.2 valid UTF-8, fragmented in different ways
  const valid2 = (id: string, description: string, payload: Uint8Array, send: (c: import("../case.ts").CaseRun) => void): CaseDef => ({
    id,
    description,
    expectation: "The message is echoed unchanged.",
    onOpen(c) {
      expect(c, [msg(payload)]);
      c.expectedClose = normalClose;
      send(c);
      c.p.closeAfter(secs(1));
    },
  });
  out.push(valid2("6.2.1", `Valid UTF-8 text in one frame: ${"48656c6c6f2dc2b540c39fc3b6c3a4c3bcc3a0c3a12d5554462d382121"}.`, HELLO_UTF8, (c) =>
    c.p.sendMessage(HELLO_UTF8, false)));
  out.push(valid2("6.2.2", "The same valid UTF-8 text in two frames, split on a code point boundary (after 15 octets).", HELLO_UTF8, (c) => {
    c.p.sendFrame({ opcode: OPCODE.text, fin: false, payload: HELLO_UTF8.subarray(0, 15) });
    c.p.sendFrame({ opcode: OPCODE.continuation, fin: true, payload: HELLO_UTF8.subarray(15) });
  }));
  out.push(valid2("6.2.3", "The same valid UTF-8 text in frames of one octet each, so frames split code points.", HELLO_UTF8, (c) =>
    c.p.sendMessage(HELLO_UTF8, false, 1)));
  out.push(valid2("6.2.4", "Valid UTF-8 text cebae1bdb9cf83cebcceb5 in frames of one octet each.", KAPPA, (c) => c.p.sendMessage(KAPPA, false, 1)));
  // 6.3 invalid UTF-8
  const invalid3 = (id: string, description: string, fragSize?: number): CaseDef => ({
    id,
    description,
    expectation: "The peer fails the connection (1007) or drops TCP; nothing is echoed.",
    onOpen(c) {
      expect(c, []);
      c.expectedClose = peerFails(CLOSE.invalidPayload, true);
      c.p.sendMessage(INVALID_MSG, false, fragSize);
      c.p.killAfter(secs(1));
    },
  });
  out.push(invalid3("6.3.1", "Invalid UTF-8 (a UTF-16 surrogate) in one text frame: cebae1bdb9cf83cebcceb5eda080656469746564."));
  out.push(invalid3("6.3.2", "The same invalid UTF-8 in frames of one octet each.", 1));
  // 6.4 fail fast
  const p1 = hex("cebae1bdb9cf83cebcceb5");
  const p2 = hex("f4908080");
  const p3 = hex("656469746564");
  const whole = concat([p1, p2, p3]);
  const failFast = (id: string, description: string, parts: [Uint8Array, Uint8Array, Uint8Array], chops: boolean, fatal: boolean): CaseDef => ({
    id,
    description,
    expectation:
      "The first part is accepted (the 1 s wait passes); the part that makes the text invalid is rejected at once with 1007. " +
      "Failing only after the rest arrived is NON-STRICT; never failing is FAILED.",
    onOpen(c) {
      expect(c, [["timeout", "A"]], [["timeout", "A"], ["timeout", "B"]]);
      c.expectedClose = peerFails(CLOSE.invalidPayload, fatal);
      let key: Uint8Array | undefined;
      let offset = 0;
      const rawPart = (part: Uint8Array) => {
        const data = new Uint8Array(part);
        if (key) applyMask(data, key, offset);
        offset += part.length;
        c.p.sendRaw(data);
      };
      if (chops) {
        key = resolveMask(!c.p.isServer);
        c.p.sendRaw(concat([encodeHeader({ fin: true, rsv: 0, opcode: OPCODE.text, length: whole.length, maskKey: key })]));
        rawPart(parts[0]);
      } else c.p.sendFrame({ opcode: OPCODE.text, fin: false, payload: parts[0] });
      c.p.continueLater(
        secs(1),
        () => {
          if (c.p.state !== "open") return;
          c.received.push(["timeout", "A"]);
          if (chops) rawPart(parts[1]);
          else c.p.sendFrame({ opcode: OPCODE.continuation, fin: false, payload: parts[1] });
          c.p.continueLater(
            secs(1),
            () => {
              if (c.p.state !== "open") return;
              c.received.push(["timeout", "B"]);
              if (chops) rawPart(parts[2]);
              else c.p.sendFrame({ opcode: OPCODE.continuation, fin: true, payload: parts[2] });
              c.p.killAfter(secs(1));
            },
            "B",
          );
        },
        "A",
      );
    },
  });
  out.push(failFast("6.4.1", "Invalid UTF-8 in three frames with 1 s pauses: cebae1bdb9cf83cebcceb5 | f4908080 | 656469746564 (U+110000 is out of range).", [p1, p2, p3], false, true));
  out.push(failFast("6.4.2", "As 6.4.1, but the second frame holds only the octet that makes the text invalid: cebae1bdb9cf83cebcceb5f4 | 90 | 8080656469746564.", [whole.subarray(0, 12), whole.subarray(12, 13), whole.subarray(13)], false, true));
  out.push(failFast("6.4.3", "As 6.4.1, but the three parts are chops of one single frame.", [p1, p2, p3], true, true));
  out.push(failFast("6.4.4", "As 6.4.2, but the parts are chops of one single frame.", [whole.subarray(0, 12), whole.subarray(12, 13), whole.subarray(13)], true, false));
  // 6.5 .. 6.23 tables
  utf8Groups().forEach((g, gi) => {
    g.sequences.forEach((seq, si) => {
      const hx = Array.from(seq.bytes, (b) => b.toString(16).padStart(2, "0")).join("");
      out.push({
        id: `6.${gi + 5}.${si + 1}`,
        description: `${g.title}: a text message, one frame, payload 0x${hx} (${seq.valid ? "valid" : "not valid"} UTF-8).`,
        expectation: seq.valid ? "The message is echoed unchanged." : "The peer fails the connection (1007) or drops TCP; nothing is echoed.",
        onOpen(c) {
          if (seq.valid) {
            expect(c, [msg(seq.bytes)]);
            c.expectedClose = normalClose;
          } else {
            expect(c, []);
            c.expectedClose = peerFails(CLOSE.invalidPayload, true);
          }
          c.p.sendMessage(seq.bytes, false);
          c.p.killAfter(secs(0.5));
        },
      });
    });
  });
  return out;
}

export const SUBCATEGORY_TITLES = (): Record<string, string> => {
  const t: Record<string, string> = {};
  utf8Groups().forEach((g, i) => (t[`6.${i + 5}`] = g.title));
  return t;
};
