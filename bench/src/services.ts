/**
 * The services every one of our bench servers runs, on every runtime and engine: echo at "/", a topic broadcast
 * at "/broadcast". No import on purpose: each runtime's server entry hands them to its own adapter, so a process
 * holds one copy of the core.
 */
type Message = string | Uint8Array;
interface BenchConnection {
  send(message: Message): unknown;
  subscribe(topic: string): void;
  publish(topic: string, message: Message): unknown;
}

export const benchServices = {
  "/": {
    received(message: Message, conn: BenchConnection) {
      void conn.send(message);
    },
  },
  "/broadcast": {
    connected(conn: BenchConnection) {
      conn.subscribe("bench");
    },
    received(message: Message, conn: BenchConnection) {
      conn.publish("bench", message);
    },
  },
};
