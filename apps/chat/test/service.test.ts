/**
 * The chat service on its own, through @ws/core/testing: the real upgrade decision (the room's gate) and real
 * Connections over in-memory streams — no port, no runtime, no waiting. Delivery in memory is ordered and
 * prompt, so each check says exactly which message comes next; the rate limit runs on a clock the test moves.
 * The same behaviour over real sockets, on every runtime, is chat-checks.ts's.
 */
import { afterEach, describe, expect, it } from "vitest";
import { HandshakeError, silentLogger } from "@ws/core";
import { testServer, type TestClient, type TestServer } from "@ws/core/testing";
import { createChatService, roomTopic, type ChatMember, type ChatServiceOptions } from "../src/chat-service.ts";
import { CHAT_PROTOCOL, PLAIN_PROTOCOL, type ServerMessage } from "../src/chat-protocol.ts";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A server with the chat service where the Node entry has it ("/chat" and "/chat/:room"), on a clock at `clock.t`. */
function chatServer(options: ChatServiceOptions = {}): { server: TestServer; clock: { t: number } } {
  const clock = { t: 1_767_225_600_000 };
  const chat = createChatService({ now: () => clock.t, ...options });
  server = testServer({ services: { "/chat": chat, "/chat/:room": chat }, logger: silentLogger, timeout: 1000 });
  return { server, clock };
}

/** Connects with the chat.v2 subprotocol (`path`: "/chat/room?name=ana", …). */
function open(s: TestServer, path: string, protocols = [CHAT_PROTOCOL]): Promise<TestClient<ChatMember>> {
  return s.connect<ChatMember>(path, { protocols });
}

/** Joins `room` as `name` through `?name=`: the client and its welcome. */
async function join(s: TestServer, room: string, name: string) {
  const client = await open(s, `${room}?name=${encodeURIComponent(name)}`);
  const welcome = await client.nextJson<ServerMessage>();
  return { client, welcome };
}

const say = (client: TestClient, text: string) => client.send(JSON.stringify({ type: "message", text }));

