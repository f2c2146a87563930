import type { Miniflare } from "miniflare";

export declare const COMPATIBILITY_DATE: string;

export interface StartWorkerOptions {
  /** the Worker's entry module (TypeScript or JavaScript); bundled with esbuild */
  entry: string;
  /** 0 (default): a free port */
  port?: number;
  host?: string;
  /** the worker's name (Miniflare's unsafeEvictDurableObject takes it) */
  name?: string;
  /** binding name → exported Durable Object class name */
  durableObjects?: Record<string, string>;
  /** a folder to keep Durable Object storage in; default: in memory */
  persist?: string;
  compatibilityDate?: string;
  compatibilityFlags?: string[];
  bindings?: Record<string, unknown>;
}

export interface RunningWorker {
  mf: Miniflare;
  /** the HTTP URL workerd listens on */
  url: URL;
  port: number;
  dispose(): Promise<void>;
}

export declare function startWorker(options: StartWorkerOptions): Promise<RunningWorker>;
export declare function serveWorker(options: Omit<StartWorkerOptions, "port"> & { defaultPort?: number }): Promise<RunningWorker>;
