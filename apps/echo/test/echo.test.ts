import { spawn, type ChildProcess } from "node:child_process";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import WebSocket from "ws";

let server: ChildProcess;
let port = 0;

beforeAll(async () => {
  server = spawn(process.execPath, [join(resolve(import.meta.dirname, ".."), "dist/server.node.js")], {
    env: { ...process.env, PORT: "0" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  port = await new Promise<number>((r, j) => {
    let out = "";
    server.stdout!.on("data", (d) => {
      out += d;
      const m = /Listening on port (\d+)/.exec(out);
      if (m) r(Number(m[1]));
    });
    server.once("exit", (code) => j(new Error(`echo server exited with ${code}`)));
  });
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
