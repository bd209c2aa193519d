/**
 * Guest-worker side of the Node host: serves a GuestRuntime on parentPort and
 * turns errors that escaped every handler into a 'worker crashed' report for
 * this VM (the worker stays up long enough to say so).
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';
import type { MachineFactory } from '../worker/guest-machine.ts';
import type { GuestRuntime } from '../worker/guest-runtime.ts';
import { serveGuest } from '../worker/serve.ts';
import { nodeEndpoint } from './node-endpoint.ts';

export function startNodeGuestWorker(factory: MachineFactory): GuestRuntime {
  if (!parentPort) throw new Error('startNodeGuestWorker must run in a worker thread');
  const runtime = serveGuest(nodeEndpoint(parentPort), {
    factory,
    eventLoop: () => {
      const elu = performance.eventLoopUtilization();
      return { activeMs: elu.active, idleMs: elu.idle };
    },
    threadCpuMs,
  });
  process.on('uncaughtException', (error) => runtime.reportFatal(error));
  process.on('unhandledRejection', (reason) => runtime.reportFatal(reason));
  return runtime;
}

/**
 * This thread's CPU time on Linux: the first field of schedstat is the time
 * spent running, in ns (unlike event-loop utilization it excludes time spent
 * waiting for a core). Undefined elsewhere.
 */
function threadCpuMs(): number | undefined {
  try {
    const ns = Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
    return Number.isFinite(ns) ? ns / 1e6 : undefined;
  } catch {
    return undefined;
  }
}
