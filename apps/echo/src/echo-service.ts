/** Echo: text back as text, binary back as binary. Runtime-agnostic; used by the conformance suite and the benchmarks. */
import { defineService } from "@ws/core";

export const echoService = defineService({
  received(message, conn) {
    void conn.send(message);
  },
});
