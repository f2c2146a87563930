/**
 * Terminal chat client, on the WHATWG `WebSocket` of @ws/node and the JSON protocol (chat-protocol.ts).
 *
 *   node dist/client.node.js [--name ana] [--url ws://localhost:8080/chat/room] [url]
 *
 * (CHAT_NAME, CHAT_URL; the name defaults to the login name.) Lines you type go to the room; what others say,
 * who joins and leaves, is printed. When the connection drops it reconnects with exponential backoff and
 * jitter (0.5 s doubling up to 10 s, each ±25 %), saying so; lines typed meanwhile are queued (at most 100)
 * and sent once the room has welcomed it back. A line counts as sent when the server sends it back: one sent
 * but not confirmed when the connection dropped is sent again after reconnecting. On a terminal it has a
 * prompt that incoming lines do not break; when stdin or stdout is not a terminal (a pipe, a file) it prints
 * plain lines — no prompt, no escape codes. End of input (Ctrl-D) quits once the queue is sent; Ctrl-C quits
 * at once (saying what was not sent).
 */
import * as readline from "node:readline";
import { userInfo } from "node:os";
import { parseArgs } from "node:util";
import { WebSocket } from "@ws/node";
import { CHAT_PROTOCOL, encode, parseServerMessage, printable, type ServerMessage } from "./chat-protocol.ts";

const MAX_QUEUED = 100;
const RETRY_MIN = 500;
const RETRY_MAX = 10_000;

const { values, positionals } = parseArgs({
  options: { name: { type: "string", short: "n" }, url: { type: "string", short: "u" }, help: { type: "boolean", short: "h" } },
  allowPositionals: true,
});
if (values.help) {
  console.log("usage: client.node.js [--name NAME] [--url ws://host:port/chat[/room]] [url]");
  process.exit(0);
}
const url = values.url ?? positionals[0] ?? process.env.CHAT_URL ?? "ws://localhost:8080/chat";
const wanted = values.name ?? process.env.CHAT_NAME ?? safeUserName();
const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);

const rl = readline.createInterface({ input: process.stdin, output: process.stdout, terminal: interactive });
rl.setPrompt(`${printable(wanted)}> `);

/** Prints a line; on a terminal, above the prompt and what is being typed. */
function print(line: string): void {
  if (!interactive) {
    process.stdout.write(`${line}\n`);
    return;
  }
  readline.clearLine(process.stdout, 0);
  readline.cursorTo(process.stdout, 0);
  process.stdout.write(`${line}\n`);
  rl.prompt(true);
}

let socket: WebSocket | null = null;
let me: string | null = null;
let joined = false;
let attempt = 0;
let retryTimer: NodeJS.Timeout | undefined;
let ended = false; // end of input: quit once nothing waits
/** typed, not yet sent */
const outbox: string[] = [];
/** sent, not yet sent back by the server */
const unconfirmed: string[] = [];

function target(): string {
  const u = new URL(url);
  u.searchParams.set("name", wanted);
  return u.href;
}

function connect(): void {
  const ws = new WebSocket(target(), CHAT_PROTOCOL);
  socket = ws;
  ws.onmessage = (event) => {
    if (typeof event.data === "string") {
      const m = parseServerMessage(event.data);
      if (m) handle(m);
    }
  };
  ws.onerror = () => {}; // the close event follows and says it
  ws.onclose = (event) => {
    if (socket !== ws) return;
    socket = null;
    const wasJoined = joined;
    joined = false;
    outbox.unshift(...unconfirmed.splice(0));
    if (quitting) return;
    const delay = Math.round(Math.min(RETRY_MAX, RETRY_MIN * 2 ** attempt) * (0.75 + Math.random() * 0.5));
    attempt++;
    const why = wasJoined ? `disconnected (${event.code}${event.reason ? ` ${printable(event.reason)}` : ""})` : `could not connect to ${url}`;
    const waiting = outbox.length > 0 ? `; ${outbox.length} message${outbox.length === 1 ? "" : "s"} queued` : "";
    print(`* ${why}, reconnecting in ${(delay / 1000).toFixed(1)} s${waiting}`);
    retryTimer = setTimeout(connect, delay);
  };
}

