/** The benchmark scenarios: what the generator sends, how much of it, and what is measured. */

export type ScenarioName = "small" | "medium" | "large" | "broadcast" | "idle" | "idle-deflate" | "handshake" | "compressed" | "scale" | "reconnect";

export interface Scenario {
  name: ScenarioName;
  title: string;
  kind: "echo" | "broadcast" | "idle" | "handshake" | "scale" | "reconnect";
  /**
   * connections (echo, idle: all; broadcast: receivers; handshake: opened per window, and held open until the
   * window's last one is up; scale: the last step)
   */
  connections: number;
  /** messages in flight per connection (broadcast: messages in flight from the sender; handshake, scale: handshakes in flight) */
  inFlight: number;
  payload: { type: "text" | "binary"; size: number };
  /** offer permessage-deflate and send compressed frames */
  deflate: boolean;
  /** what the result counts */
  unit: "msg/s" | "deliveries/s" | "B/conn" | "handshakes/s";
  /** scale: the connection counts measured one after the other on the same server (the last is `connections`) */
  steps?: number[];
  higherIsBetter: boolean;
  /** a raw TCP echo can stand in for a WebSocket server here (the ceiling of the generator and runtime) */
  rawCeiling: boolean;
}

export const SCENARIOS: Record<ScenarioName, Scenario> = {
  small: {
    name: "small",
    title: "small messages: 64 connections × 8 in flight, 32 B text echo",
    kind: "echo",
    connections: 64,
    inFlight: 8,
    payload: { type: "text", size: 32 },
    deflate: false,
    unit: "msg/s",
    higherIsBetter: true,
    rawCeiling: true,
  },
  medium: {
    name: "medium",
    title: "medium messages: 16 connections × 4 in flight, 16 KiB random binary echo",
    kind: "echo",
    connections: 16,
    inFlight: 4,
    payload: { type: "binary", size: 16 * 1024 },
    deflate: false,
    unit: "msg/s",
    higherIsBetter: true,
    rawCeiling: true,
  },
  large: {
    name: "large",
    title: "large messages: 4 connections × 2 in flight, 1 MiB random binary echo",
    kind: "echo",
    connections: 4,
    inFlight: 2,
    payload: { type: "binary", size: 1024 * 1024 },
    deflate: false,
    unit: "msg/s",
    higherIsBetter: true,
    rawCeiling: true,
  },
  broadcast: {
    name: "broadcast",
    title: "broadcast: 1 sender → 500 receivers through the server's topics, 64 B text, 16 in flight",
    kind: "broadcast",
    connections: 500,
    inFlight: 16,
    payload: { type: "text", size: 64 },
    deflate: false,
    unit: "deliveries/s",
    higherIsBetter: true,
    rawCeiling: false,
  },
  idle: {
    name: "idle",
    title: "idle memory: 5,000 open connections, server RSS delta per connection",
    kind: "idle",
    connections: 5000,
    inFlight: 0,
    payload: { type: "text", size: 32 },
    deflate: false,
    unit: "B/conn",
    higherIsBetter: false,
    rawCeiling: true,
  },
  "idle-deflate": {
    name: "idle-deflate",
    title: "idle memory with permessage-deflate agreed: 5,000 open connections, server RSS delta per connection",
    kind: "idle",
    connections: 5000,
    inFlight: 0,
    payload: { type: "text", size: 32 },
    deflate: true,
    unit: "B/conn",
    higherIsBetter: false,
    rawCeiling: false,
  },
  handshake: {
    name: "handshake",
    title: "handshakes: 5,000 connections opened per window, 256 in flight, all held open until the last is up",
    kind: "handshake",
    connections: 5000,
    inFlight: 256,
    payload: { type: "text", size: 0 },
    deflate: false,
    unit: "handshakes/s",
    higherIsBetter: true,
    rawCeiling: false,
  },
  compressed: {
    name: "compressed",
    title: "compressed echo: permessage-deflate both ways, 32 connections × 4 in flight, 4 KiB JSON-like text",
    kind: "echo",
    connections: 32,
    inFlight: 4,
    payload: { type: "text", size: 4096 },
    deflate: true,
    unit: "msg/s",
    higherIsBetter: true,
    rawCeiling: false,
  },
  scale: {
    name: "scale",
    title: "scale: 1k → 10k → 50k connections on one server process (256 handshakes in flight), all subscribed; a 64 B broadcast to every one",
    kind: "scale",
    connections: 50_000,
    inFlight: 256,
    payload: { type: "text", size: 64 },
    deflate: false,
    unit: "B/conn",
    higherIsBetter: false,
    rawCeiling: false,
    steps: [1000, 10_000, 50_000],
  },
  reconnect: {
    name: "reconnect",
    title: "after a restart: 10,000 connected clients, the server killed and started again on the same port, all reconnect at once (256 in flight, no backoff)",
    kind: "reconnect",
    connections: 10_000,
    inFlight: 256,
    payload: { type: "text", size: 0 },
    deflate: false,
    unit: "handshakes/s",
    higherIsBetter: true,
    rawCeiling: false,
  },
};

