/** The chat server on Node: the page at "/", the chat service at "/chat". PORT (default 8080). */
import { serve } from "@ws/node";
import { chatService } from "./chat-service.ts";
import { pageHandler } from "./page.ts";

const port = Number(process.env.PORT ?? process.argv[2] ?? 8080);
const server = await serve({ port, services: { "/chat": chatService }, fetch: pageHandler, perMessageDeflate: true });
console.log(`Listening on port ${server.port}`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void server.close().then(() => process.exit(0));
  });
}
