/**
 * What most e2e files start with: the production build served by `vite
 * preview` and a headless Debian Chromium, both up before the file's tests
 * (beforeAll hooks run in order: register this first) and closed after them.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { launchChromium } from './browser.ts';
import { startPreviewServer, type RunningServer } from './server.ts';

export interface PreviewAndChromium {
  /** Set once the file's first beforeAll hook has run. */
  server: RunningServer;
  browser: Browser;
}

export function usePreviewAndChromium(): PreviewAndChromium {
  const session = {} as PreviewAndChromium;
  beforeAll(async () => {
    session.server = await startPreviewServer();
    session.browser = await launchChromium();
  });
  afterAll(async () => {
    await session.browser?.close();
    await session.server?.close();
  });
  return session;
}
