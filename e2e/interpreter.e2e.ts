/**
 * The interpreter alone (`?jit=0`) in Chromium against the production build:
 * the default VM, restored at its prompt, runs a workload long enough that
 * the interpreter's decoded-block tier takes over (it starts 25 M
 * instructions after a reset; the boot is ~16 M) and prints the right
 * answer. The tier's own rules are unit-tested in Node (block-*.test.ts);
 * this is the same code as the browser bundle ships it.
 */
import type { Page } from 'playwright-core';
import { beforeAll, expect, test } from 'vitest';
import type {} from '../src/ui/scripting-api.ts';
import { usePreviewAndChromium } from './support/session.ts';

const session = usePreviewAndChromium();
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  page = await session.browser.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`${session.server.url}/?jit=0`);
});

test('?jit=0: the interpreted default VM computes sha256sum of 2 MiB of zeros (tens of millions of instructions) correctly', async () => {
  await page.evaluate(() => window.tabvisor!.ready);
  const [vm] = await page.evaluate(() => window.tabvisor!.list());
  expect(vm).toMatchObject({ id: 'vm-1', jit: false });
  await page.evaluate(() => window.tabvisor!.waitFor('vm-1', 'root@tabvisor:~# ', 120_000));
  await page.evaluate(() => window.tabvisor!.send('vm-1', 'dd if=/dev/zero bs=1M count=2 2>/dev/null | sha256sum; echo sum-$?\n'));
  const out = await page.evaluate(() => window.tabvisor!.waitFor('vm-1', /[0-9a-f]{64} {2}-\s+sum-\d+/, 120_000));
  // sha256 of 2,097,152 zero bytes (the host's sha256sum).
  expect(out).toMatch(/^5647f05ec18958947d32874eeb788fa396a05d0bab7c1b71f112ceb7e9b31eee {2}-\s+sum-0$/);
  expect(pageErrors).toEqual([]);
});
