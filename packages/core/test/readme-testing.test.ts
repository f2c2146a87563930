// chat.test.ts (vitest; node:test, bun test or Deno.test work the same)
import { expect, it } from "vitest";
import { defineService, HandshakeError, type UpgradeDecision } from "@ws/core";
import { testServer } from "@ws/core/testing";

const chat = defineService<{ user: string }>({
  protocols: ["chat"],
  upgrade(req): UpgradeDecision<{ user: string }> {
    const user = req.cookies.get("session");
    if (!user) return { reject: 401, reason: "log in first", headers: { "WWW-Authenticate": "Cookie" } };
    return { data: { user } };
  },
  connected(conn) {
    conn.subscribe(conn.request.query.get("room") ?? "lobby");
  },
  received(message, conn) {
    if (typeof message !== "string") return void conn.close(1003, "text only");
    conn.publish(conn.request.query.get("room") ?? "lobby", `${conn.data.user}: ${message}`);
  },
});

it("relays a message to the room, refuses without a session", async () => {
  const server = testServer({ services: { "/chat": chat }, maxMessageSize: 4096 });
  const ana = await server.connect("/chat?room=a", { headers: { cookie: "session=ana" }, protocols: ["chat"] });
  const bob = await server.connect("/chat?room=a", { headers: { cookie: "session=bob" }, protocols: ["chat"] });
  expect(ana.protocol).toBe("chat");
  expect(ana.serverConnection.data).toEqual({ user: "ana" }); // what the gate gave, on the server's side

  await ana.send("hi");
  expect(await bob.next()).toBe("ana: hi");           // the next message, or a ReadTimeoutError after 2 s
  server.publish("a", "from the server");
  expect(await ana.next()).toBe("from the server");
  expect(bob.messages).toEqual(["ana: hi", "from the server"]); // everything received, in order

  const refused = await server.connect("/chat").catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(HandshakeError);
  expect(refused).toMatchObject({ status: 401, body: "log in first\n" });

  await bob.send(new Uint8Array([1]));
  expect(await bob.closed).toMatchObject({ code: 1003, reason: "text only" });
  expect(await ana.close(4000, "bye")).toMatchObject({ code: 4000 });
  await server.close(); // as a real server's: 1001 to whoever is left, then 503 to new upgrades
});
