/** Path routing of upgrade requests to services (Kitura's register/unregister on a path). */
import type { Service } from "./service.ts";

/** "/chat", "chat", "/chat/" all name the path "/chat"; the query never takes part. */
export function normalizePath(path: string): string {
  let p = path;
  const q = p.search(/[?#]/);
  if (q >= 0) p = p.slice(0, q);
  if (!p.startsWith("/")) p = `/${p}`;
  if (p.length > 1 && p.endsWith("/")) p = p.slice(0, -1);
  return p;
}

export class Router {
  private readonly services = new Map<string, Service<unknown>>();

  constructor(services?: Record<string, Service<unknown>>) {
    for (const [path, service] of Object.entries(services ?? {})) this.register(path, service);
  }

  /** Registers `service` on `path`, replacing any service there. */
  register(path: string, service: Service<unknown>): void {
    this.services.set(normalizePath(path), service);
  }

  /** Removes the service on `path`; connections already open stay open. Returns whether there was one. */
  unregister(path: string): boolean {
    return this.services.delete(normalizePath(path));
  }

  /** The service for a request target ("/chat?x=1"), if any. */
  match(target: string): Service<unknown> | undefined {
    return this.services.get(normalizePath(target));
  }

  get paths(): string[] {
    return [...this.services.keys()];
  }
}
