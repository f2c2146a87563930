/**
 * CPU per message of permessage-deflate on Bun for the compressed scenario's payloads (32 JSON-like texts of
 * 4,096 B): inflate one client message (client_no_context_takeover, as the generator sends) and compress the echo,
 * with core's one-shot `zlibCodec` and with @ws/bun's shared-context codec, interleaved rounds, medians.
 *   bun bench/runtime/bun-deflate-cost.ts [rounds=7] [messages per round=4000]
 */
import * as zlib from "node:zlib";
import { PerMessageDeflate, zlibCodec, type DeflateCodec } from "../../packages/core/src/protocol.ts";
import { sharedContextCodec } from "../../packages/bun/src/deflate-codec.ts";
import { jsonLikeMessage } from "../src/scenarios.ts";

const rounds = Number(process.argv[2] ?? 7);
const n = Number(process.argv[3] ?? 4000);
const messages = Array.from({ length: 32 }, (_, k) => new TextEncoder().encode(jsonLikeMessage(4096, 1000 + k)));
const client = new PerMessageDeflate({ sendWindowBits: 15, receiveWindowBits: 15, sendNoContextTakeover: true, receiveNoContextTakeover: false }, zlibCodec(zlib));
const sent = messages.map((m) => client.compress(m));
const codecs: Record<string, DeflateCodec> = { "one-shot zlibCodec": zlibCodec(zlib), "shared contexts": sharedContextCodec() };
const cases = { "server context takeover (default)": false, "server_no_context_takeover": true } as const;

const results = new Map<string, { us: number[]; ratio: number }>();
for (let r = 0; r < rounds; r++) {
  for (const [caseName, serverNoContext] of Object.entries(cases)) {
    for (const [codecName, codec] of Object.entries(codecs)) {
      const server = new PerMessageDeflate({ sendWindowBits: 15, receiveWindowBits: 15, sendNoContextTakeover: serverNoContext, receiveNoContextTakeover: true }, codec);
      let bytes = 0;
      const t0 = process.cpuUsage();
      for (let i = 0; i < n; i++) bytes += server.compress(server.decompress(sent[i & 31]!, 1 << 20)).length;
      const t = process.cpuUsage(t0);
      const key = `${caseName} | ${codecName}`;
      const entry = results.get(key) ?? { us: [], ratio: bytes / (n * 4096) };
      entry.us.push((t.user + t.system) / n);
      results.set(key, entry);
    }
  }
}
const load = (await Bun.file("/proc/loadavg").text().catch(() => "?")).trim();
console.log(`Bun ${Bun.version}, ${rounds} rounds × ${n} messages, load ${load}`);
for (const [key, { us, ratio }] of results) {
  us.sort((a, b) => a - b);
  const median = us[us.length >> 1]!;
  console.log(`${key.padEnd(58)} ${median.toFixed(1).padStart(6)} µs/message (${us[0]!.toFixed(1)}–${us.at(-1)!.toFixed(1)})  compressed to ${(100 * ratio).toFixed(1)} %`);
}
