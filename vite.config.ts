import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

/**
 * COOP + COEP make the page cross-origin isolated, which is what unlocks
 * SharedArrayBuffer (shared guest RAM, control blocks, console rings).
 * The same headers are sent by `vite` (dev) and `vite preview`.
 */
const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export default defineConfig({
  plugins: [react()],
  server: { headers: isolationHeaders },
  preview: { headers: isolationHeaders },
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    rollupOptions: {
      input: { main: 'index.html', smoke: 'smoke.html' },
    },
  },
});
