/**
 * Entry point of the playground page: makes the runtime (coordinator, default
 * VM, window.tabvisor) before React renders, so the default VM is created
 * exactly once and scripts can use the API as soon as the page loads. The
 * URL says how the first VM starts (instant boot, a share link, cold boot).
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { createRuntime } from './runtime.ts';
import { readJitDefault, readLaunchRequest } from './launch-params.ts';
import './styles/base.css';
import './styles/playground.css';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
const runtime = createRuntime({ launch: readLaunchRequest(location.href), jit: readJitDefault(location.href) });
window.tabvisor = runtime.api;
createRoot(root).render(
  <StrictMode>
    <App runtime={runtime} />
  </StrictMode>,
);
