// Families 12 and 13: permessage-deflate (RFC 7692). The runner offers the extension the way the original does
// (default offer: "permessage-deflate; client_no_context_takeover; client_max_window_bits"); when the peer does not
// accept it the case is UNIMPLEMENTED. When it does, the runner's codec (node:zlib) compresses each message on its
// own and inflates the peer's messages with the previous 32 KiB of output as the window (context takeover).
import zlib from "node:zlib";
import { createHash } from "node:crypto";
import type { CaseDef, CaseRun, DeflateOffer } from "../case.ts";
import type { MessageCodec } from "../session.ts";
import { normalClose, secs } from "./util.ts";
import { QUICK_COUNT } from "./limits.ts";

const TAIL = new Uint8Array([0x00, 0x00, 0xff, 0xff]);

export function offerString(o: DeflateOffer): string {
  let e = "permessage-deflate; client_no_context_takeover; client_max_window_bits";
  if (o.requestNoContextTakeover) e += "; server_no_context_takeover";
  if (o.requestMaxWindowBits) e += `; server_max_window_bits=${o.requestMaxWindowBits}`;
  return e;
}

export interface DeflateParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number;
  clientMaxWindowBits: number;
}

/** Parse a Sec-WebSocket-Extensions value into its permessage-deflate elements (one per offer). */
export function parseDeflate(header: string | undefined): Array<Record<string, string | true>> {
  if (!header) return [];
  const out: Array<Record<string, string | true>> = [];
  for (const ext of header.split(",")) {
    const [name, ...params] = ext.split(";").map((x) => x.trim());
    if (name !== "permessage-deflate") continue;
    const rec: Record<string, string | true> = {};
    for (const p of params) {
      const i = p.indexOf("=");
      if (i < 0) rec[p] = true;
      else rec[p.slice(0, i).trim()] = p.slice(i + 1).trim().replace(/^"|"$/g, "");
    }
    out.push(rec);
  }
  return out;
}

export function paramsFromResponse(rec: Record<string, string | true>): DeflateParams {
  const bits = (v: string | true | undefined) => (typeof v === "string" ? Number(v) : 15);
  return {
    serverNoContextTakeover: !!rec["server_no_context_takeover"],
    clientNoContextTakeover: !!rec["client_no_context_takeover"],
    serverMaxWindowBits: bits(rec["server_max_window_bits"]),
    clientMaxWindowBits: bits(rec["client_max_window_bits"]),
  };
}

/**
 * Message codec for one side. `ownBits` limits our compressor's window; unless `ownNoContextTakeover`, our
 * compressor takes its LZ77 window over from message to message, as the original's continuous zlib stream does
 * (the previous messages' data as a preset dictionary), so a peer that does not keep its inflate window fails.
 * Inflation keeps the peer's window.
 */
export function createCodec(ownBits: number, ownNoContextTakeover = false): MessageCodec {
  let window: Buffer = Buffer.alloc(0);
  let sent: Buffer = Buffer.alloc(0);
  const windowBits = Math.max(9, Math.min(15, ownBits));
  return {
    compress(data) {
      const options: zlib.ZlibOptions = { windowBits, finishFlush: zlib.constants.Z_SYNC_FLUSH };
      if (!ownNoContextTakeover && sent.length > 0) options.dictionary = sent;
      const out = zlib.deflateRawSync(data, options);
      if (!ownNoContextTakeover) {
        sent = Buffer.concat([sent, data]);
        if (sent.length > 1 << windowBits) sent = sent.subarray(sent.length - (1 << windowBits));
      }
      const n = out.length;
      if (n >= 4 && out[n - 4] === 0 && out[n - 3] === 0 && out[n - 2] === 0xff && out[n - 1] === 0xff)
        return new Uint8Array(out.buffer, out.byteOffset, n - 4);
      return new Uint8Array(out);
    },
    decompress(data) {
      const input = Buffer.concat([data, TAIL]);
      const opts: zlib.ZlibOptions = { finishFlush: zlib.constants.Z_SYNC_FLUSH, windowBits: 15 };
      if (window.length > 0) opts.dictionary = window;
      const out = zlib.inflateRawSync(input, opts);
      window = Buffer.concat([window, out]);
      if (window.length > 32768) window = window.subarray(window.length - 32768);
      return new Uint8Array(out.buffer, out.byteOffset, out.length);
    },
  };
}

// ------------------------------------------------------------------------------------------- test data

interface TestData {
  desc: string;
  size: number;
  binary: boolean;
  make(size: number): Uint8Array;
}

function prng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

const WORDS =
  "der die das und ist nicht ein zu mit sich auf dem den des von ich du er sie es wir ihr Faust Mephistopheles Gretchen Geist Welt Natur Himmel Erde Nacht Tag Herz Sinn Wort Kraft Tat"
    .split(" ");

