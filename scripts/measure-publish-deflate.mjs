#!/usr/bin/env node
// What permessage-deflate costs a broadcast: one TopicHub publish to N subscribers (in memory: the socket
// writes are only counted), per compression case — deflate off; no context takeover (one compressed frame
// shared by all); context takeover with publishCompression "per-connection" (one deflate per subscriber, each
// with its own window) and "shared" (the default: those subscribers get the one uncompressed frame).
// Messages: JSON chat events of 2 KiB and 16 KiB, a different one each round. Needs packages/core built.
// Usage: node scripts/measure-publish-deflate.mjs [subscribers=1000] [rounds=20]
import * as zlib from "node:zlib";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { Connection, TopicHub, PerMessageDeflate, zlibCodec, HeaderMap } = await import(pathToFileURL(join(root, "packages/core/dist/index.js")).href);
const N = Number(process.argv[2] ?? 1000);
const ROUNDS = Number(process.argv[3] ?? 20);
const codec = zlibCodec(zlib);
const request = { method: "GET", url: "/", httpVersion: "1.1", headers: new HeaderMap() };
let written = 0;
const sink = () => ({
  start() {},
  write: (c) => ((written += c.length), true),
  writev: (cs) => (cs.forEach((c) => (written += c.length)), true),
  end() {},
  destroy() {},
  bufferedAmount: 0,
  pause() {},
  resume() {},
});

let seed = 42;
const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
const vocabulary = "the a room message hello weather today meeting tomorrow project release build test deploy server client latency error fixed merged review coffee lunch".split(" ");
function message(size) {
  const events = [];
  let json = "[]";
  while (json.length < size) {
    events.push({ id: Math.floor(random() * 1e9), user: `user${Math.floor(random() * 5000)}`, at: 1.7e12 + Math.floor(random() * 1e9),
      text: Array.from({ length: 6 + Math.floor(random() * 10) }, () => vocabulary[Math.floor(random() * vocabulary.length)]).join(" ") });
    json = JSON.stringify(events);
  }
  return json.slice(0, size);
}

const cases = [
  { name: "deflate off", deflate: null },
  { name: "no context takeover (shared)", deflate: true, publishCompression: "shared" },
  { name: "context takeover, per-connection", deflate: false, publishCompression: "per-connection" },
  { name: "context takeover, shared (default)", deflate: false, publishCompression: "shared" },
];
console.log(`| message | case | ms per publish to ${N} | bytes per subscriber |`);
console.log("| --- | --- | --- | --- |");
for (const size of [2048, 16384]) {
  for (const c of cases) {
    seed = 42; // the same messages for each case, a different one each round
    const texts = Array.from({ length: ROUNDS + 1 }, () => message(size));
    const hub = new TopicHub({ publishCompression: c.publishCompression });
    for (let i = 0; i < N; i++) {
      const deflate =
        c.deflate === null
          ? undefined
          : new PerMessageDeflate({ sendWindowBits: 15, receiveWindowBits: 15, sendNoContextTakeover: c.deflate, receiveNoContextTakeover: false }, codec, {});
      const conn = new Connection(sink(), { role: "server", request, hub, deflate });
      conn.start();
      if (deflate) hub.setDeflate(conn, deflate);
      conn.subscribe("room");
    }
    hub.publish("room", texts[ROUNDS]); // warm-up (and a first window for context takeover)
    await new Promise((r) => setTimeout(r, 0));
    written = 0;
    const t0 = performance.now();
    for (let r = 0; r < ROUNDS; r++) {
      hub.publish("room", texts[r]);
      await new Promise((r) => setTimeout(r, 0));
    }
    const ms = (performance.now() - t0) / ROUNDS;
    console.log(`| ${size / 1024} KiB | ${c.name} | ${ms.toFixed(1)} | ${Math.round(written / ROUNDS / N)} |`);
  }
}
