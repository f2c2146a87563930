/**
 * @ws/cloudflare under test: the bench's echo service in a Worker (`handler()`: WebSocketPair + accept() mapped
 * onto @ws/core's Connection), as apps/echo's Workers entry. No broadcast: topics need a Durable Object room,
 * and a room serializes every connection through one object, which is not the echo being compared here.
 * Bundled and run on workerd by src/servers/workers.ts. Not type-checked by tsc (Workers globals).
 */
import { handler, silentLogger } from "@ws/cloudflare";
import { benchServices } from "../src/services.ts";

export default {
  fetch: handler({ services: { "/": benchServices["/"] }, logger: silentLogger }),
};
