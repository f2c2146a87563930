/**
 * The seam between the core and a runtime: an adapter wraps its socket as a ByteStream and the core does the
 * rest. Everything protocol-related happens above this interface.
 */
export interface ByteStreamEvents {
  /** bytes from the peer; the chunk now belongs to the core (an adapter whose runtime reuses it must copy) */
  data(chunk: Uint8Array): void;
  /** the transport's write buffer has emptied after `write` returned false */
  drain(): void;
  /** the peer half-closed its side (EOF) */
  end(): void;
  /** the transport is fully closed, by either side or by an error (given when there was one) */
  close(error?: Error): void;
}

export interface ByteStream {
  /**
   * Starts delivering events to `events`. The core may call it again to hand the stream to a new owner
   * (the client handshake reads the response, then gives the stream to the Connection): later events go to
   * the newest handlers only.
   */
  start(events: ByteStreamEvents): void;
  /** Queues bytes for the peer; false when the transport's buffer is full (wait for `drain`). */
  write(chunk: Uint8Array): boolean;
  /**
   * Queues several buffers at once (one system call where the runtime can). A buffer may be shared with other
   * streams (a broadcast frame): never modify it, and keep it (or a view of it) rather than a copy of it for what
   * waits, or its memory grows with the number of receivers.
   */
  writev?(chunks: Uint8Array[]): boolean;
  /** Flushes, then half-closes (sends FIN); the transport closes when the peer closes too. */
  end(): void;
  /** Closes immediately, dropping anything unsent. */
  destroy(): void;
  /** Bytes accepted by `write` and not yet handed to the operating system. */
  readonly bufferedAmount: number;
  /** Stops / restarts delivering `data` (backpressure towards the peer while the reader is behind). */
  pause?(): void;
  resume?(): void;
  /** Keeps a timer from holding the process open, where the runtime supports that. */
  unrefTimer?(timer: unknown): void;
  /**
   * Where the bytes written to this stream are best allocated (Node: `Buffer.allocUnsafe`, which its sockets
   * take as is); default: a plain Uint8Array.
   */
  readonly allocate?: (size: number) => Uint8Array;
  /**
   * Where received messages assembled from several reads are allocated: memory that need not be cleared (each
   * byte is written before the message is handed out) but is the message's own (Node: `Buffer.allocUnsafeSlow`);
   * default: a plain, zero-filled Uint8Array (ProtocolOptions.allocateMessage).
   */
  readonly allocateMessage?: (size: number) => Uint8Array;
  /**
   * The text of `bytes[start, end)`, every byte of which is below 0x80, decoded natively from the offsets, with
   * no view of the bytes (Bun: `Buffer.prototype.latin1Slice`); small text messages whole in one read are then
   * decoded without a `subarray` each. Default: a view and the strict UTF-8 decoder (ProtocolOptions.asciiText).
   */
  readonly asciiText?: (bytes: Uint8Array, start: number, end: number) => string;
  /**
   * Runs `task` once the runtime has delivered the reads that are ready now (Node: `setImmediate`, after the
   * event loop's poll phase). The core then hands this stream's write batch over there rather than at the end of
   * each read's callback, so replies to the messages of several reads that arrived together go out in one write.
   * Default: at the end of the callback that queued them (a microtask).
   */
  readonly afterReads?: (task: () => void) => void;
}
