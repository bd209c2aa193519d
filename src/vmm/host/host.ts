/**
 * What the coordinator needs from its platform: how many cores there are,
 * whether memory can be shared, and how to start a guest worker. Browsers
 * (browser-host.ts) and Node (node-host.ts, worker_threads) implement it, so
 * one coordinator runs in both.
 */
import type { Endpoint } from 'comlink';

export interface HostWorker {
  /** comlink endpoint of the worker. */
  readonly endpoint: Endpoint;
  /**
   * Called at most once if the worker dies or fails outside any handler
   * (Node 'error' / unexpected 'exit', browser 'error' / 'messageerror').
   * Not called after `terminate()`.
   */
  onFailure(listener: (detail: string) => void): void;
  terminate(): Promise<void>;
}

export interface VmHost {
  readonly kind: 'browser' | 'node';
  /** Logical cores (navigator.hardwareConcurrency, os.availableParallelism()). */
  readonly cores: number;
  /** Cores kept free for the thread running the coordinator and the UI. */
  readonly uiHeadroomCores: number;
  /** SharedArrayBuffer is usable (cross-origin isolated page, or Node). */
  readonly sharedMemory: boolean;
  spawnGuestWorker(name: string): HostWorker;
}
