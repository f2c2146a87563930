/**
 * @ws/core's metrics hooks as Prometheus metrics (prom-client): pass `promMetrics(registry)` as a server's
 * `metrics` option and serve `registry.metrics()` at /metrics (see metrics.node.ts).
 */
import type { MetricsHooks } from "@ws/core";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export function promMetrics(registry: Registry, prefix = "ws_"): MetricsHooks {
  const registers = [registry];
  const opened = new Counter({ name: `${prefix}connections_opened_total`, help: "WebSocket connections opened", registers });
  const open = new Gauge({ name: `${prefix}connections_open`, help: "WebSocket connections open now", registers });
  const closed = new Counter({
    name: `${prefix}connections_closed_total`,
    help: "WebSocket connections closed, by close code and the side that started the close",
    labelNames: ["code", "initiated_by"] as const,
    registers,
  });
  const refused = new Counter({ name: `${prefix}upgrades_refused_total`, help: "WebSocket upgrades refused, by HTTP status", labelNames: ["status"] as const, registers });
  const messagesIn = new Counter({ name: `${prefix}messages_received_total`, help: "messages received", labelNames: ["type"] as const, registers });
  const bytesIn = new Counter({ name: `${prefix}received_bytes_total`, help: "payload bytes of the messages received", labelNames: ["type"] as const, registers });
  const messagesOut = new Counter({ name: `${prefix}messages_sent_total`, help: "messages sent", labelNames: ["type"] as const, registers });
  const bytesOut = new Counter({ name: `${prefix}sent_bytes_total`, help: "payload bytes of the messages sent", labelNames: ["type"] as const, registers });
  const peak = new Histogram({
    name: `${prefix}send_buffer_peak_bytes`,
    help: "the most bytes a connection's send buffer held, per closed connection",
    buckets: [0, 1024, 16 * 1024, 256 * 1024, 1024 * 1024, 16 * 1024 * 1024],
    registers,
  });
  const handlerErrors = new Counter({ name: `${prefix}handler_errors_total`, help: "errors thrown or rejected by handlers", registers });
  const protocolErrors = new Counter({ name: `${prefix}protocol_errors_total`, help: "peers closed for breaking the protocol or a limit, by close code", labelNames: ["code"] as const, registers });
  return {
    opened() {
      opened.inc();
      open.inc();
    },
    closed(_conn, close) {
      open.dec();
      closed.inc({ code: String(close.code), initiated_by: close.initiatedBy });
      peak.observe(close.peakBufferedAmount);
    },
    upgradeRefused: (status) => refused.inc({ status: String(status) }),
    messageIn(_conn, type, bytes) {
      messagesIn.inc({ type });
      bytesIn.inc({ type }, bytes);
    },
    messageOut(_conn, type, bytes) {
      messagesOut.inc({ type });
      bytesOut.inc({ type }, bytes);
    },
    handlerError: () => handlerErrors.inc(),
    protocolError: (_conn, error) => protocolErrors.inc({ code: String(error.code) }),
  };
}