describe("the chat service, in memory (@ws/core/testing)", () => {
  it("join: a welcome with the online list; the room hears who joined; the member is the connection's data", async () => {
    const { server } = chatServer();
    const { client: ana, welcome } = await join(server, "/chat/r1", "ana");
    expect(ana.protocol).toBe(CHAT_PROTOCOL);
    expect(welcome).toEqual({ type: "welcome", you: "ana", room: "r1", online: ["ana"], history: [] });
    expect(ana.serverConnection.data).toMatchObject({ room: "r1", plain: false, name: "ana" });
    const { client: bob, welcome: toBob } = await join(server, "/chat/r1", "bob");
    expect(toBob).toMatchObject({ you: "bob", online: ["ana", "bob"] });
    expect(await ana.nextJson()).toEqual({ type: "joined", name: "bob" });
    expect(server.subscriberCount(roomTopic("r1"))).toBe(2);
    // a taken name gets a suffix, without regard to case
    const { welcome: toAna2 } = await join(server, "/chat/r1", "ANA");
    expect(toAna2).toMatchObject({ you: "ANA-2", online: ["ana", "bob", "ANA-2"] });
    expect(await bob.nextJson()).toEqual({ type: "joined", name: "ANA-2" });
  });

  it("a message to the room reaches the other client, and comes back to the sender as its confirmation", async () => {
    const { server, clock } = chatServer();
    const { client: ana } = await join(server, "/chat/r2", "ana");
    const { client: bob } = await join(server, "/chat/r2", "bob");
    await ana.next(); // bob joined
    await say(bob, "hello ana — ünïcödé 🎉");
    const line = { type: "message", from: "bob", text: "hello ana — ünïcödé 🎉", at: clock.t };
    expect(await ana.nextJson()).toEqual(line);
    expect(await bob.nextJson()).toEqual(line);
    // other rooms and the lobby hear nothing of it
    const { client: elsewhere } = await join(server, "/chat", "elsewhere");
    expect(elsewhere.serverConnection.data.room).toBe("lobby");
    await say(bob, "only r2");
    await ana.next();
    expect(elsewhere.messages).toHaveLength(1); // its welcome
  });

  it("history: a newcomer gets the room's last `historySize` messages, oldest first", async () => {
    const { server, clock } = chatServer({ historySize: 3 });
    const { client: ana } = await join(server, "/chat/r3", "ana");
    for (const text of ["one", "two", "three", "four"]) {
      clock.t += 1000;
      await say(ana, text);
      await ana.next(); // the confirmation: stored by then
    }
    const { welcome } = await join(server, "/chat/r3", "cy");
    expect(welcome).toMatchObject({ online: ["ana", "cy"] });
    expect((welcome as { history: unknown[] }).history).toEqual([
      { from: "ana", text: "two", at: clock.t - 2000 },
      { from: "ana", text: "three", at: clock.t - 1000 },
      { from: "ana", text: "four", at: clock.t },
    ]);
    const { welcome: other } = await join(server, "/chat/r3-other", "dee");
    expect(other).toMatchObject({ history: [] });
  });

  it("leave: the room hears who left, the online list forgets them, their name is free again", async () => {
    const { server } = chatServer();
    const { client: ana } = await join(server, "/chat/r4", "ana");
    const { client: bob } = await join(server, "/chat/r4", "bob");
    await ana.next(); // bob joined
    expect(await bob.close(1000, "bye")).toMatchObject({ code: 1000, wasClean: true });
    expect(await ana.nextJson()).toEqual({ type: "left", name: "bob" });
    const { welcome } = await join(server, "/chat/r4", "bob");
    expect(welcome).toMatchObject({ you: "bob", online: ["ana", "bob"] });
  });

  it("hello: nothing until joined; a message first, a bad name, a second hello and bad JSON are refused", async () => {
    const { server } = chatServer();
    const eve = await open(server, "/chat/r5");
    await say(eve, "too early");
    expect(await eve.nextJson()).toMatchObject({ type: "error", code: "not-joined" });
    await eve.send(JSON.stringify({ type: "hello", name: "evil\u001b[2J" }));
    expect(await eve.nextJson()).toMatchObject({ type: "error", code: "bad-name", message: "a name cannot hold control characters" });
    await eve.send(JSON.stringify({ type: "hello", name: "  Eve   Lyn " }));
    expect(await eve.nextJson()).toMatchObject({ type: "welcome", you: "Eve Lyn", online: ["Eve Lyn"] });
    await eve.send(JSON.stringify({ type: "hello", name: "again" }));
    expect(await eve.nextJson()).toMatchObject({ type: "error", code: "already-joined" });
    await eve.send("not json");
    expect(await eve.nextJson()).toMatchObject({ type: "error", code: "bad-request" });
  });

  it("limits: a text over maxTextLength is refused; a message over maxMessageSize closes with 1009", async () => {
    const { server } = chatServer({ maxTextLength: 10, maxMessageSize: 256 });
    const { client: ana } = await join(server, "/chat/r6", "ana");
    const { client: bob } = await join(server, "/chat/r6", "bob");
    await ana.next(); // bob joined
    await say(ana, "x".repeat(11));
    expect(await ana.nextJson()).toEqual({ type: "error", code: "too-long", message: "a message is at most 10 characters; this one (11) was not sent" });
    await say(ana, "x".repeat(10));
    expect(await bob.nextJson()).toMatchObject({ from: "ana", text: "x".repeat(10) });
    await say(ana, "y".repeat(300));
    expect(await ana.closed).toMatchObject({ code: 1009 });
    expect(await bob.nextJson()).toEqual({ type: "left", name: "ana" });
  });

  it("the rate: a burst of messageBurst, then messagesPerSecond; each one over it refused, not sent", async () => {
    const { server, clock } = chatServer({ messageBurst: 3, messagesPerSecond: 2 });
    const { client: ana } = await join(server, "/chat/r7", "ana");
    const { client: bob } = await join(server, "/chat/r7", "bob");
    await ana.next(); // bob joined
    for (let i = 0; i < 5; i++) await say(ana, `burst ${i}`);
    const toAna = [];
    for (let i = 0; i < 5; i++) toAna.push(await ana.nextJson<ServerMessage>());
    expect(toAna.map((m) => (m.type === "message" ? m.text : m.type === "error" ? m.code : m.type))).toEqual(["burst 0", "burst 1", "burst 2", "rate-limited", "rate-limited"]);
    for (let i = 0; i < 3; i++) expect(await bob.nextJson()).toMatchObject({ text: `burst ${i}` });
    // a second later: two more
    clock.t += 1000;
    for (let i = 5; i < 8; i++) await say(ana, `later ${i}`);
    expect(await bob.nextJson()).toMatchObject({ text: "later 5" });
    expect(await bob.nextJson()).toMatchObject({ text: "later 6" });
    await expect(bob.next({ timeout: 50 })).rejects.toThrow("no message within 50 ms");
  });

  it("a flood is closed with 1008 after maxRefusedInARow refusals in a row", async () => {
    const { server } = chatServer({ messageBurst: 2, maxRefusedInARow: 5 });
    const flooder = await open(server, "/chat/r8");
    for (let i = 0; i < 10; i++) await flooder.send("not json");
    expect(await flooder.closed).toMatchObject({ code: 1008, reason: "too many messages" });
    const codes = flooder.messages.map((m) => (JSON.parse(m as string) as { code: string }).code);
    // two answered (as bad requests), four refused, the fifth refusal closes; what followed was not answered
    expect(codes).toEqual(["bad-request", "bad-request", "rate-limited", "rate-limited", "rate-limited", "rate-limited"]);
  });

  it("binary closes with 1003; a bad room name is refused by the gate with 400 and why", async () => {
    const { server } = chatServer();
    const { client: ana } = await join(server, "/chat/r9", "ana");
    await ana.send(new Uint8Array([1]));
    expect(await ana.closed).toMatchObject({ code: 1003, reason: "Chat-Server only accepts text messages" });
    const refused = await open(server, `/chat/${"r".repeat(65)}`).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(HandshakeError);
    expect(refused).toMatchObject({ status: 400, body: "a room's name is 1 to 64 letters, digits, '_', '.' or '-'\n" });
  });

  it("the seed's plain-text clients: join as guest, send lines, get 'name: text'", async () => {
    const { server } = chatServer();
    const { client: ana } = await join(server, "/chat/r10", "ana");
    const plain = await open(server, "/chat/r10", [PLAIN_PROTOCOL]);
    expect(plain.protocol).toBe(PLAIN_PROTOCOL);
    expect(await ana.nextJson()).toEqual({ type: "joined", name: "guest" });
    await plain.send("hi from the seed");
    expect(await ana.nextJson()).toMatchObject({ type: "message", from: "guest", text: "hi from the seed" });
    await say(ana, "hello guest");
    expect(await plain.next()).toBe("ana: hello guest");
    expect(await ana.nextJson()).toMatchObject({ from: "ana", text: "hello guest" }); // ana's confirmation
    // no subprotocol at all: plain text too
    const bare = await open(server, "/chat/r10", []);
    expect(bare.protocol).toBeNull();
    expect(await ana.nextJson()).toEqual({ type: "joined", name: "guest-2" });
  });

  it("shutting the server down closes every member with 1001", async () => {
    const { server: s } = chatServer();
    const { client: ana } = await join(s, "/chat/r11", "ana");
    const { client: bob } = await join(s, "/chat/r11", "bob");
    await s.close();
    expect(await ana.closed).toMatchObject({ code: 1001 });
    expect(await bob.closed).toMatchObject({ code: 1001 });
    server = undefined;
  });
});
