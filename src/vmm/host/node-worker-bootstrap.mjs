// Entry of every tabvisor worker thread in Node. Worker threads do not inherit
// the parent's TypeScript loader (tsx via --import does not reach them on
// Node 20), so register tsx here when the real entry is a .ts file, then load it.
import { workerData } from 'node:worker_threads';

const entry = workerData?.tabvisorEntry;
if (typeof entry !== 'string') throw new Error('tabvisor worker bootstrap: workerData.tabvisorEntry is missing');
if (entry.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(entry);
