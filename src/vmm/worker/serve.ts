/**
 * Puts a GuestRuntime behind a comlink endpoint. The worker entries
 * (workers/guest.worker.ts for browsers, src/vmm/host/node-guest-worker.ts for
 * Node) differ only in the endpoint, the fatal-error hooks and the factory.
 */
import { expose, type Endpoint } from 'comlink';
import { GuestRuntime, type GuestRuntimeOptions } from './guest-runtime.ts';

export function serveGuest(endpoint: Endpoint, options: GuestRuntimeOptions): GuestRuntime {
  const runtime = new GuestRuntime(options);
  expose(runtime, endpoint);
  return runtime;
}
