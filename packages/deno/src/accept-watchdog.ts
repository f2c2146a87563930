/**
 * Deno's node:net listener stops accepting for good once an accept has failed (EMFILE: the process ran out of
 * file descriptors), even after descriptors are free again: it emits no 'error', `listening` stays true, and
 * connections pile up in the kernel's queue unanswered (denoland/deno#10148 is the same for Deno.listen). Node's
 * libuv keeps accepting. The watchdog notices a listener that no longer accepts and listens again on the same
 * address; connections already open are kept (only the listening socket is replaced).
 *
 * How it notices, at no cost on a busy server: each `period`, a server that has accepted a connection since the
 * last look is alive. An idle one gets a probe: a loopback connection to its own port, closed as soon as it is
 * made. A probe the server has not accepted two periods later (connected or still waiting in a full queue) means
 * the accept loop has stopped: one warning, and the server listens again. A probe that cannot even be made
 * (EMFILE on this side) proves nothing: the next period tries again.
 */
import * as net from "node:net";
import type { Logger } from "@ws/core";

/** How often the watchdog looks, in ms: a stopped listener is listening again within about three periods. */
export const ACCEPT_WATCHDOG_PERIOD = 1000;

/** The running watchdog of one server. */
export interface AcceptWatchdog {
  /** stops looking (before the server closes, so that closing is not taken for a stopped listener) */
  stop(): void;
}

/** The address a probe connects to: the listener's own, loopback for a wildcard one. */
function probeHost(address: string): string {
  if (address === "0.0.0.0") return "127.0.0.1";
  if (address === "::") return "::1";
  return address;
}

/**
 * Watches that `server` keeps accepting connections, and listens again on its address when it has stopped
 * (Deno's node:net after EMFILE). `host` is what the server was asked to listen on (undefined: every interface).
 * Internal to @ws/deno (serve()'s core engine starts it), not exported from the package.
 */
export function keepAccepting(server: net.Server, host: string | undefined, logger: Logger, period = ACCEPT_WATCHDOG_PERIOD): AcceptWatchdog {
  const first = server.address() as net.AddressInfo;
  const port = first.port;
  const target = probeHost(first.address);
  let accepted = false;
  /** the probe in flight: how many looks it has outlived */
  let probe: { socket: net.Socket; looks: number } | undefined;
  let stopped = false;
  /** looks to skip before listening again after a listen that failed (EMFILE still): doubles, up to 32 */
  let backoff = 0;
  let skip = 0;

  const onConnection = () => {
    accepted = true;
  };
  server.on("connection", onConnection);

  const endProbe = () => {
    probe?.socket.destroy();
    probe = undefined;
  };

  const startProbe = () => {
    const socket = net.connect({ host: target, port });
    socket.unref();
    const current = { socket, looks: 0 };
    probe = current;
    // made: closed at once (the server still accepts it from its queue); EMFILE or a refusal proves nothing
    socket.once("connect", () => socket.destroy());
    socket.once("error", () => {
      if (probe === current) probe = undefined;
    });
  };

  const listenAgain = () => {
    logger.warn(
      { port, host: host ?? "*" },
      `the listener on port ${port} stopped accepting connections (Deno's node:net after the process ran out of file descriptors, denoland/deno#10148): listening again; open connections are kept`,
    );
    endProbe();
    // net.Server's close, not http.Server's: that one would also close idle keep-alive connections
    net.Server.prototype.close.call(server);
    server.listen(port, host);
  };

  const look = () => {
    if (stopped) return;
    if (accepted) {
      accepted = false;
      endProbe();
      return;
    }
    if (!server.listening) {
      // our listen failed (serve's 'error' listener logged why: EMFILE still): again, less and less often
      if (skip > 0) {
        skip -= 1;
        return;
      }
      backoff = Math.min(32, Math.max(1, backoff * 2));
      skip = backoff;
      server.listen(port, host);
      return;
    }
    backoff = 0;
    if (!probe) {
      startProbe();
      return;
    }
    probe.looks += 1;
    if (probe.looks >= 2) listenAgain();
  };
  const timer = setInterval(look, period);
  timer.unref();

  return {
    stop() {
      stopped = true;
      clearInterval(timer);
      server.off("connection", onConnection);
      endProbe();
    },
  };
}
