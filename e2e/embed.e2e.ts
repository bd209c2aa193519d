/**
 * The embed page inside iframes, driven by public/embed-example.html over
 * postMessage:
 *  - in a parent served WITHOUT COOP/COEP (another origin): the embed is not
 *    cross-origin isolated, the coordinator falls back to messages, the UI
 *    says so, and the API still answers;
 *  - in a cross-origin parent that IS isolated: the embed loads (its
 *    document allows cross-origin framing) and is isolated too.
 * The first test boots the real Linux guest in the non-isolated embed; the
 * others use the synthetic echo guest, which starts at once.
 */
import { readFile } from 'node:fs/promises';
import type { Browser, Frame, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { EmbedEvent } from '../src/ui/embed/embed-protocol.ts';
import type { TabvisorVm } from '../src/ui/scripting-api.ts';
import { launchChromium } from './support/browser.ts';
import { COLD_BOOT_READY } from './support/guest.ts';
import { startPlainServer, startPreviewServer, type RunningServer } from './support/server.ts';

interface EmbedClient {
  call(method: string, ...args: unknown[]): Promise<unknown>;
  ready: Promise<Extract<EmbedEvent, { event: 'ready' }>>;
  events: EmbedEvent[];
  embedOrigin: string;
}

declare global {
  interface Window {
    tabvisorEmbed?: EmbedClient;
  }
}

let preview: RunningServer;
let plain: RunningServer;
let isolatedParent: RunningServer;
let browser: Browser;
const pageErrors: string[] = [];

beforeAll(async () => {
  preview = await startPreviewServer();
  const example = await readFile(new URL('../public/embed-example.html', import.meta.url), 'utf8');
  plain = await startPlainServer({ '/': example });
  isolatedParent = await startPlainServer(
    { '/': example },
    { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
  );
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([preview?.close(), plain?.close(), isolatedParent?.close()]);
});

async function openExample(parent: RunningServer, query: string): Promise<{ page: Page; frame: Frame }> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  page.on('pageerror', (error) => pageErrors.push(`parent: ${error.message}`));
  const embed = new URL(`embed.html?${query}`, preview.url).href;
  await page.goto(`${parent.url}?embed=${encodeURIComponent(embed)}`);
  await page.evaluate(() => window.tabvisorEmbed!.ready);
  const frame = page.frames().find((candidate) => candidate.url().startsWith(new URL(preview.url).origin))!;
  frame.page().on('pageerror', (error) => pageErrors.push(`embed: ${error.message}`));
  return { page, frame };
}

const call = (page: Page, method: string, ...args: unknown[]): Promise<unknown> =>
  page.evaluate(([m, a]) => window.tabvisorEmbed!.call(m as string, ...(a as unknown[])), [method, args] as const);

test('in a parent without COOP/COEP: not isolated, message fallback, and the postMessage API works', async () => {
  const { page, frame } = await openExample(plain, 'image=linux&vm=demo');
  expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(false);
  expect(await frame.evaluate(() => globalThis.crossOriginIsolated)).toBe(false);
  const ready = await page.evaluate(() => window.tabvisorEmbed!.ready);
  expect(ready).toMatchObject({ event: 'ready', isolated: false, channelMode: 'message', vm: { name: 'demo', image: 'linux' } });
  // Linux boots on private memory and reaches its prompt; a command runs over messages.
  expect(await call(page, 'waitFor', 'demo', COLD_BOOT_READY, 180_000)).toContain('root@tabvisor:~# ');
  await call(page, 'send', 'demo', 'echo $((6*7))-embedded\r');
  expect(await call(page, 'waitFor', 'demo', /\d+-embedded/, 30_000)).toBe('42-embedded');

  // The embed says what is degraded.
  expect(await frame.getByRole('status').textContent()).toBe('Not isolated');
  expect(await frame.locator('.embed-isolation').textContent()).toBe('Not isolated: private memory, slower console');
  expect(await frame.locator('.embed-isolation').getAttribute('title')).toMatch(/private memory.*Console latency is higher/s);

  // The API, request by request.
  await expect.poll(async () => ((await call(page, 'list')) as TabvisorVm[]).map((vm) => `${vm.name}:${vm.state}`)).toEqual(['demo:running']);
  expect(await call(page, 'send', 'demo', 'hello from the parent')).toBeNull();
  expect(await call(page, 'waitFor', 'demo', 'hello from the parent', 10_000)).toBe('hello from the parent');
  expect(await call(page, 'read', 'demo')).toContain('hello from the parent');
  await expect(call(page, 'format', 'demo')).rejects.toThrow(/unknown method "format"/);
  await expect(call(page, 'pause', 'nobody')).rejects.toThrow('there is no VM called “nobody”');

  // The example page's own form goes the same way.
  await page.getByLabel('Type into the console').fill('typed in the parent form');
  await page.getByRole('button', { name: 'Send' }).click();
  expect(await call(page, 'waitFor', 'demo', 'typed in the parent form', 10_000)).toBe('typed in the parent form');

  // Typing into the embedded console itself.
  await frame.getByRole('textbox', { name: 'Console demo', exact: true }).focus();
  await page.keyboard.type('keys in the iframe');
  expect(await call(page, 'waitFor', 'demo', /keys in the iframe/, 10_000)).toBe('keys in the iframe');

  // Lifecycle through messages; state events reach the parent and the embed's bar follows.
  await call(page, 'pause', 'demo');
  await expect.poll(() => frame.locator('.embed-bar .badge').textContent()).toBe('Paused');
  await expect
    .poll(() => page.evaluate(() => window.tabvisorEmbed!.events.some((e) => e.event === 'state' && e.vm.state === 'paused')))
    .toBe(true);
  await frame.getByRole('button', { name: 'Resume', exact: true }).click();
  await expect.poll(async () => ((await call(page, 'list')) as TabvisorVm[])[0]!.state).toBe('running');

  await page.screenshot({ path: 'test-results/embed.png' });
  await page.close();
});

test('requests from anyone but the parent window are ignored', async () => {
  const { page, frame } = await openExample(plain, 'image=echo&vm=demo');
  // The embed posts a request to itself: its source is not the parent, so no response may come.
  await frame.evaluate(() => window.postMessage({ protocol: 'tabvisor-embed', version: 1, kind: 'request', id: 'spoofed', method: 'delete', args: ['demo'] }, '*'));
  await page.waitForTimeout(300);
  expect(await call(page, 'list')).toHaveLength(1);
  await page.close();
});

test('with ?origin= the embed answers only that origin', async () => {
  const { page } = await openExample(plain, `image=echo&vm=locked&origin=${encodeURIComponent(new URL(plain.url).origin)}`);
  expect(await call(page, 'get', 'locked')).toMatchObject({ name: 'locked' });
  await page.close();

  const other = await browser.newPage();
  const embed = new URL(`embed.html?image=echo&vm=locked&origin=${encodeURIComponent('https://somewhere.example')}`, preview.url).href;
  await other.goto(`${plain.url}?embed=${encodeURIComponent(embed)}`);
  const answered = await other.evaluate(async () => {
    const client = window.tabvisorEmbed!;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    return Promise.race([client.call('list').then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 800))]);
  });
  expect(answered).toBe(false);
  await other.close();
});

test('in a cross-origin parent that is isolated, the embed loads and is isolated too', async () => {
  const { page, frame } = await openExample(isolatedParent, 'image=echo&vm=shared');
  expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(true);
  expect(await frame.evaluate(() => globalThis.crossOriginIsolated)).toBe(true);
  expect(await page.evaluate(() => window.tabvisorEmbed!.ready)).toMatchObject({ isolated: true, channelMode: 'shared' });
  await call(page, 'send', 'shared', 'over shared rings');
  expect(await call(page, 'waitFor', 'shared', 'over shared rings', 10_000)).toBe('over shared rings');
  await page.close();
});

test('no uncaught errors in parents or embeds', () => {
  expect(pageErrors).toEqual([]);
});
