/**
 * Entry point of embed.html: one VM (from ?image= and ?vm=), its console, and
 * the scripting API both as window.tabvisor (same-origin scripts) and over
 * postMessage for the embedding page (embed-server.ts).
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import type { Disposable } from '../../vmm/events.ts';
import { createRuntime } from '../runtime.ts';
import { toTabvisorVm } from '../scripting-api.ts';
import '../styles/base.css';
import '../styles/embed.css';
import { EmbedApp } from './EmbedApp.tsx';
import { parseEmbedParams } from './embed-params.ts';
import { readJitDefault } from '../launch-params.ts';
import { serveEmbed } from './embed-server.ts';

const root = document.getElementById('root');
if (!root) throw new Error('embed.html has no #root element');
const params = parseEmbedParams(location.search);
const runtime = createRuntime({ jit: readJitDefault(location.href), defaultVm: { imageId: params.imageId, ...(params.vmName !== undefined && { name: params.vmName }) } });
window.tabvisor = runtime.api;

const server = serveEmbed({ api: runtime.api, allowedOrigin: params.allowedOrigin });
let states: Disposable | undefined;
runtime.defaultVm.then(
  (info) => {
    const { coordinator, store } = runtime;
    states = coordinator.onStateChange((change) => {
      if (change.to === 'deleted') return;
      server.post({ kind: 'event', event: 'state', vm: toTabvisorVm(coordinator.get(change.id), store.imageIdOf(change.id)) });
    });
    server.post({
      kind: 'event',
      event: 'ready',
      vm: toTabvisorVm(coordinator.get(info.id), store.imageIdOf(info.id)),
      isolated: runtime.isolated,
      channelMode: runtime.channelMode,
    });
  },
  (error: unknown) => server.post({ kind: 'event', event: 'failed', message: error instanceof Error ? error.message : String(error) }),
);
window.addEventListener('pagehide', () => {
  states?.dispose();
  server.dispose();
});

createRoot(root).render(
  <StrictMode>
    <EmbedApp runtime={runtime} />
  </StrictMode>,
);
