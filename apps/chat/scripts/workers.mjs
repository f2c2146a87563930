// `pnpm start:workers`: the chat's Workers entry on workerd (Miniflare from npm), on PORT (default 8080).
// The binding is wrangler.toml's: CHAT_ROOMS → ChatRoom.
import { fileURLToPath } from "node:url";
import { serveWorker } from "@ws/cloudflare/dev";

await serveWorker({
  entry: fileURLToPath(new URL("../src/server.workers.ts", import.meta.url)),
  name: "ws-chat",
  durableObjects: { CHAT_ROOMS: "ChatRoom" },
  defaultPort: 8080,
});
