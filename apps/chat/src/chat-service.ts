/**
 * The chat service (the Kitura-WebSocket seed's ChatService): every text message goes to every other
 * client (one room: a topic); a client that sends binary is closed with 1003. No runtime import: the Node,
 * Bun and Deno entries all register this very module.
 */
import { CloseCode, defineService } from "@ws/core";

/** The one room every client joins: a topic, so it spans processes when the server has a broker (@ws/redis). */
export const CHAT_ROOM = "chat";

export function createChatService(room = CHAT_ROOM) {
  return defineService({
    protocols: ["chat"],
    connectionTimeout: 60,
    connected(conn) {
      conn.subscribe(room);
    },
    received(message, from) {
      if (typeof message !== "string") {
        from.unsubscribe(room);
        void from.close(CloseCode.UnsupportedData, "Chat-Server only accepts text messages");
        return;
      }
      from.publish(room, message); // to every subscriber but the sender, in this process and (with a broker) the others
    },
  });
}

export const chatService = createChatService();
