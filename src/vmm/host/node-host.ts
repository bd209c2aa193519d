/**
 * The coordinator's platform in Node: guest workers are worker_threads,
 * cores come from os.availableParallelism(). Used by the CLI and by the
 * multi-VM tests; never imported by the browser bundle.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { HostWorker, VmHost } from './host.ts';
import { nodeEndpoint } from './node-endpoint.ts';

const BOOTSTRAP = new URL('./node-worker-bootstrap.mjs', import.meta.url);
const DEFAULT_GUEST_ENTRY = new URL('./node-guest.worker.ts', import.meta.url);

export interface NodeHostOptions {
  /** Worker entry module (a tests' entry injects its own machine factory). */
  guestEntry?: URL;
  /** Overrides os.availableParallelism(). */
  cores?: number;
  /** false forces the message fallback (as in a page that is not cross-origin isolated). */
  sharedMemory?: boolean;
  uiHeadroomCores?: number;
}

export function createNodeHost(options: NodeHostOptions = {}): VmHost {
  const entry = options.guestEntry ?? DEFAULT_GUEST_ENTRY;
  return {
    kind: 'node',
    cores: options.cores ?? availableParallelism(),
    uiHeadroomCores: options.uiHeadroomCores ?? 0.25,
    sharedMemory: options.sharedMemory ?? true,
    spawnGuestWorker: (name) => spawnNodeWorker(entry, name),
  };
}

/**
 * Starts a worker thread running `entry` (a .ts file is loaded through tsx,
 * see node-worker-bootstrap.mjs). `data` is passed on as workerData.
 */
export function spawnNodeWorker(entry: URL, name: string, data: Record<string, unknown> = {}): HostWorker & { readonly thread: Worker } {
  const thread = new Worker(BOOTSTRAP, { name, workerData: { ...data, tabvisorEntry: entry.href } });
  let terminating = false;
  let failed = false;
  const listeners: Array<(detail: string) => void> = [];
  const fail = (detail: string): void => {
    if (terminating || failed) return;
    failed = true;
    for (const listener of listeners) listener(detail);
  };
  thread.on('error', (error: unknown) => fail(error instanceof Error ? (error.stack ?? error.message) : String(error)));
  thread.on('messageerror', (error: unknown) => fail(`message could not be deserialized: ${String(error)}`));
  thread.on('exit', (code) => fail(`worker thread exited with code ${code}`));
  return {
    thread,
    endpoint: nodeEndpoint(thread),
    onFailure(listener) {
      listeners.push(listener);
    },
    async terminate() {
      terminating = true;
      await thread.terminate();
    },
  };
}
