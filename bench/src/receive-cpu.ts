/**
 * CPU time per echoed message of the server's protocol path alone (ProtocolState: parse, unmask, assemble, then
 * encode the echo), in process, with each unmasking kernel: a measure that does not depend on how busy the
 * machine is with other work, unlike run.ts. Masked client frames arrive in 64 KiB chunks, as Node reads them.
 *
 *   node bench/dist/receive-cpu.js
 */
import { encodeFrame, ProtocolState, setUnmaskKernel, type UnmaskKernel } from "@ws/core/protocol";

function cpuMicros(run: () => void): number {
  const start = process.cpuUsage();
  run();
  const used = process.cpuUsage(start);
  return used.user + used.system;
}

function perMessage(size: number, kernel: UnmaskKernel): number {
  setUnmaskKernel(kernel);
  const payload = new Uint8Array(size).map((_, i) => (i * 31) & 0xff);
  const frame = encodeFrame(0x2, payload, { mask: true });
  let echoed = 0;
  const state = new ProtocolState({ role: "server", maxMessageSize: 64 << 20 }, {
    write: () => void echoed++,
    text: () => {},
    binary: (m) => state.sendBinary(m),
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
  const chunk = 64 * 1024;
  const messages = Math.max(20, Math.floor((256 << 20) / size));
  const once = () => {
    for (let m = 0; m < messages; m++) {
      const copy = frame.slice(); // a fresh read buffer, unmasked in place like a socket's
      for (let at = 0; at < copy.length; at += chunk) state.receive(copy.subarray(at, at + chunk));
    }
  };
  once();
  let best = Infinity;
  for (let round = 0; round < 5; round++) best = Math.min(best, cpuMicros(once) / messages);
  if (echoed < messages) throw new Error("not echoed");
  return best;
}

for (const size of [16 * 1024, 1024 * 1024]) {
  const js = perMessage(size, "js");
  const simd = perMessage(size, "simd");
  console.log(`${String(size).padStart(8)} B   word loop ${js.toFixed(1)} µs/msg   SIMD ${simd.toFixed(1)} µs/msg   ${(js / simd).toFixed(2)}×`);
}
