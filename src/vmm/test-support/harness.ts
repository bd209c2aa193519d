/** Helpers for the multi-VM coordinator tests (Node, worker_threads). */
import { Coordinator, type CoordinatorOptions } from '../coordinator.ts';
import { createNodeHost, type NodeHostOptions } from '../host/node-host.ts';
import type { VmState } from '../lifecycle.ts';
import { Counter } from '../shared/control-block.ts';
import type { SyntheticSpec } from '../shared/protocol.ts';
import type { VmConfigInput } from '../vm-registry.ts';

export const TEST_GUEST_ENTRY = new URL('./test-guest.worker.ts', import.meta.url);

export function testCoordinator(options: CoordinatorOptions = {}, host: NodeHostOptions = {}): Coordinator {
  return new Coordinator(createNodeHost({ guestEntry: TEST_GUEST_ENTRY, ...host }), options);
}

export function synthetic(spec: SyntheticSpec, config: Omit<VmConfigInput, 'image'> = {}): VmConfigInput {
  return { ...config, image: { kind: 'synthetic', synthetic: spec } };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves when `id` is in `state` (checks now, then on every change). */
export function stateReached(coordinator: Coordinator, id: string, state: VmState, timeoutMs = 10_000): Promise<void> {
  if (coordinator.get(id).state === state) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      subscription.dispose();
      reject(new Error(`${id} did not become ${state} within ${timeoutMs} ms (it is ${coordinator.get(id).state})`));
    }, timeoutMs);
    const subscription = coordinator.onStateChange((change) => {
      if (change.id === id && change.to === state) {
        clearTimeout(timer);
        subscription.dispose();
        resolve();
      }
    });
  });
}

/** Host ms each VM's worker spent in guest slices during `windowMs` (the workers' own counters). */
export async function measureHostMs(coordinator: Coordinator, ids: readonly string[], windowMs: number): Promise<{ usedMs: Map<string, number>; wallMs: number }> {
  const read = () => new Map(ids.map((id) => [id, coordinator.counters(id)![Counter.HostUsedUs]! / 1000]));
  const before = read();
  const t0 = performance.now();
  await sleep(windowMs);
  const after = read();
  const wallMs = performance.now() - t0;
  return { usedMs: new Map(ids.map((id) => [id, after.get(id)! - before.get(id)!])), wallMs };
}
