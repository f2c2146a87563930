import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, expect, it } from "vitest";
import WebSocket from "ws";
import { startEntry } from "./support/start-entry.ts";

let server: ChildProcess;
let port = 0;

beforeAll(async () => {
  ({ server, port } = await startEntry("server.node.js"));
});
afterAll(() => void server.kill());

it("echoes text as text and binary as binary, in order", async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  const got: Array<[boolean, string]> = [];
  const done = new Promise<void>((r) =>
    ws.on("message", (d, isBinary) => {
      got.push([isBinary, isBinary ? (d as Buffer).toString("hex") : d.toString()]);
      if (got.length === 3) r();
    }),
  );
  await new Promise((r) => ws.once("open", r));
  ws.send("one");
  ws.send(Buffer.from([0xde, 0xad]));
  ws.send("three ✓");
  await done;
  expect(got).toEqual([[false, "one"], [true, "dead"], [false, "three ✓"]]);
  const code = new Promise<number>((r) => ws.once("close", (c) => r(c)));
  ws.close(4000, "bye");
  expect(await code).toBe(4000);
});
