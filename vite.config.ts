import { defineConfig, type Connect, type Plugin } from 'vite';
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

/** Pages other sites may put in an iframe (docs/architecture.md, "Embedding"). */
const EMBEDDABLE_PAGES = new Set(['/embed.html', '/embed']);

type HeaderValue = number | string | readonly string[];

/**
 * Two corrections to the headers of the static file servers (dev and preview):
 *
 * - The embed page keeps COOP/COEP (so it is isolated when its parent is),
 *   but its own document says `Cross-Origin-Resource-Policy: cross-origin`:
 *   a cross-origin parent that is itself isolated (COEP require-corp) may only
 *   frame documents that allow it. Parents without COEP do not check CORP.
 *   Its scripts and workers stay same-origin, loaded by the embed itself.
 * - sirv serves `*.gz` files with `Content-Encoding: gzip`, so the browser
 *   would unpack `initramfs.cpio.gz` on the way and the bytes would no longer
 *   match the image manifest. A .gz file is content, not a transfer encoding:
 *   it goes out as `application/gzip`, untouched.
 * - The guest images (public/images: a compressed kernel, a gzipped initrd,
 *   deflated snapshots) do not shrink further, but `vite preview` gzipped them
 *   on every request: ~0.1 s of server CPU per page load on this 2-core
 *   machine, competing with the page booting its first VM. They go out as
 *   they are (the request's Accept-Encoding is dropped before the
 *   compression middleware looks at it).
 */
function staticHeaderFixes(): Plugin {
  const middleware: Connect.NextHandleFunction = (req, res, next) => {
    const path = (req.url ?? '').split('?')[0]!;
    if (path.startsWith('/images/')) delete req.headers['accept-encoding'];
    const embeddable = EMBEDDABLE_PAGES.has(path);
    const gzipFile = path.endsWith('.gz');
    if (!embeddable && !gzipFile) return next();
    const fix = (name: string, value: HeaderValue): HeaderValue | undefined => {
      const lower = name.toLowerCase();
      if (embeddable && lower === 'cross-origin-resource-policy') return 'cross-origin';
      if (gzipFile && lower === 'content-encoding') return undefined;
      if (gzipFile && lower === 'content-type') return 'application/gzip';
      return value;
    };
    const setHeader = res.setHeader.bind(res);
    res.setHeader = (name, value) => {
      const fixed = fix(name, value);
      return fixed === undefined ? res : setHeader(name, fixed);
    };
    // sirv also passes headers straight to writeHead.
    const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => typeof res;
    res.writeHead = ((status: number, ...rest: unknown[]) => {
      const args = rest.map((arg) => {
        if (typeof arg !== 'object' || arg === null || Array.isArray(arg)) return arg;
        const fixed: Record<string, HeaderValue> = {};
        for (const [name, value] of Object.entries(arg as Record<string, HeaderValue>)) {
          const next = fix(name, value);
          if (next !== undefined) fixed[name] = next;
        }
        return fixed;
      });
      return writeHead(status, ...args);
    }) as typeof res.writeHead;
    next();
  };
  return {
    name: 'tabvisor-static-header-fixes',
    configureServer: (server) => void server.middlewares.use(middleware),
    configurePreviewServer: (server) => void server.middlewares.use(middleware),
  };
}

export default defineConfig({
  plugins: [react(), staticHeaderFixes()],
  server: { headers: isolationHeaders },
  preview: { headers: isolationHeaders },
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    // xterm.js + React + uPlot make one ~600 kB shared chunk (170 kB gzipped); that is expected.
    chunkSizeWarningLimit: 800,
    rollupOptions: {
      input: { main: 'index.html', embed: 'embed.html', smoke: 'smoke.html' },
    },
  },
});
