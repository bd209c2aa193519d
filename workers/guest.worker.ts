/**
 * The browser guest worker: hosts one machine for the coordinator (see
 * src/vmm/worker/guest-runtime.ts). Errors that escape every handler are
 * reported as 'worker crashed' for this VM instead of dying silently.
 */
import type { Endpoint } from 'comlink';
import { prewarmInterpreter } from '../src/core/cpu/cpu.ts';
import { createDefaultMachine } from '../src/vmm/worker/machine-factory.ts';
import { serveGuest } from '../src/vmm/worker/serve.ts';

const scope = self as unknown as Endpoint & {
  addEventListener(type: 'error', listener: (event: ErrorEvent) => void): void;
  addEventListener(type: 'unhandledrejection', listener: (event: PromiseRejectionEvent) => void): void;
};

const runtime = serveGuest(scope, { factory: createDefaultMachine });

// The worker is usually started before its VM is asked for (the page's images
// are still downloading): warm the interpreter up meanwhile instead of when
// the machine is built (warmup.ts).
setTimeout(prewarmInterpreter, 0);

scope.addEventListener('error', (event) => {
  event.preventDefault();
  runtime.reportFatal(event.error ?? event.message);
});
scope.addEventListener('unhandledrejection', (event) => {
  event.preventDefault();
  runtime.reportFatal(event.reason);
});
