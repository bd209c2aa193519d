/**
 * Page half of the isolation smoke test (smoke.html): proves that the page is
 * cross-origin isolated and that a module worker and the page share one
 * WebAssembly.Memory({ shared: true }). The e2e test reads #result.
 */
import type { SmokeReply, SmokeRequest } from './smoke-protocol.ts';

async function runSmoke(): Promise<Record<string, unknown>> {
  if (!globalThis.crossOriginIsolated) return { ok: false, reason: 'page is not cross-origin isolated' };
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 16, shared: true });
  const words = new Int32Array(memory.buffer);
  words[3] = 1;
  const worker = new Worker(new URL('./smoke.worker.ts', import.meta.url), { type: 'module' });
  try {
    const reply = await new Promise<SmokeReply>((resolve, reject) => {
      worker.onmessage = (e: MessageEvent<SmokeReply>) => resolve(e.data);
      worker.onerror = (e) => reject(new Error(`worker failed: ${e.message}`));
      const request: SmokeRequest = { memory, counterIndex: 3 };
      worker.postMessage(request);
    });
    const seenByPage = Atomics.load(words, 3);
    return {
      ok: reply.workerIsolated && reply.bufferIsShared && seenByPage === 42,
      pageIsolated: true,
      workerIsolated: reply.workerIsolated,
      bufferIsShared: reply.bufferIsShared,
      seenByPage,
    };
  } finally {
    worker.terminate();
  }
}

const out = document.getElementById('result');
runSmoke()
  .then((r) => { if (out) out.textContent = JSON.stringify(r); })
  .catch((e: unknown) => { if (out) out.textContent = JSON.stringify({ ok: false, reason: String(e) }); });
