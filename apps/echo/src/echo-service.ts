/** Echo: text back as text, binary back as binary. Runtime-agnostic; used by the conformance suite and the benchmarks. */
import { defineService } from "@ws/core";

/**
 * The conformance suite's 9.* cases send messages of up to 16 MiB, split into as many as 65,536 frames
 * (4 MiB in 64-byte fragments): above the server default of 4096 frames per message, so the echo servers
 * raise that limit (a frame-level limit: the core engine's; a runtime's own WebSocket has none to set).
 */
export const ECHO_MAX_FRAGMENTS = 1 << 17;

export const echoService = defineService({
  received(message, conn) {
    void conn.send(message);
  },
});
