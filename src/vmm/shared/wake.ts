/**
 * Wake words: one Int32 slot that a sleeper waits on and any other party bumps
 * to make it look again. Shared by the control block and the console rings.
 *
 * The protocol is a counter, never a flag, so no wake-up is lost: a sleeper
 * reads the counter, checks its condition, then waits only while the counter
 * still holds the value it read; a waker increments it and notifies.
 *
 * Worker-safe: no DOM, no Node. Works on a non-shared buffer too (message
 * fallback), where `Atomics.notify` wakes nobody and waits are not possible.
 */

/** One Int32 slot usable with Atomics.wait/notify. */
export interface WakeWord {
  readonly words: Int32Array;
  readonly index: number;
}

/** Increments the word and wakes every waiter. */
export function signal(wake: WakeWord): void {
  Atomics.add(wake.words, wake.index, 1);
  if (isShared(wake.words)) Atomics.notify(wake.words, wake.index);
}

export function isShared(view: ArrayBufferView): boolean {
  return typeof SharedArrayBuffer === 'function' && view.buffer instanceof SharedArrayBuffer;
}

type WaitAsyncValue = 'ok' | 'not-equal' | 'timed-out';
interface WaitAsyncResult {
  async: boolean;
  value: Promise<WaitAsyncValue> | WaitAsyncValue;
}
type WaitAsyncFn = (view: Int32Array, index: number, value: number, timeoutMs?: number) => WaitAsyncResult;

/**
 * `Atomics.waitAsync` when the platform has it (Chromium, Node >= 16; not all
 * browsers), else undefined. Typed by hand because the ES2023 lib does not
 * declare it; looked up once (a constant, not state).
 */
const WAIT_ASYNC: WaitAsyncFn | undefined = (() => {
  const fn = (Atomics as unknown as { waitAsync?: WaitAsyncFn }).waitAsync;
  return typeof fn === 'function' ? fn.bind(Atomics) : undefined;
})();

export function waitAsyncFunction(): WaitAsyncFn | undefined {
  return WAIT_ASYNC;
}

/**
 * Waits without blocking the thread until `wake` no longer holds `seen`, a
 * notify arrives, or `timeoutMs` passes. Returns false when the platform has no
 * `Atomics.waitAsync` or the buffer is not shared; the caller then polls.
 * Note: in Node a pending waitAsync does not keep the event loop alive.
 */
export function waitAsyncOn(wake: WakeWord, seen: number, timeoutMs: number): Promise<unknown> | false {
  if (!WAIT_ASYNC || !isShared(wake.words)) return false;
  const result = WAIT_ASYNC(wake.words, wake.index, seen, Math.max(0, timeoutMs));
  return result.async ? (result.value as Promise<WaitAsyncValue>) : Promise.resolve();
}

/**
 * Blocks the calling thread (a worker; browsers forbid this on the main
 * thread) until `wake` changes, a notify arrives, or `timeoutMs` passes.
 */
export function waitBlocking(wake: WakeWord, seen: number, timeoutMs: number): void {
  Atomics.wait(wake.words, wake.index, seen, Math.max(0, timeoutMs));
}
