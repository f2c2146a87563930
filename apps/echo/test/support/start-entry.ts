/** Starts one of the app's built entries (dist/<entry>) on an ephemeral port; resolves with the port it prints. */
import { spawn, type ChildProcess } from "node:child_process";
import { join, resolve } from "node:path";

export async function startEntry(entry: string): Promise<{ server: ChildProcess; port: number }> {
  const server = spawn(process.execPath, [join(resolve(import.meta.dirname, "../.."), "dist", entry)], {
    env: { ...process.env, PORT: "0" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((r, j) => {
    let out = "";
    server.stdout!.on("data", (d) => {
      out += d;
      const m = /Listening on port (\d+)/.exec(out);
      if (m) r(Number(m[1]));
    });
    server.once("exit", (code) => j(new Error(`${entry} exited with ${code}`)));
  });
  return { server, port };
}
