// Client driver for @ws/deno (see our-client.ts). Usage: <runner> deno-client <fuzzing-server-base-url> <agent>
import { connect, silentLogger } from "@ws/deno";
import { openWith, runDriver } from "./our-client.ts";

runDriver(openWith(connect as Parameters<typeof openWith>[0], silentLogger));
