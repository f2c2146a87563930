/**
 * Adapter plumbing is not a user's option on Node (issue 22 point 6): `deflateCodec`, `allocate` and `acceptKey`
 * written in serve()'s or attach()'s options, or `deflateCodec` in connect()'s, are refused as unknown keys.
 */
import * as http from "node:http";
import { describe, expect, it } from "vitest";
import { attach, connect, defineService, serve } from "../src/index.ts";

const echo = defineService({ received: (message, conn) => void conn.send(message) });
const PLUMBING: Record<string, unknown> = { deflateCodec: { deflate() {}, inflate() {} }, allocate: (n: number) => Buffer.allocUnsafe(n), acceptKey: () => "x" };

describe("adapter plumbing in a Node user's options", () => {
  for (const [key, value] of Object.entries(PLUMBING)) {
    it(`serve() refuses ${key}`, async () => {
      await expect(serve({ port: 0, services: { "/ws": echo }, [key]: value } as never)).rejects.toThrow(new RegExp(`^${key}: .*one of the known keys`));
    });

    it(`attach() refuses ${key}`, () => {
      const server = http.createServer();
      expect(() => attach(server, { services: { "/ws": echo }, [key]: value } as never)).toThrow(/one of the known keys/);
    });
  }

  it("connect() refuses deflateCodec", async () => {
    await expect(connect("ws://127.0.0.1:9/", { deflateCodec: PLUMBING.deflateCodec } as never)).rejects.toThrow(/^deflateCodec.*one of the known keys/);
  });
});
