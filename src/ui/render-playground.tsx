/**
 * Renders the playground UI for a runtime made by main.tsx. Its own module
 * (and chunk) so that React, xterm.js and the components are evaluated after
 * the runtime has started the default VM.
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import type { Runtime } from './runtime.ts';
import './styles/base.css';
import './styles/playground.css';

export function renderPlayground(root: HTMLElement, runtime: Runtime): void {
  createRoot(root).render(
    <StrictMode>
      <App runtime={runtime} />
    </StrictMode>,
  );
}
