// Client driver for @ws/bun (see our-client.ts). Usage: <runner> bun-client <fuzzing-server-base-url> <agent>
import { connect, silentLogger } from "@ws/bun";
import { openWith, runDriver } from "./our-client.ts";

runDriver(openWith(connect as Parameters<typeof openWith>[0], silentLogger));
