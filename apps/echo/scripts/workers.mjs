// `pnpm start:workers`: the echo's Workers entry on workerd (Miniflare from npm), on PORT (default 9001).
import { fileURLToPath } from "node:url";
import { serveWorker } from "@ws/cloudflare/dev";

await serveWorker({
  entry: fileURLToPath(new URL("../src/server.workers.ts", import.meta.url)),
  name: "ws-echo",
  defaultPort: 9001,
  host: "127.0.0.1",
});