function handle(m: ServerMessage): void {
  switch (m.type) {
    case "welcome": {
      me = m.you;
      joined = true;
      attempt = 0;
      rl.setPrompt(`${printable(me)}> `);
      print(`* connected to ${url} as ${printable(me)}${me !== wanted ? ` (${printable(wanted)} was taken)` : ""}`);
      for (const line of m.history) print(`${printable(line.from)}: ${printable(line.text)}`);
      print(`* online: ${m.online.map(printable).join(", ")}`);
      if (outbox.length > 0) print(`* sending ${outbox.length} queued message${outbox.length === 1 ? "" : "s"}`);
      flush();
      break;
    }
    case "joined":
      print(`* ${printable(m.name)} joined`);
      break;
    case "left":
      print(`* ${printable(m.name)} left`);
      break;
    case "message":
      if (m.from === me && unconfirmed.length > 0) {
        unconfirmed.shift();
        // on a terminal the line is on screen already, as typed; elsewhere this is its confirmation
        if (!interactive) print(`${printable(m.from)}: ${printable(m.text)}`);
        quitIfDone();
      } else {
        print(`${printable(m.from)}: ${printable(m.text)}`);
      }
      break;
    case "error":
      if (m.code === "bad-name" && !joined) {
        print(`! ${printable(m.message.split(";")[0]!)}: give another with --name`);
        quit(2);
        break;
      }
      if (["too-long", "rate-limited", "empty", "not-joined"].includes(m.code) && unconfirmed.length > 0) {
        const refused = unconfirmed.shift()!;
        print(`! not sent (${m.code}): ${printable(m.message)} — "${printable(refused.slice(0, 40))}${refused.length > 40 ? "…" : ""}"`);
        quitIfDone();
      } else {
        print(`! ${printable(m.message)}`);
      }
      break;
  }
}

function flush(): void {
  while (joined && socket && socket.readyState === WebSocket.OPEN && outbox.length > 0) {
    const text = outbox.shift()!;
    socket.send(encode({ type: "message", text }));
    unconfirmed.push(text);
  }
}

rl.on("line", (line) => {
  if (line.trim().length === 0) {
    if (interactive) rl.prompt();
    return;
  }
  if (outbox.length >= MAX_QUEUED) {
    print(`! not sent: ${MAX_QUEUED} messages are already waiting for the connection`);
    return;
  }
  outbox.push(line);
  if (!joined) print(`* not connected: queued (${outbox.length} waiting)`);
  flush();
  if (interactive) rl.prompt();
});

rl.on("close", () => {
  ended = true;
  if (!quitIfDone()) print(`* end of input: ${outbox.length + unconfirmed.length} message(s) still to send; Ctrl-C quits now`);
});

rl.on("SIGINT", () => quit(130));
process.once("SIGINT", () => quit(130));
process.once("SIGTERM", () => quit(143));

/** After end of input: quits once nothing is waiting. */
function quitIfDone(): boolean {
  if (!ended || outbox.length > 0 || unconfirmed.length > 0) return false;
  quit(0);
  return true;
}

let quitting = false;
function quit(code: number): void {
  if (quitting) return;
  quitting = true;
  clearTimeout(retryTimer);
  const lost = outbox.length + unconfirmed.length;
  if (lost > 0) print(`* quitting: ${lost} message(s) not sent`);
  if (interactive) process.stdout.write("\n");
  rl.close();
  const ws = socket;
  if (!ws || ws.readyState !== WebSocket.OPEN) process.exit(code);
  ws.onclose = () => process.exit(code);
  ws.close(1000, "bye");
  setTimeout(() => process.exit(code), 2000).unref();
}

function safeUserName(): string {
  try {
    return userInfo().username || "guest";
  } catch {
    return "guest";
  }
}

if (interactive) rl.prompt();
connect();
