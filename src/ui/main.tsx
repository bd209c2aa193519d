/**
 * Entry point of the playground page: makes the runtime (coordinator, default
 * VM, window.tabvisor) before React renders, so the default VM is created
 * exactly once and scripts can use the API as soon as the page loads. The
 * URL says how the first VM starts (instant boot, a share link, cold boot).
 *
 * React and the UI come in a second chunk, imported only after the runtime
 * exists, so the guest worker, the manifest and the image downloads start
 * before that chunk is downloaded and evaluated, not after (in Chromium on
 * the 2-core dev machine the worker started at 0.33-0.44 s instead of
 * 0.57-0.96 s and the images were in at ~0.77 s instead of ~1.14 s;
 * docs/status.md, eleventh session). The chunk is evaluated only once the
 * first VM has been made (or after a short deadline: interface-gate.ts), so
 * its evaluation does not hold back the message that makes the VM.
 */
import { createRuntime } from './runtime.ts';
import { readJitDefault, readLaunchRequest } from './launch-params.ts';
import { INTERFACE_WAIT_MS, settledOrAfter } from './interface-gate.ts';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
const runtime = createRuntime({ launch: readLaunchRequest(location.href), jit: readJitDefault(location.href) });
window.tabvisor = runtime.api;
await settledOrAfter(runtime.defaultVm, INTERFACE_WAIT_MS);
try {
  const { renderPlayground } = await import('./render-playground.tsx');
  renderPlayground(root, runtime);
} catch (error) {
  // The VM runs on (window.tabvisor works); only the interface is missing.
  root.textContent = `The playground's interface could not be loaded (${error instanceof Error ? error.message : String(error)}). Reload the page to try again.`;
}
