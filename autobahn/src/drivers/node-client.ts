// Client driver for @ws/node (see our-client.ts). Usage: <runner> node-client <fuzzing-server-base-url> <agent>
import { connect, silentLogger } from "@ws/node";
import { openWith, runDriver } from "./our-client.ts";

runDriver(openWith(connect as Parameters<typeof openWith>[0], silentLogger));