function asciiText(size: number, seed: number, style: "json" | "html" | "prose"): Uint8Array {
  const rnd = prng(seed);
  const parts: string[] = [];
  let n = 0;
  let i = 0;
  while (n < size) {
    const w = WORDS[rnd() % WORDS.length].replace(/[^\x20-\x7e]/g, "");
    let piece: string;
    if (style === "json") piece = `{"id":${i},"name":"${w}","value":${rnd() % 100000},"tags":["${w}","x${rnd() % 97}"]},\n`;
    else if (style === "html") piece = `<div class="c${rnd() % 13}"><a href="/p/${i}">${w}</a> ${w} ${WORDS[rnd() % WORDS.length]}</div>\n`;
    else piece = `${w}${rnd() % 9 === 0 ? ".\n" : " "}`;
    parts.push(piece);
    n += piece.length;
    i++;
  }
  return new TextEncoder().encode(parts.join("").slice(0, size));
}

function binaryData(size: number, seed: number, randomShare: number): Uint8Array {
  const rnd = prng(seed);
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = rnd() % 100 < randomShare ? rnd() & 0xff : (i >> 3) & 0xff;
  return out;
}

/** Synthetic stand-ins with the sizes and kinds of the original's data files (the files themselves are not shipped). */
export const TEST_DATA: TestData[] = [
  { desc: "Large JSON data file (synthetic)", size: 194056, binary: false, make: (n) => asciiText(n, 1, "json") },
  { desc: "Bitmap 512x512 bw (synthetic)", size: 263222, binary: true, make: (n) => binaryData(n, 2, 20) },
  { desc: "Human readable German text (synthetic, sent as binary)", size: 222218, binary: true, make: (n) => asciiText(n, 3, "prose") },
  { desc: "Large HTML file (synthetic)", size: 263647, binary: false, make: (n) => asciiText(n, 4, "html") },
  { desc: "A larger PDF (synthetic)", size: 1042328, binary: true, make: (n) => binaryData(n, 5, 60) },
];

const dataCache = new Map<number, Uint8Array>();
function dataFor(i: number): Uint8Array {
  let d = dataCache.get(i);
  if (!d) {
    d = TEST_DATA[i].make(TEST_DATA[i].size);
    dataCache.set(i, d);
  }
  return d;
}

/** (payload length, message count, timeout s, auto-fragment size) */
const MSG_SIZES: Array<[number, number, number, number]> = [
  [16, 1000, 60, 0],
  [64, 1000, 60, 0],
  [256, 1000, 120, 0],
  [1024, 1000, 240, 0],
  [4096, 1000, 480, 0],
  [8192, 1000, 480, 0],
  [16384, 1000, 480, 0],
  [32768, 1000, 480, 0],
  [65536, 1000, 480, 0],
  [131072, 1000, 480, 0],
  [8192, 1000, 480, 256],
  [16384, 1000, 480, 256],
  [32768, 1000, 480, 256],
  [65536, 1000, 480, 256],
  [131072, 1000, 480, 256],
  [131072, 1000, 480, 1024],
  [131072, 1000, 480, 4096],
  [131072, 1000, 480, 32768],
];

const OFFER_SETS: DeflateOffer[][] = [
  [{ requestNoContextTakeover: false, requestMaxWindowBits: 0 }],
  [{ requestNoContextTakeover: true, requestMaxWindowBits: 0 }],
  [{ requestNoContextTakeover: false, requestMaxWindowBits: 9 }],
  [{ requestNoContextTakeover: false, requestMaxWindowBits: 15 }],
  [{ requestNoContextTakeover: true, requestMaxWindowBits: 9 }],
  [{ requestNoContextTakeover: true, requestMaxWindowBits: 15 }],
  [
    { requestNoContextTakeover: true, requestMaxWindowBits: 9 },
    { requestNoContextTakeover: true, requestMaxWindowBits: 0 },
    { requestNoContextTakeover: false, requestMaxWindowBits: 0 },
  ],
];

