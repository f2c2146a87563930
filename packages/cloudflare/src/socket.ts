/**
 * A Workers WebSocket (the server end of a `WebSocketPair`, accepted with `accept()` or with a Durable
 * Object's `ctx.acceptWebSocket()`) as @ws/core's `RuntimeSocket`. Workers' WebSocket has no ping/pong API,
 * no pause and no way to abort the TCP connection; the Connection raises `UnsupportedError` for what needs
 * them (see the README's feature table).
 */
import type { Message } from "@ws/core";
import type { RuntimeSocket } from "@ws/core/adapter";

/**
 * A RuntimeSocket over `ws`; `onClose` is told when our side sent its close frame.
 *
 * @internal
 */
export function workersSocket(ws: WebSocket, engineName: string, onCloseSent?: () => void): RuntimeSocket & { readonly closeSent: boolean } {
  let closeSent = false;
  const send = (data: string | Uint8Array): boolean => {
    try {
      ws.send(data);
      return true;
    } catch {
      // closed or closing (workerd throws on send after close), or a socket of another request (Workers forbid
      // I/O on another request's objects)
      return false;
    }
  };
  return {
    engineName,
    get closeSent() {
      return closeSent;
    },
    sendText: (text) => send(text),
    sendBinary: (bytes) => send(bytes),
    close(code, reason) {
      closeSent = true;
      onCloseSent?.();
      ws.close(code, reason);
    },
    // no API to abort the TCP connection: a close frame is the most a Workers WebSocket can do
    terminate() {
      if (closeSent) return;
      closeSent = true;
      try {
        ws.close(1000, "");
      } catch {
        // already closed
      }
    },
    get bufferedAmount() {
      return (ws as { bufferedAmount?: number }).bufferedAmount ?? 0;
    },
    hasDrainEvent: false,
  };
}

/**
 * A message as workerd delivers it (a string, or an ArrayBuffer for binary) as a @ws/core Message.
 *
 * @internal
 */
export function toMessage(data: unknown): Message {
  if (typeof data === "string") return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError(`unexpected WebSocket message of type ${Object.prototype.toString.call(data)}`);
}

/**
 * Completes the close handshake for a close the peer started: workerd reports the peer's close frame, and
 * (unless the runtime already answered it) we answer with the same code. Nothing to answer for 1006 (no
 * close frame) or when our close frame is already out.
 */
export function answerClose(ws: WebSocket, code: number, reason: string, closeSent: boolean): void {
  if (closeSent || code === 1006) return;
  try {
    if (code === 1005) ws.close();
    else ws.close(code, reason);
  } catch {
    try {
      ws.close(); // a code we may not send (1004, 1015, …): answer without one
    } catch {
      // the runtime answered it already (auto-reply), or the socket is gone
    }
  }
}
