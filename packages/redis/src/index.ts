export { RedisBroker, type RedisBrokerOptions, type RedisBrokerStats } from "./broker.ts";
