import { serve } from "../node/src/index.ts";
import { echoService } from "../../apps/echo/src/echo-service.ts";
const s = await serve({ port: 0, hostname: "127.0.0.1", services: { "/": echoService } });
console.log("Listening on port " + s.port);
