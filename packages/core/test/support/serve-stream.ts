import { createUpgradeRequest, type Connection, type UpgradeRequest } from "../../src/index.ts";
import type { ServerCore, UpgradeOutcome } from "../../src/adapter.ts";
import { parseHttpHead } from "../../src/protocol.ts";
import { concatBytes, type MemoryStream } from "./memory-stream.ts";

/** A minimal adapter over a memory stream: read the request head, negotiate, write the answer. */
export function serveStream(core: ServerCore, stream: MemoryStream, hold = false): Promise<Connection | UpgradeOutcome> {
  return new Promise((resolve) => {
    let buffered: Uint8Array = new Uint8Array(0);
    let handling = false;
    stream.start({
      data: (chunk) => {
        buffered = concatBytes([buffered, chunk]);
        if (handling) return;
        const head = parseHttpHead(buffered);
        if (!head || head instanceof Error) return;
        handling = true;
        const [method, url, version] = head.startLine;
        const req: UpgradeRequest = createUpgradeRequest({ method, url, httpVersion: version.replace("HTTP/", ""), headers: head.headers, remoteAddress: "127.0.0.1" });
        void core.negotiate(req).then((outcome) => {
          if (!outcome.ok) {
            stream.write(outcome.response);
            stream.end();
            return resolve(outcome);
          }
          if (hold) stream.stall();
          resolve(outcome.accept(stream, buffered.subarray(head.length)));
        });
      },
      drain: () => {},
      end: () => {},
      close: () => {},
    });
  });
}
