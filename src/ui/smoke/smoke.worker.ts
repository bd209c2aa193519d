/**
 * Worker half of the isolation smoke test: receives the page's shared
 * WebAssembly.Memory, writes into it with Atomics and wakes the page.
 */
import type { SmokeReply, SmokeRequest } from './smoke-protocol.ts';

self.onmessage = (event: MessageEvent<SmokeRequest>) => {
  const { memory, counterIndex } = event.data;
  const words = new Int32Array(memory.buffer);
  Atomics.add(words, counterIndex, 41);
  Atomics.notify(words, counterIndex);
  const reply: SmokeReply = {
    workerIsolated: globalThis.crossOriginIsolated === true,
    bufferIsShared: memory.buffer instanceof SharedArrayBuffer,
  };
  self.postMessage(reply);
};
