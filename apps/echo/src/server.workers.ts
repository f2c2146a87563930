/**
 * The echo server on Cloudflare Workers: the same service module as server.node.ts, in the Worker itself
 * (no Durable Object: echo needs no topics). PORT (default 9001).
 *   pnpm start:workers          (locally on workerd through Miniflare)
 *   wrangler deploy             (wrangler.toml)
 */
import { handler } from "@ws/cloudflare";
import { echoService } from "./echo-service.ts";

export default {
  fetch: handler({ services: { "/": echoService } }),
} satisfies ExportedHandler;
