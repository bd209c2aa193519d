/**
 * Cross-origin isolation smoke test: the built page served by `vite preview`
 * must be crossOriginIsolated, and a module worker and the page must share one
 * WebAssembly.Memory({ shared: true }) — the foundation of shared guest RAM.
 */
import { expect, test } from 'vitest';
import { usePreviewAndChromium } from './support/session.ts';

const session = usePreviewAndChromium();

test('preview sends COOP/COEP and a worker shares WebAssembly memory with the page', async () => {
  const page = await session.browser.newPage();
  const response = await page.goto(new URL('smoke.html', session.server.url).href);
  expect(response?.headers()['cross-origin-opener-policy']).toBe('same-origin');
  expect(response?.headers()['cross-origin-embedder-policy']).toBe('require-corp');
  const result = page.locator('#result');
  await result.filter({ hasNotText: 'running' }).waitFor({ timeout: 30_000 });
  const outcome = JSON.parse((await result.textContent()) ?? '{}') as Record<string, unknown>;
  expect(outcome).toEqual({
    ok: true, pageIsolated: true, workerIsolated: true, bufferIsShared: true, seenByPage: 42,
  });
  await page.close();
});

test('the playground page is isolated too', async () => {
  const page = await session.browser.newPage();
  await page.goto(session.server.url);
  expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(true);
  await expect.poll(() => page.getByRole('status').textContent()).toContain('Cross-origin isolated');
  await page.close();
});
