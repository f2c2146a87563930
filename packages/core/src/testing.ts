/**
 * @ws/core/testing — test a service without sockets, on any runtime and with any test framework: `testServer()`
 * runs the real server core (routing, the upgrade gate, subprotocols, limits, topics, graceful shutdown) and
 * connects clients to it over in-memory byte streams, a real `Connection` on each side; `inject()` is the
 * one-service, one-client shortcut (as `@fastify/websocket`'s `injectWS`). `memoryStreamPair()` is the
 * in-memory stand-in for a TCP connection underneath, for driving an engine or a handshake of your own.
 *
 * @packageDocumentation
 * @module @ws/core/testing
 */
export { testServer, inject, TestServer, type TestServerOptions, type TestConnectOptions } from "./testing/test-server.ts";
export { TestClient, type ReadOptions } from "./testing/test-client.ts";
export { memoryStreamPair, MemoryByteStream, type MemoryStreamOptions } from "./testing/memory-stream.ts";
