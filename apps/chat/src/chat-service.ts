/**
 * The chat service (the Kitura-WebSocket seed's ChatService): every text message goes to every other
 * client; a client that sends binary is closed with 1003. No runtime import: the Node, Bun and Deno entries
 * all register this very module.
 */
import { CloseCode, defineService, type Connection } from "@ws/core";

export function createChatService() {
  const connections = new Map<string, Connection>();
  return defineService({
    protocols: ["chat"],
    connectionTimeout: 60,
    connected(conn) {
      connections.set(conn.id, conn);
    },
    disconnected(conn) {
      connections.delete(conn.id);
    },
    received(message, from) {
      if (typeof message !== "string") {
        connections.delete(from.id);
        void from.close(CloseCode.UnsupportedData, "Chat-Server only accepts text messages");
        return;
      }
      for (const [id, conn] of connections) {
        if (id !== from.id) void conn.send(message);
      }
    },
  });
}

export const chatService = createChatService();
