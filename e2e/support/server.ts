/**
 * Serves the production build (`dist/`) with `vite preview` on a free port,
 * exactly as users get it, including the COOP/COEP headers from vite.config.ts.
 */
import { preview, type PreviewServer } from 'vite';

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

export async function startPreviewServer(): Promise<RunningServer> {
  const server: PreviewServer = await preview({
    preview: { port: 0, host: '127.0.0.1', strictPort: false, open: false },
    logLevel: 'warn',
  });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite preview did not report a URL (is dist/ built? run `vite build`)');
  return { url, close: () => server.close() };
}

/**
 * A plain static server WITHOUT isolation headers, for pages that embed
 * tabvisor (query strings are ignored). `headers` are added to every
 * response (e.g. COOP/COEP for an isolated parent page).
 */
export async function startPlainServer(files: Record<string, string>, headers: Record<string, string> = {}): Promise<RunningServer> {
  const { createServer } = await import('node:http');
  const server = createServer((req, res) => {
    const body = files[(req.url ?? '/').split('?')[0]!];
    if (body === undefined) { res.writeHead(404).end('not found'); return; }
    res.writeHead(200, { 'content-type': 'text/html', ...headers }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('plain server has no port');
  return {
    url: `http://127.0.0.1:${address.port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