export const SCENARIO_ORDER: ScenarioName[] = ["small", "medium", "large", "broadcast", "compressed", "handshake", "idle", "idle-deflate", "scale", "reconnect"];

/** A small deterministic PRNG (mulberry32), so every run sends the same bytes. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A JSON-like text of exactly `size` bytes (ASCII), varied by `seed`: what a real-time API sends. */
export function jsonLikeMessage(size: number, seed: number): string {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const words = ["update", "price", "order", "fill", "cancel", "quote", "trade", "book", "snapshot", "delta"];
  const syms = ["BTC-USD", "ETH-USD", "SOL-EUR", "AAPL", "MSFT", "NVDA", "EURUSD", "GBPJPY"];
  const head = `{"type":"${pick(words)}","seq":${Math.floor(rnd() * 1e9)},"ts":${1750000000000 + Math.floor(rnd() * 1e8)},"items":[`;
  let body = "";
  const tail = `],"note":"`;
  const end = `"}`;
  for (let i = 0; ; i++) {
    const item =
      `${i ? "," : ""}{"id":${Math.floor(rnd() * 1e6)},"sym":"${pick(syms)}","side":"${rnd() < 0.5 ? "buy" : "sell"}",` +
      `"px":${(rnd() * 1000).toFixed(2)},"qty":${(rnd() * 10).toFixed(4)},"tags":["${pick(words)}","${pick(words)}"]}`;
    if (head.length + body.length + item.length + tail.length + end.length > size) break;
    body += item;
  }
  let note = "";
  const room = size - head.length - body.length - tail.length - end.length;
  for (let i = 0; i < room; i++) note += String.fromCharCode(97 + Math.floor(rnd() * 26));
  return head + body + tail + note + end;
}

/** The payloads a scenario cycles through (distinct ones let the checker see order and catch mix-ups). */
export function payloadsFor(s: Scenario): Uint8Array[] {
  const count = s.deflate ? 32 : s.kind === "broadcast" ? 16 : s.payload.size >= 1024 * 1024 ? 2 : 4;
  const out: Uint8Array[] = [];
  for (let k = 0; k < count; k++) {
    if (s.deflate) {
      out.push(new TextEncoder().encode(jsonLikeMessage(s.payload.size, 1000 + k)));
    } else if (s.payload.type === "text") {
      const text = `msg ${String(k).padStart(3, "0")} ` + "abcdefghijklmnopqrstuvwxyz0123456789".repeat(Math.ceil(s.payload.size / 36));
      out.push(new TextEncoder().encode(text.slice(0, s.payload.size)));
    } else {
      const bytes = new Uint8Array(s.payload.size);
      const rnd = prng(7 + k);
      for (let i = 0; i < bytes.length; i += 4) {
        const v = (rnd() * 4294967296) >>> 0;
        bytes[i] = v & 0xff;
        bytes[i + 1] = (v >>> 8) & 0xff;
        bytes[i + 2] = (v >>> 16) & 0xff;
        bytes[i + 3] = v >>> 24;
      }
      out.push(bytes);
    }
  }
  return out;
}