function deflateCase(id: string, dataIndex: number, offers: DeflateOffer[], size: [number, number, number, number], offerDesc: string): CaseDef {
  const [len, count, waitSecs, fragSize] = size;
  const td = TEST_DATA[dataIndex];
  return {
    id,
    description: `${count} messages of ${len} octets from "${td.desc}", compressed with permessage-deflate, auto-fragmented to ${fragSize} octets (0 = none). ${offerDesc}`,
    expectation: `Every message is echoed unchanged; the case times out after ${waitSecs} s. UNIMPLEMENTED when the peer does not accept permessage-deflate.`,
    reportTime: true,
    deflate: { offers },
    onOpen(c: CaseRun) {
      c.expectedClose = normalClose;
      c.p.createWirelog = false;
      c.p.autoFragmentSize = fragSize;
      if (!c.info.deflateActive) {
        c.behavior = "UNIMPLEMENTED";
        c.result = "The peer did not accept the permessage-deflate offer.";
        c.p.createWirelog = true;
        c.p.sendClose(1000);
        return;
      }
      c.behavior = "FAILED";
      c.result = `Case did not finish within ${waitSecs} seconds.`;
      c.p.closeAfter(secs(waitSecs));
      c.state = { ptr: 0, count: 0, total: c.info.quick ? Math.min(count, QUICK_COUNT) : count, hash: "" };
      sendOne(c, dataIndex, len);
    },
    onMessage(c, payload, binary) {
      const st = c.state as { ptr: number; count: number; total: number; hash: string };
      const h = createHash("sha1").update(payload).digest("hex");
      if (binary !== td.binary || payload.length !== len || h !== st.hash) {
        c.behavior = "FAILED";
        c.result =
          binary !== td.binary
            ? `Echoed message type differs (got binary ${binary}, expected ${td.binary}).`
            : payload.length !== len
              ? `Echoed message length differs (got ${payload.length}, expected ${len}).`
              : `Echoed message contents differ (got SHA1 ${h}, expected ${st.hash}).`;
        c.p.createWirelog = true;
        c.p.sendClose(1000);
      } else if (st.count < st.total) sendOne(c, dataIndex, len);
      else {
        c.behavior = "OK";
        c.result = `Ok, received all ${st.total} echoed messages in time.`;
        c.p.createWirelog = true;
        c.p.sendClose(1000);
      }
    },
  };
}

function sendOne(c: CaseRun, dataIndex: number, len: number): void {
  const st = c.state as { ptr: number; count: number; total: number; hash: string };
  const data = dataFor(dataIndex);
  const msg = new Uint8Array(len);
  for (let i = 0; i < len; i++) msg[i] = data[(st.ptr + i) % data.length];
  st.ptr = (st.ptr + len) % data.length;
  st.hash = createHash("sha1").update(msg).digest("hex");
  st.count++;
  c.p.sendMessage(msg, TEST_DATA[dataIndex].binary);
}

const tupleDesc = (offers: DeflateOffer[]) =>
  "[" + offers.map((o) => `(${o.requestNoContextTakeover ? "True" : "False"}, ${o.requestMaxWindowBits})`).join(", ") + "]";

export function deflateCases(): CaseDef[] {
  const out: CaseDef[] = [];
  TEST_DATA.forEach((_, j) => {
    MSG_SIZES.forEach((size, i) => {
      const offers = [{ requestNoContextTakeover: false, requestMaxWindowBits: 0 }];
      out.push(deflateCase(`12.${j + 1}.${i + 1}`, j, offers, size, "Default permessage-deflate offer."));
    });
  });
  OFFER_SETS.forEach((offers, j) => {
    MSG_SIZES.forEach((size, i) => {
      out.push(
        deflateCase(`13.${j + 1}.${i + 1}`, 0, offers, size, `Offers (server_no_context_takeover, server_max_window_bits): ${tupleDesc(offers)}; the server side accepts the same.`),
      );
    });
  });
  return out;
}

/**
 * Server role: choose the response to a client's offers the way the case's accept rule does
 * (the first offer whose parameters allow the requested settings). Returns the response element and codec bits.
 */
export function acceptOffers(
  header: string | undefined,
  accept: DeflateOffer[],
): { response: string; ownBits: number } | undefined {
  const offers = parseDeflate(header);
  if (offers.length === 0) return undefined;
  for (const want of accept) {
    for (const off of offers) {
      // The original parses every client offer as accepting "no context takeover" (it is the client's duty
      // to honour client_no_context_takeover in a response, RFC 7692 §7.1.1.2), so a request for it never
      // skips an offer; a window-bits request needs the client to have offered client_max_window_bits.
      if (want.requestMaxWindowBits && !off["client_max_window_bits"]) continue;
      let resp = "permessage-deflate";
      let ownBits = 15;
      if (off["server_no_context_takeover"]) resp += "; server_no_context_takeover";
      if (typeof off["server_max_window_bits"] === "string") {
        ownBits = Number(off["server_max_window_bits"]);
        resp += `; server_max_window_bits=${ownBits}`;
      }
      if (want.requestNoContextTakeover) resp += "; client_no_context_takeover";
      if (want.requestMaxWindowBits) resp += `; client_max_window_bits=${want.requestMaxWindowBits}`;
      return { response: resp, ownBits };
    }
  }
  return undefined;
}
