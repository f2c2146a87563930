/**
 * CPU time per received message of the server's protocol path alone (ProtocolState: parse, unmask, assemble,
 * then encode the echo), in process, against ws's Receiver with bufferutil fed the same bytes: a measure that
 * depends far less on how busy the machine is than run.ts. The masked client frames of many messages are one
 * byte stream cut into 64 KiB chunks, as Node reads a socket, so frame boundaries fall anywhere in a chunk.
 * The variants run in interleaved rounds; the best round of each is shown.
 *
 *   node bench/dist/receive-cpu.js [--core OLD/packages/core/dist/protocol.js] [--rounds 7]
 *                                  [--only NAME-PART --size BYTES]
 *
 * `--core` adds a second build of the core (e.g. the one before a change) to the same rounds: an A/B in one
 * process. Also written: the bytes allocated for assembled messages per message. `--only` keeps the variant
 * named NAME-PART (else those whose name contains it) and `--size` one message size, for a run under
 * `valgrind --tool=callgrind --smc-check=all-non-file node --jitless …` (instructions per message: run it with
 * two `--rounds` counts and divide the difference by the messages between them).
 */
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import * as current from "@ws/core/protocol";

type CoreModule = typeof current;
const require = createRequire(import.meta.url);

function cpuMicros(run: () => void): number {
  const start = process.cpuUsage();
  run();
  const used = process.cpuUsage(start);
  return used.user + used.system;
}

/** The masked frames of `count` messages of `size` bytes, as one stream cut into `chunk`-byte reads. */
function stream(core: CoreModule, size: number, count: number, chunk: number): Uint8Array[] {
  const payload = new Uint8Array(size).map((_, i) => (i * 31) & 0xff);
  const frame = core.encodeFrame(0x2, payload, { mask: true });
  const all = new Uint8Array(frame.length * count);
  for (let m = 0; m < count; m++) all.set(frame, m * frame.length);
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < all.length; at += chunk) chunks.push(all.slice(at, at + chunk)); // each its own buffer
  return chunks;
}

interface Variant {
  name: string;
  /** feeds the chunks; returns the messages received */
  feed(chunks: Uint8Array[]): number;
  allocatedPerMessage?: () => number;
}

const allocUnsafeSlowView = (size: number): Uint8Array => {
  const b = Buffer.allocUnsafeSlow(size);
  return new Uint8Array(b.buffer, b.byteOffset, size);
};

function ours(core: CoreModule, name: string, kernel: "simd" | "js", allocateMessage?: (size: number) => Uint8Array): Variant {
  let received = 0;
  let allocated = 0;
  const counting = (size: number) => {
    allocated += size;
    return (allocateMessage ?? ((n: number) => new Uint8Array(n)))(size);
  };
  const state = new core.ProtocolState({ role: "server", maxMessageSize: 64 << 20, allocateMessage: counting } as never, {
    write: () => {},
    text: () => {},
    binary: (m) => {
      received++;
      state.sendBinary(m); // the echo: framed (header + the message, uncopied from 16 KiB)
    },
    fragment: () => {},
    ping: () => {},
    pong: () => {},
    closeReceived: () => {},
    closeSent: () => {},
    end: () => {},
    violation: (code, message) => {
      throw new Error(`${code} ${message}`);
    },
  });
  return {
    name,
    feed(chunks) {
      core.setUnmaskKernel(kernel);
      const before = received;
      for (const c of chunks) state.receive(c);
      return received - before;
    },
    allocatedPerMessage: () => allocated / Math.max(1, received),
  };
}

function wsReceiver(): Variant | null {
  let Receiver: new (options: object) => { write(chunk: Buffer): boolean; on(event: string, f: (...a: unknown[]) => void): void };
  try {
    Receiver = (require("ws") as { Receiver: typeof Receiver }).Receiver;
    require("bufferutil");
  } catch {
    return null;
  }
  let received = 0;
  const receiver = new Receiver({ isServer: true, maxPayload: 64 << 20, binaryType: "nodebuffer", extensions: {} });
  receiver.on("message", () => void received++);
  receiver.on("error", (e) => {
    throw e;
  });
  return {
    name: "ws + bufferutil Receiver",
    feed(chunks) {
      const before = received;
      for (const c of chunks) receiver.write(Buffer.from(c.buffer, c.byteOffset, c.byteLength));
      return received - before;
    },
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const corePath = args.includes("--core") ? args[args.indexOf("--core") + 1]! : null;
  const rounds = args.includes("--rounds") ? Number(args[args.indexOf("--rounds") + 1]) : 7;
  const other: CoreModule | null = corePath ? ((await import(pathToFileURL(corePath).href)) as CoreModule) : null;
  const only = args.includes("--only") ? args[args.indexOf("--only") + 1]! : null;
  const sizes = args.includes("--size") ? [Number(args[args.indexOf("--size") + 1])] : [16 * 1024, 1024 * 1024];
  for (const size of sizes) {
    const count = Math.max(8, Math.floor((32 << 20) / size));
    const chunks = stream(current, size, count, 64 * 1024);
    const variants: Variant[] = [];
    const ws = wsReceiver();
    if (ws) variants.push(ws);
    if (other) variants.push(ours(other, "--core build, SIMD", "simd"), ours(other, "--core build, SIMD, allocUnsafeSlow", "simd", allocUnsafeSlowView));
    variants.push(
      ours(current, "this build, word loop", "js"),
      ours(current, "this build, SIMD", "simd"),
      ours(current, "this build, SIMD, allocUnsafeSlow (as @ws/node-http)", "simd", allocUnsafeSlowView),
    );
    if (only !== null) {
      const exact = variants.filter((v) => v.name === only);
      variants.splice(0, variants.length, ...(exact.length > 0 ? exact : variants.filter((v) => v.name.includes(only))));
    }
    const best = variants.map(() => Infinity);
    for (const v of variants) v.feed(chunks); // warm-up
    for (let r = 0; r < rounds; r++) {
      variants.forEach((v, i) => {
        let got = 0;
        const micros = cpuMicros(() => void (got = v.feed(chunks)));
        if (got !== count) throw new Error(`${v.name}: ${got} of ${count} messages`);
        best[i] = Math.min(best[i]!, micros / count);
      });
    }
    console.log(`${size} B messages, ${count} per round, 64 KiB reads, best of ${rounds} rounds`);
    const withWs = ws !== null && variants[0] === ws;
    const base = withWs ? best[0]! : NaN;
    variants.forEach((v, i) => {
      const perMessage = v.allocatedPerMessage?.() ?? 0;
      const alloc = perMessage > 0 ? `   ${Math.round(perMessage)} B allocated for assembly/msg` : "";
      console.log(`  ${v.name.padEnd(54)} ${best[i]!.toFixed(1).padStart(7)} µs/msg   ${withWs ? (base / best[i]!).toFixed(2) + "× ws" : ""}${alloc}`);
    });
  }
}

await main();
