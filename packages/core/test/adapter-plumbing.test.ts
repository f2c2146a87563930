/**
 * Adapter plumbing (`deflateCodec`, `allocate`, `acceptKey`) is not an option a user writes (issue 22 point 6):
 * an adapter hands it to `new ServerCore(options, plumbing)` / `connectOverStream(stream, url, options,
 * plumbing)`; written in the options, it is refused as an unknown key.
 */
import { describe, expect, it } from "vitest";
import { InvalidOptionError, silentLogger } from "../src/index.ts";
import { checkServerOptions, connectOverStream, ServerCore } from "../src/adapter.ts";
import { memoryPair } from "./support/memory-stream.ts";

const codec = { deflate: () => new Uint8Array(0), inflate: () => new Uint8Array(0) };
const PLUMBING: Record<string, unknown> = { deflateCodec: codec, allocate: (n: number) => new Uint8Array(n), acceptKey: () => "x" };

describe("adapter plumbing in the options a user writes", () => {
  for (const [key, value] of Object.entries(PLUMBING)) {
    it(`serve()/attach() refuse ${key} as an unknown key`, () => {
      const check = () => checkServerOptions({ services: {}, [key]: value }, "options", { keys: ["port"] });
      expect(check).toThrow(InvalidOptionError);
      expect(check).toThrow(/one of the known keys/);
      expect(check).toThrow(new RegExp(`^${key}`));
    });

    it(`new ServerCore refuses ${key} in its options (it is the second parameter's)`, () => {
      expect(() => new ServerCore({ services: {}, logger: silentLogger, [key]: value } as never)).toThrow(/one of the known keys/);
    });
  }

  it("the client refuses deflateCodec in its options", async () => {
    const [client] = memoryPair();
    expect(() => connectOverStream(client, "ws://h/", { deflateCodec: codec } as never)).toThrow(/^deflateCodec.*one of the known keys/);
  });
});
