/**
 * What an idle core-engine connection keeps alive (issue 16): its byte stream gets one events object whose
 * methods live on a shared prototype (no closures per connection), and they still reach that transport.
 */
import { describe, expect, it } from "vitest";
import { silentLogger } from "../src/index.ts";
import { ProtocolTransport, type ByteStream, type ByteStreamEvents } from "../src/adapter.ts";
import { NO_TRANSPORT_EVENTS, type TransportEvents } from "../src/session/transport.ts";

function fakeStream(): { stream: ByteStream; events: () => ByteStreamEvents } {
  let events: ByteStreamEvents | null = null;
  const stream: ByteStream = {
    start: (e) => void (events = e),
    write: () => true,
    end: () => {},
    destroy: () => {},
    bufferedAmount: 0,
  };
  return { stream, events: () => events! };
}

describe("ProtocolTransport's byte-stream events", () => {
  it("are one object per connection with no function of its own", () => {
    const a = fakeStream();
    const b = fakeStream();
    new ProtocolTransport(a.stream, { role: "server", logger: silentLogger, label: "a" }).attach(NO_TRANSPORT_EVENTS, false);
    new ProtocolTransport(b.stream, { role: "server", logger: silentLogger, label: "b" }).attach(NO_TRANSPORT_EVENTS, false);
    const ea = a.events();
    const eb = b.events();
    expect(ea).not.toBe(eb);
    for (const name of ["data", "drain", "end", "close"] as const) {
      expect(Object.hasOwn(ea, name)).toBe(false);
      expect(ea[name]).toBe(eb[name]);
    }
  });

  it("deliver the stream's close to their own transport", () => {
    const a = fakeStream();
    const closed: string[] = [];
    const events: TransportEvents = { ...NO_TRANSPORT_EVENTS, closed: (info) => void closed.push(`${info.code}:${info.reason}`) };
    new ProtocolTransport(a.stream, { role: "server", logger: silentLogger, label: "a" }).attach(events, false);
    a.events().close(new Error("reset"));
    expect(closed).toEqual(["1006:connection lost"]);
  });
});
