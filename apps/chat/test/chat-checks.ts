/**
 * The chat protocol's behaviour (src/chat-protocol.ts), as checks any running chat server must pass: the Node
 * entry (chat.test.ts), Bun's and Deno's with both engines (runtimes.test.ts), the Workers entry
 * (workers.test.ts). Each check uses a room of its own, so they can share one server.
 */
import { expect, it } from "vitest";
import WebSocket from "ws";
import type { Page } from "playwright-core";

type Json = Record<string, unknown> & { type: string };

/** A chat.v2 client: every JSON message it got, and a way to wait for the next one matching. */
export class ChatClient {
  readonly got: Json[] = [];
  readonly ws: WebSocket;
  private waiters: Array<{ test: (m: Json) => boolean; resolve: (m: Json) => void; from: number }> = [];
  readonly closed: Promise<[number, string]>;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on("message", (data: Buffer) => {
      const m = JSON.parse(data.toString()) as Json;
      this.got.push(m);
      this.waiters = this.waiters.filter((w) => {
        if (!w.test(m)) return true;
        w.resolve(m);
        return false;
      });
    });
    this.closed = new Promise((r) => ws.once("close", (code, reason) => r([code, reason.toString()])));
  }

  static open(port: number, path: string, protocol = "chat.v2"): Promise<ChatClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, protocol);
    return new Promise((r, j) => ws.once("open", () => r(new ChatClient(ws))).once("error", j));
  }

  /** Opens, joins through `?name=`, and resolves with the welcome. */
  static async join(port: number, room: string, name: string): Promise<{ client: ChatClient; welcome: Json }> {
    const client = await ChatClient.open(port, `${room}?name=${encodeURIComponent(name)}`);
    const welcome = await client.next("welcome");
    return { client, welcome };
  }

  /** The first message of `type` (and matching `test`) not yet consumed by an earlier `next`… from now on or already received. */
  next(type: string, test: (m: Json) => boolean = () => true, timeout = 10_000): Promise<Json> {
    const match = (m: Json) => m.type === type && test(m);
    const already = this.got.find(match);
    if (already) {
      this.got.splice(this.got.indexOf(already), 1);
      return Promise.resolve(already);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type} within ${timeout} ms; got ${JSON.stringify(this.got)}`)), timeout);
      this.waiters.push({
        test: match,
        resolve: (m) => {
          clearTimeout(timer);
          this.got.splice(this.got.indexOf(m), 1);
          resolve(m);
        },
        from: this.got.length,
      });
    });
  }

  send(message: unknown): void {
    this.ws.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  say(text: string): void {
    this.send({ type: "message", text });
  }

  close(): void {
    this.ws.close();
  }
}

let rooms = 0;
/** A room path no other check uses ("/chat/<label>-<n>-<random>"). */
export function freshRoom(label: string): string {
  return `/chat/${label}-${++rooms}-${Math.random().toString(36).slice(2, 8)}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Registers the protocol checks (vitest `it`s) against the server on `port()`. */
export function chatChecks(port: () => number): void {
  it("two clients: welcome with the online list, join and leave notices, messages to both (the sender's confirmed)", async () => {
    const room = freshRoom("pair");
    const { client: ana, welcome: w1 } = await ChatClient.join(port(), room, "ana");
    expect(w1).toMatchObject({ type: "welcome", you: "ana", room: room.split("/").pop(), online: ["ana"], history: [] });
    const { client: bob, welcome: w2 } = await ChatClient.join(port(), room, "bob");
    expect(w2.online).toEqual(["ana", "bob"]);
    expect(await ana.next("joined")).toEqual({ type: "joined", name: "bob" });
    bob.say("hello ana — ünïcödé 🎉");
    const atAna = await ana.next("message");
    expect(atAna).toMatchObject({ type: "message", from: "bob", text: "hello ana — ünïcödé 🎉" });
    expect(typeof atAna.at).toBe("number");
    expect(await bob.next("message")).toEqual(atAna); // the sender's own, as confirmation
    bob.close();
    expect(await ana.next("left")).toEqual({ type: "left", name: "bob" });
    const { client: cy, welcome: w3 } = await ChatClient.join(port(), room, "cy");
    expect(w3.online).toEqual(["ana", "cy"]);
    ana.close();
    cy.close();
  });

  it("a joiner gets the room's last 50 messages, oldest first; other rooms' are not among them", async () => {
    const room = freshRoom("history");
    const other = freshRoom("history-other");
    const { client: elsewhere } = await ChatClient.join(port(), other, "elsewhere");
    elsewhere.say("not in the other room");
    await elsewhere.next("message");
    // six senders of nine or ten messages each: within each one's burst (rate limit) — 55 messages in all
    let n = 0;
    for (let s = 0; s < 6; s++) {
      const { client } = await ChatClient.join(port(), room, `sender${s}`);
      const count = s < 5 ? 9 : 10;
      for (let i = 0; i < count; i++) client.say(`m${n++}`);
      for (let i = 0; i < count; i++) await client.next("message", (m) => m.from === `sender${s}`);
      client.close();
    }
    expect(n).toBe(55);
    await sleep(100); // a store's writes (Workers: Durable Object storage) finish after the confirmation is sent
    const { client: late, welcome } = await ChatClient.join(port(), room, "late");
    const history = welcome.history as Array<{ from: string; text: string; at: number }>;
    expect(history.map((l) => l.text)).toEqual(Array.from({ length: 50 }, (_, i) => `m${i + 5}`));
    expect(history[0]).toMatchObject({ from: "sender0", text: "m5" });
    expect(history.at(-1)).toMatchObject({ from: "sender5", text: "m54" });
    late.close();
    elsewhere.close();
  });

  it("names are unique per room (a taken one gets -2, -3, without regard to case); hello joins; bad names are refused", async () => {
    const room = freshRoom("names");
    const { client: a, welcome: w1 } = await ChatClient.join(port(), room, "Ana");
    const { client: b, welcome: w2 } = await ChatClient.join(port(), room, "ana");
    const { client: c, welcome: w3 } = await ChatClient.join(port(), room, "ANA");
    expect([w1.you, w2.you, w3.you]).toEqual(["Ana", "ana-2", "ANA-3"]);
    expect(w3.online).toEqual(["Ana", "ana-2", "ANA-3"]);
    // the same name in another room is free
    const { client: d, welcome: w4 } = await ChatClient.join(port(), freshRoom("names-other"), "ana");
    expect(w4.you).toBe("ana");
    // without ?name=: nothing until hello; a message first is refused
    const e = await ChatClient.open(port(), room);
    e.say("too early");
    expect(await e.next("error")).toMatchObject({ code: "not-joined" });
    e.send({ type: "hello", name: "   " });
    expect(await e.next("error")).toMatchObject({ code: "bad-name" });
    e.send({ type: "hello", name: "x".repeat(33) });
    expect(await e.next("error")).toMatchObject({ code: "bad-name", message: "a name is at most 32 characters" });
    e.send({ type: "hello", name: "evil\u001b[2J" });
    expect(await e.next("error")).toMatchObject({ code: "bad-name" });
    e.send({ type: "hello", name: "  Eve   Lyn " });
    expect(await e.next("welcome")).toMatchObject({ you: "Eve Lyn", online: ["Ana", "ana-2", "ANA-3", "Eve Lyn"] });
    e.send({ type: "hello", name: "again" });
    expect(await e.next("error")).toMatchObject({ code: "already-joined" });
    e.send("not json");
    expect(await e.next("error")).toMatchObject({ code: "bad-request" });
    // a name is free again once its holder has left
    b.close();
    await a.next("left", (m) => m.name === "ana-2");
    const { client: f, welcome: w5 } = await ChatClient.join(port(), room, "ana");
    expect(w5.you).toBe("ana-2");
    for (const x of [a, c, d, e, f]) x.close();
  });

  it("bounds: a too-long text is refused (too-long), a message over 16 KiB closes with 1009, a burst over the rate is refused", async () => {
    const room = freshRoom("limits");
    const { client: a } = await ChatClient.join(port(), room, "a");
    const { client: b } = await ChatClient.join(port(), room, "b");
    a.say("x".repeat(4001));
    expect(await a.next("error")).toMatchObject({ code: "too-long", message: "a message is at most 4000 characters; this one (4001) was not sent" });
    a.say("x".repeat(4000));
    expect(((await b.next("message")).text as string).length).toBe(4000);
    // the rate: a burst of 10 (the two above counted), refilled at 5 a second; each one over it refused
    for (let i = 0; i < 12; i++) a.say(`burst ${i}`);
    await b.next("message", (m) => m.text === "burst 0");
    await sleep(500);
    const delivered = b.got.filter((m) => m.type === "message").length + 1;
    const refused = a.got.filter((m) => m.type === "error");
    expect(refused.length).toBeGreaterThanOrEqual(2);
    expect(refused.every((m) => m.code === "rate-limited")).toBe(true);
    expect(delivered + refused.length).toBe(12);
    // past the protocol's bound: 1009 Message Too Big
    a.send(JSON.stringify({ type: "message", text: "y".repeat(17 * 1024) }));
    expect((await a.closed)[0]).toBe(1009);
    b.close();
  });

  it("a flood is closed with 1008 after 20 refused messages in a row (hellos and bad requests count too)", async () => {
    const flooder = await ChatClient.open(port(), freshRoom("flood"));
    let closed = false;
    void flooder.closed.then(() => (closed = true));
    // 30 at once (a burst of 10 and 20 refusals), then one at a time until closed: nothing sent after the close
    for (let i = 0; i < 60 && !closed; i++) {
      flooder.send("not json");
      if (i >= 29) await sleep(20);
    }
    const [code, reason] = await flooder.closed;
    expect([code, reason]).toEqual([1008, "too many messages"]);
    const errors = flooder.got.filter((m) => m.type === "error");
    // the burst answered as bad requests, then refusals: the 20th in a row closes
    expect(errors.filter((m) => m.code === "bad-request").length).toBeGreaterThanOrEqual(10);
    expect(errors.filter((m) => m.code === "rate-limited").length).toBeGreaterThanOrEqual(19);
  });

  it("rooms are separate; the bare /chat is the lobby; a bad room name is refused (400)", async () => {
    const here = freshRoom("here");
    const { client: a } = await ChatClient.join(port(), here, "a");
    const { client: other } = await ChatClient.join(port(), freshRoom("there"), "b");
    const { client: lobby, welcome } = await ChatClient.join(port(), "/chat", `lobby-${Math.random().toString(36).slice(2, 8)}`);
    expect(welcome.room).toBe("lobby");
    const lurker = await ChatClient.open(port(), here); // connected, never joined: hears nothing of the room
    const { client: peer } = await ChatClient.join(port(), here, "peer");
    a.say("only here");
    expect((await peer.next("message")).text).toBe("only here");
    await sleep(200);
    expect(lurker.got).toEqual([]);
    lurker.close();
    expect(other.got.filter((m) => m.type !== "welcome")).toEqual([]);
    expect(lobby.got.filter((m) => m.type === "message" && m.text === "only here")).toEqual([]);
    const bad = new WebSocket(`ws://127.0.0.1:${port()}/chat/${"r".repeat(65)}`, "chat.v2");
    const status = await new Promise<number>((r) => bad.once("unexpected-response", (_req, res) => r(res.statusCode ?? 0)));
    expect(status).toBe(400);
    for (const x of [a, other, lobby, peer]) x.close();
  });

  it("the seed's plain-text clients share the room: they join as guest, see 'name: text', their lines reach JSON users", async () => {
    const room = freshRoom("plain");
    const { client: ana } = await ChatClient.join(port(), room, "ana");
    const plain = new WebSocket(`ws://127.0.0.1:${port()}${room}`, "chat");
    const plainGot: string[] = [];
    plain.on("message", (d: Buffer) => plainGot.push(d.toString()));
    await new Promise((r, j) => plain.once("open", r).once("error", j));
    expect(plain.protocol).toBe("chat");
    expect(await ana.next("joined")).toEqual({ type: "joined", name: "guest" });
    plain.send("hi from the seed");
    expect(await ana.next("message")).toMatchObject({ from: "guest", text: "hi from the seed" });
    ana.say("hello guest");
    await ana.next("message", (m) => m.from === "ana");
    await sleep(200);
    expect(plainGot).toEqual(["ana: hello guest"]);
    plain.close();
    expect(await ana.next("left")).toEqual({ type: "left", name: "guest" });
    ana.close();
  });
}

/** The page in one tab: joins `room` (the page's ?room=) as `name` through its form. */
export async function joinOnPage(tab: Page, base: string, name: string, room?: string): Promise<void> {
  await tab.goto(`${base}/${room ? `?room=${encodeURIComponent(room)}` : ""}`);
  await tab.fill("#name", name);
  await tab.click("#join");
  await tab.waitForSelector('#status[data-state="open"]');
}

/** Two tabs on the page: join, see each other online, a message each way (shown as confirmed, not pending). */
export async function pageConversation(tab1: Page, tab2: Page, base: string): Promise<void> {
  const room = `page-${Math.random().toString(36).slice(2, 8)}`;
  await joinOnPage(tab1, base, "tab1", room);
  expect(await tab1.getAttribute("#status", "data-protocol")).toBe("chat.v2");
  await joinOnPage(tab2, base, "tab2", room);
  await tab1.waitForSelector('#online li:has-text("tab2")');
  await tab1.waitForSelector('#messages li.notice:has-text("tab2 joined")');
  expect(await tab2.$$eval("#online li", (els) => els.map((e) => e.textContent))).toEqual(["tab1", "tab2 (you)"]);
  await tab1.fill("#message", "hello from tab 1");
  await tab1.click("#send");
  await tab2.waitForSelector('#messages li.message:has-text("hello from tab 1")');
  await tab1.waitForSelector('#messages li.message.mine:has-text("hello from tab 1")');
  await tab2.fill("#message", "and back from tab 2");
  await tab2.press("#message", "Enter");
  await tab1.waitForSelector('#messages li.message:not(.mine):has-text("and back from tab 2")');
  const lines = await tab1.$$eval("#messages li.message", (els) => els.map((e) => `${e.querySelector(".from")?.textContent}: ${e.querySelector(".text")?.textContent}`));
  expect(lines).toEqual(["tab1: hello from tab 1", "tab2: and back from tab 2"]);
  await tab2.close();
  await tab1.waitForSelector('#messages li.notice:has-text("tab2 left")');
  expect(await tab1.$$eval("#online li", (els) => els.map((e) => e.textContent))).toEqual(["tab1 (you)"]);
}
