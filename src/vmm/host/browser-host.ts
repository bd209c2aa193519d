/**
 * The coordinator's platform in a browser tab: guest workers are module Web
 * Workers (bundled by Vite from the literal URL below), cores come from
 * navigator.hardwareConcurrency, shared memory needs cross-origin isolation.
 */
import type { HostWorker, VmHost } from './host.ts';

export interface BrowserHostOptions {
  uiHeadroomCores?: number;
  /** false forces the message fallback even when the page is isolated. */
  sharedMemory?: boolean;
}

export function createBrowserHost(options: BrowserHostOptions = {}): VmHost {
  const isolated = globalThis.crossOriginIsolated === true && typeof SharedArrayBuffer === 'function';
  return {
    kind: 'browser',
    cores: Math.max(1, navigator.hardwareConcurrency || 2),
    uiHeadroomCores: options.uiHeadroomCores ?? 0.5,
    sharedMemory: options.sharedMemory ?? isolated,
    spawnGuestWorker: spawnBrowserWorker,
  };
}

function spawnBrowserWorker(name: string): HostWorker {
  const worker = new Worker(new URL('../../../workers/guest.worker.ts', import.meta.url), { type: 'module', name });
  let terminated = false;
  let failure: string | undefined;
  const listeners: Array<(detail: string) => void> = [];
  const fail = (detail: string): void => {
    if (terminated || failure !== undefined) return;
    failure = detail;
    for (const listener of listeners) listener(detail);
  };
  worker.addEventListener('error', (event) => {
    event.preventDefault();
    fail(event.message || 'the worker script failed to load or threw');
  });
  worker.addEventListener('messageerror', () => fail('a message from the worker could not be deserialized'));
  return {
    endpoint: worker,
    onFailure(listener) {
      listeners.push(listener);
      // A worker started ahead of need (coordinator prewarmWorker) may have failed before anyone listened.
      if (failure !== undefined && !terminated) listener(failure);
    },
    async terminate() {
      terminated = true;
      worker.terminate();
    },
  };
}
