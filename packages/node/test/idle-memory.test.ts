/**
 * What an idle connection keeps alive (issue 16): a Node socket's listeners are functions shared by every
 * socket, not closures made per connection, and they still deliver each socket's events to its own stream.
 */
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { socketByteStream } from "@ws/node-http";

function started() {
  const socket = new PassThrough();
  const seen: string[] = [];
  const stream = socketByteStream(socket);
  stream.start({
    data: (chunk) => seen.push(`data:${Buffer.from(chunk).toString()}`),
    drain: () => seen.push("drain"),
    end: () => seen.push("end"),
    close: (error) => seen.push(`close:${error?.message ?? ""}`),
  });
  return { socket, seen };
}

describe("socketByteStream", () => {
  it("registers the same listener functions on every socket", () => {
    const a = started();
    const b = started();
    for (const event of ["data", "drain", "end", "error", "close"]) {
      expect(a.socket.listeners(event)).toHaveLength(1);
      expect(a.socket.listeners(event)[0]).toBe(b.socket.listeners(event)[0]);
    }
  });

  it("still delivers each socket's events to its own stream, the last error with the close", async () => {
    const a = started();
    const b = started();
    a.socket.write("one");
    b.socket.write("two");
    a.socket.emit("drain");
    a.socket.destroy(new Error("reset"));
    b.socket.end();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(a.seen).toEqual(["data:one", "drain", "close:reset"]);
    expect(b.seen).toEqual(["data:two", "end", "close:"]);
  });
});
