/**
 * The part of @ws/node's API the core engine uses, declared here for `deno check`: @ws/node's serve() runs
 * unchanged on Deno's node:http, but Deno's fetch typings reject one line of its source (a Node Buffer passed as
 * a Request body, which Node's typings accept), so its source cannot be type-checked under Deno. server.ts takes
 * these declarations with `@ts-types`; they go once @ws/node converts that body to a plain Uint8Array.
 */
import type { Connection, SendData, ServerOptions, Service } from "@ws/core";

export interface ServeOptions extends ServerOptions {
  maxPayload?: number;
  handshakeTimeout?: number;
  port?: number;
  host?: string;
  hostname?: string;
  tls?: { key: string | Uint8Array; cert: string | Uint8Array; ca?: string | Uint8Array };
  fetch?: (request: Request) => Response | Promise<Response>;
}

export interface ServeHandle {
  readonly port: number;
  readonly hostname: string;
  readonly url: string;
  readonly connections: ReadonlySet<Connection<unknown>>;
  readonly connectionCount: number;
  register(path: string, service: Service<unknown>): void;
  unregister(path: string): boolean;
  publish(topic: string, message: SendData): number;
  subscriberCount(topic: string): number;
  close(options?: { code?: number; reason?: string; timeout?: number }): Promise<void>;
}

export function serve(options: ServeOptions): Promise<ServeHandle>;
