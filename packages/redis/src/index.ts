export {
  RedisBroker,
  DEFAULT_MAX_MESSAGE_SIZE,
  DEFAULT_MAX_QUEUED_BYTES,
  PUBLISH_OVERHEAD,
  type RedisBrokerOptions,
  type RedisBrokerStats,
} from "./broker.ts";
