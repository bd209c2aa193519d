/**
 * Lets the worker's event loop run (so comlink RPCs are served) between bursts
 * of guest slices, at the cost of microseconds. Browsers clamp nested
 * setTimeout(0) to 4 ms, so a MessageChannel round trip is used there; Node has
 * setImmediate.
 */

type Resolver = () => void;

export function createYield(): () => Promise<void> {
  const immediate = (globalThis as { setImmediate?: (cb: () => void) => unknown }).setImmediate;
  if (typeof immediate === 'function') {
    return () => new Promise<void>((resolve) => { immediate(resolve); });
  }
  const channel = new MessageChannel();
  const queue: Resolver[] = [];
  channel.port1.onmessage = () => { queue.shift()?.(); };
  return () => new Promise<void>((resolve) => {
    queue.push(resolve);
    channel.port2.postMessage(0);
  });
}
