/**
 * @ws/redis — `RedisBroker`: a server's topics published across processes and machines through Redis pub/sub.
 *
 * @packageDocumentation
 * @module @ws/redis
 */
export {
  RedisBroker,
  DEFAULT_MAX_MESSAGE_SIZE,
  DEFAULT_MAX_QUEUED_BYTES,
  PUBLISH_OVERHEAD,
  type RedisBrokerOptions,
  type RedisBrokerStats,
} from "./broker.ts";
