/**
 * Terminal chat client (the seed's chat.js, on @ws/node's client): lines you type go to the room, lines from
 * others are printed. Usage: node dist/client.node.js [ws://localhost:8080/chat]
 */
import * as readline from "node:readline";
import { connect } from "@ws/node";

const url = process.argv[2] ?? process.env.CHAT_URL ?? "ws://localhost:8080/chat";

try {
  const conn = await connect(url, { protocols: ["chat"] });
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY });
  console.log(`Connected to ${url} (protocol: ${conn.protocol ?? "none"}). Type a line and press Enter; Ctrl-D quits.`);
  conn.onText((text) => {
    readline.clearLine(process.stdout, 0);
    readline.cursorTo(process.stdout, 0);
    console.log(`> ${text}`);
    rl.prompt(true);
  });
  conn.onClose((code, reason) => {
    console.log(`Connection closed: ${code}${reason ? ` ${reason}` : ""}`);
    rl.close();
    process.exit(0);
  });
  rl.on("line", (line) => {
    if (line.length > 0) void conn.send(line);
    rl.prompt();
  });
  rl.on("close", () => void conn.close(1000, "bye"));
  rl.prompt();
} catch (error) {
  console.error(`Could not connect to ${url}: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
