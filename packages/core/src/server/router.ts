/**
 * Path routing of upgrade requests to services (Kitura's register/unregister on a path), with path parameters.
 *
 * Matching rules, in order:
 * 1. An exact path ("/chat") wins: a path with no parameter is looked up as it is, before any pattern.
 * 2. A pattern: a segment ":name" matches one whole non-empty segment ("/chat/:room" matches "/chat/lobby",
 *    not "/chat" nor "/chat/a/b"), and the value is percent-decoded into `params.name` (a segment that does
 *    not decode does not match). Other segments match literally, as sent. Of several matching patterns, the
 *    one with a literal segment where the others have a parameter, at the first segment where they differ,
 *    wins ("/chat/:room/admin" before "/chat/:room/:action"). Patterns of the same shape ("/a/:x", "/a/:y")
 *    are one route: registering the second replaces the first.
 * 3. Nothing: the server's `resolve` option, if any, is asked next (ServerCore).
 * Paths are normalized first (`normalizePath`): the query, the fragment and a trailing "/" never take part.
 */
import type { Service } from "./service.ts";
import { checkPath, checkService } from "./options.ts";

/**
 * "/chat", "chat", "/chat/" all name the path "/chat"; the query never takes part.
 *
 * @internal
 */
export function normalizePath(path: string): string {
  let p = path;
  const q = p.search(/[?#]/);
  if (q >= 0) p = p.slice(0, q);
  if (!p.startsWith("/")) p = `/${p}`;
  if (p.length > 1 && p.endsWith("/")) p = p.slice(0, -1);
  return p;
}

/** A request routed to a service: the service, and the path parameters of the pattern that matched. */
export interface RouteMatch {
  service: Service<unknown>;
  params: Readonly<Record<string, string>>;
}

interface Pattern {
  /** the normalized path as registered, "/chat/:room" */
  path: string;
  /** its segments: a literal, or the name of a parameter (`param`) */
  segments: Array<{ literal: string; param?: undefined } | { param: string; literal?: undefined }>;
  /** the pattern with its parameter names left out ("/chat/:"): patterns of one shape are one route */
  shape: string;
  service: Service<unknown>;
}

const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});
const PARAM_NAME = /^[A-Za-z_$][\w$]*$/;

function parsePattern(path: string, service: Service<unknown>): Pattern {
  const names = new Set<string>();
  const segments = path
    .slice(1)
    .split("/")
    .map((segment) => {
      if (!segment.startsWith(":")) return { literal: segment };
      const param = segment.slice(1);
      if (!PARAM_NAME.test(param)) throw new TypeError(`invalid path parameter "${segment}" in ${path}`);
      if (names.has(param)) throw new TypeError(`path parameter "${segment}" appears twice in ${path}`);
      names.add(param);
      return { param };
    });
  const shape = "/" + segments.map((s) => (s.param === undefined ? s.literal : ":")).join("/");
  return { path, segments, shape, service };
}

/** Literal segments before parameters, at the first segment where two patterns differ in kind. */
function bySpecificity(a: Pattern, b: Pattern): number {
  const n = Math.min(a.segments.length, b.segments.length);
  for (let i = 0; i < n; i++) {
    const kind = Number(a.segments[i]!.param !== undefined) - Number(b.segments[i]!.param !== undefined);
    if (kind !== 0) return kind;
  }
  return a.segments.length - b.segments.length;
}

function isPattern(path: string): boolean {
  return path.includes("/:");
}

/**
 * Routes request targets to services: exact paths first, then `:name` patterns (the more literal one wins),
 * percent-decoded into `params`. Servers build one from `services`; use it directly to test routes.
 *
 * @example
 * ```ts
 * import { defineService, Router } from "@ws/core";
 *
 * const room = defineService({ connected: (conn) => void conn.send(`room ${conn.request.params.room}`) });
 * const router = new Router({ "/chat/:room": room });
 * const match = router.route("/chat/dev?x=1");
 * console.log(match?.service === room, match?.params.room); // true "dev"
 * ```
 */
export class Router {
  private readonly exact = new Map<string, Service<unknown>>();
  /** most specific first */
  private patterns: Pattern[] = [];
  /** called after each registration with the path as written (ServerCore: the warning for a service with no hooks) */
  registered: ((path: string, service: Service<unknown>) => void) | undefined = undefined;

  constructor(services?: Record<string, Service<unknown>>) {
    for (const [path, service] of Object.entries(services ?? {})) this.register(path, service);
  }

  /**
   * Registers `service` on `path` — exact ("/chat") or a pattern ("/chat/:room") — replacing any service
   * there. Throws TypeError for a malformed parameter name or a name used twice.
   */
  register(path: string, service: Service<unknown>): void {
    checkPath(path);
    checkService(path, service);
    const p = normalizePath(path);
    if (!isPattern(p)) {
      this.exact.set(p, service);
    } else {
      const pattern = parsePattern(p, service);
      this.patterns = this.patterns.filter((other) => other.shape !== pattern.shape);
      this.patterns.push(pattern);
      this.patterns.sort(bySpecificity);
    }
    this.registered?.(path, service);
  }

  /** The registered paths and their services, exact ones and patterns. */
  entries(): Array<[path: string, service: Service<unknown>]> {
    return [...this.exact.entries(), ...this.patterns.map((p): [string, Service<unknown>] => [p.path, p.service])];
  }

  /** Removes the service on `path`; connections already open stay open. Returns whether there was one. */
  unregister(path: string): boolean {
    const p = normalizePath(path);
    if (!isPattern(p)) return this.exact.delete(p);
    const shape = parsePattern(p, {}).shape;
    const before = this.patterns.length;
    this.patterns = this.patterns.filter((other) => other.shape !== shape);
    return this.patterns.length < before;
  }

  /** The service for a request target ("/chat/lobby?x=1") and the path parameters, if any route matches. */
  route(target: string): RouteMatch | undefined {
    const path = normalizePath(target);
    const exact = this.exact.get(path);
    if (exact) return { service: exact, params: NO_PARAMS };
    if (this.patterns.length === 0) return undefined;
    const segments = path.slice(1).split("/");
    for (const pattern of this.patterns) {
      const params = matchSegments(pattern, segments);
      if (params) return { service: pattern.service, params };
    }
    return undefined;
  }

  /** The service for a request target ("/chat?x=1"), if any. */
  match(target: string): Service<unknown> | undefined {
    return this.route(target)?.service;
  }

  /** The registered paths, exact ones and patterns. */
  get paths(): string[] {
    return [...this.exact.keys(), ...this.patterns.map((p) => p.path)];
  }
}

function matchSegments(pattern: Pattern, segments: string[]): Record<string, string> | undefined {
  if (pattern.segments.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const want = pattern.segments[i]!;
    const got = segments[i]!;
    if (want.param === undefined) {
      if (got !== want.literal) return undefined;
      continue;
    }
    if (got === "") return undefined;
    try {
      params[want.param] = decodeURIComponent(got);
    } catch {
      return undefined; // malformed percent-encoding
    }
  }
  return params;
}
