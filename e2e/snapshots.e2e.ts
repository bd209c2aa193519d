/**
 * Snapshots in the playground (Debian's Chromium, production build), with
 * the real Linux guest: a snapshot taken after creating a file survives a
 * page reload (IndexedDB) and brings the file back when restored from the
 * list; Export downloads a `.tabvm`, Import (file chooser or a file dropped on
 * the tile) stores it again and it restores too; Clone starts a second VM
 * from it; damaged files are refused with one message, and neither the list
 * nor the running VM changes.
 *
 * The tests run in order in one browser context (they share its IndexedDB).
 */
import { readFile } from 'node:fs/promises';
import type { BrowserContext, Page } from 'playwright-core';
import { beforeAll, expect, test } from 'vitest';
import type {} from '../src/ui/scripting-api.ts';
import { usePreviewAndChromium } from './support/session.ts';

const PROMPT = 'root@tabvisor:~# ';
const session = usePreviewAndChromium();
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];
/** The exported file, for the later tests. */
let exported: Buffer;

beforeAll(async () => {
  context = await session.browser.newContext({ viewport: { width: 1440, height: 1000 }, acceptDownloads: true });
  page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
});

const tile = (name: string) => page.getByRole('region', { name, exact: true });
const panel = (vm: string) => page.getByRole('region', { name: `Snapshots of ${vm}`, exact: true });
const savedItem = (vm: string, snapshot: string) => panel(vm).getByRole('listitem', { name: snapshot, exact: true });
const button = (scope: ReturnType<Page['locator']>, name: string) => scope.getByRole('button', { name, exact: true });

/** Polls until the locator's text matches. */
async function textOf(locator: ReturnType<Page['locator']>, pattern: RegExp, timeoutMs = 30_000): Promise<void> {
  await expect.poll(async () => (await locator.textContent()) ?? '', { timeout: timeoutMs }).toMatch(pattern);
}

/** Loads the playground and waits for the default VM's shell. */
async function openPlayground(): Promise<void> {
  await page.evaluate(() => window.tabvisor!.ready);
  await page.evaluate((prompt) => window.tabvisor!.waitFor('vm-1', prompt, 150_000), PROMPT);
}

let markers = 0;
/** Runs a shell command in `vm` and returns its output line, found by a fresh marker. */
async function run(vm: string, command: string): Promise<string> {
  const marker = `M${++markers}x`;
  return page.evaluate(
    async ({ vm, command, marker }) => {
      const api = window.tabvisor!;
      await api.send(vm, `{ ${command}; } 2>&1 | sed 's/^/${marker}:/'\n`);
      const line = await api.waitFor(vm, new RegExp(`\\n${marker}:([^\\r\\n]*)\\r?\\n`), 30_000);
      return line.trim().slice(marker.length + 1);
    },
    { vm, command, marker },
  );
}

/** Opens the panel's list of saved snapshots (a <details>) if it is closed. */
async function showSaved(vm: string): Promise<void> {
  const details = panel(vm).locator('details.snapshot-saved');
  if ((await details.getAttribute('open')) === null) await details.locator('summary').click();
}

async function restoreFromList(vm: string, snapshot: string): Promise<void> {
  await showSaved(vm);
  await button(savedItem(vm, snapshot), 'Restore').click();
  await textOf(panel(vm).locator('.snapshot-status'), new RegExp(`^Restored “${snapshot}”\\.$`));
}

test('a snapshot taken after creating a file survives a reload and brings the file back', { timeout: 400_000 }, async () => {
  await page.goto(session.server.url);
  await openPlayground();
  expect(await run('vm-1', 'echo hi > /tmp/f; cat /tmp/f')).toBe('hi');

  await panel('vm-1').getByRole('textbox', { name: 'Snapshot name' }).fill('with-file');
  await button(panel('vm-1'), 'Snapshot').click();
  await textOf(panel('vm-1').locator('.snapshot-status'), /^Saved “with-file” \([\d.]+ MiB\)\.$/, 60_000);
  // The list opened by itself; the entry shows size, time and the console as it was.
  const item = savedItem('vm-1', 'with-file');
  await textOf(item.locator('.snapshot-meta'), /MiB · .+ · of vm-1, 64 MiB RAM/);
  await textOf(item.getByLabel('Console of with-file when it was taken'), /echo hi > \/tmp\/f/);

  await page.reload();
  await openPlayground();
  expect(await run('vm-1', 'cat /tmp/f')).toMatch(/No such file/);
  await textOf(panel('vm-1').locator('summary'), /^Saved snapshots \(1\)$/);
  await restoreFromList('vm-1', 'with-file');
  expect(await run('vm-1', 'cat /tmp/f')).toBe('hi');
  expect(await page.evaluate(() => window.tabvisor!.get('vm-1').state)).toBe('running');
});

test('Export downloads the .tabvm; Import and a dropped file store it again, and it restores', { timeout: 300_000 }, async () => {
  await showSaved('vm-1');
  const [download] = await Promise.all([page.waitForEvent('download'), button(savedItem('vm-1', 'with-file'), 'Export').click()]);
  expect(download.suggestedFilename()).toBe('with-file.tabvm');
  exported = await readFile((await download.path())!);
  expect(exported.subarray(0, 8).toString('latin1')).toBe('TABVSNAP');
  expect(await page.evaluate(async () => (await window.tabvisor!.exportSnapshot('with-file')).length)).toBe(exported.length);

  // Import through the file chooser: the name is taken, so the copy gets its own.
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), button(panel('vm-1'), 'Import').click()]);
  await chooser.setFiles({ name: 'with-file.tabvm', mimeType: 'application/octet-stream', buffer: exported });
  await textOf(panel('vm-1').locator('.snapshot-status'), /^Imported “with-file 2” \([\d.]+ MiB\)\.$/);
  await savedItem('vm-1', 'with-file 2').waitFor();
  await textOf(savedItem('vm-1', 'with-file 2').locator('.snapshot-meta'), /imported, 64 MiB RAM/);

  expect(await run('vm-1', 'rm /tmp/f; cat /tmp/f')).toMatch(/No such file/);
  await restoreFromList('vm-1', 'with-file 2');
  expect(await run('vm-1', 'cat /tmp/f')).toBe('hi');

  // A file dropped on the VM's tile is imported the same way.
  const dataTransfer = await page.evaluateHandle((base64) => {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], 'dropped.tabvm', { type: 'application/octet-stream' }));
    return transfer;
  }, exported.toString('base64'));
  for (const type of ['dragenter', 'dragover', 'drop']) await tile('vm-1').dispatchEvent(type, { dataTransfer });
  await textOf(panel('vm-1').locator('.snapshot-status'), /^Imported “dropped”/);
  const names = await page.evaluate(async () => (await window.tabvisor!.listSnapshots()).map((s) => s.name));
  expect(names.sort()).toEqual(['dropped', 'with-file', 'with-file 2']);
});

test('Clone starts a new VM with its own name from the snapshot', { timeout: 300_000 }, async () => {
  await button(savedItem('vm-1', 'with-file'), 'Clone').click();
  await textOf(panel('vm-1').locator('.snapshot-status'), /^vm-1 \(clone\) runs from “with-file”\.$/, 120_000);
  const clone = await page.evaluate(() => window.tabvisor!.get('vm-1 (clone)'));
  expect(clone).toMatchObject({ name: 'vm-1 (clone)', state: 'running', image: 'linux', ramMiB: 64 });
  expect(clone.id).not.toBe('vm-1');
  await tile('vm-1 (clone)').waitFor();
  // It runs from the snapshot: at the prompt, with the file, and independent of vm-1.
  expect(await run(clone.id, 'cat /tmp/f; echo clone > /tmp/g')).toBe('hi');
  expect(await run('vm-1', 'cat /tmp/g')).toMatch(/No such file/);
  await page.evaluate((id) => window.tabvisor!.delete(id), clone.id);
});

test('damaged or foreign files are refused with one message; the list and the VM stay as they were', { timeout: 120_000 }, async () => {
  const before = await page.evaluate(async () => (await window.tabvisor!.listSnapshots()).map((s) => s.id));
  const items = panel('vm-1').locator('.snapshot-item');
  const count = await items.count();
  const alert = panel('vm-1').getByRole('alert');

  const flipped = Buffer.from(exported);
  flipped[flipped.length >> 1]! ^= 0x20;
  const cases: Array<{ name: string; buffer: Buffer; message: string }> = [
    { name: 'flipped.tabvm', buffer: flipped, message: 'flipped.tabvm was not imported: snapshot is damaged: its checksum does not match (the file was changed or cut)' },
    { name: 'cut.tabvm', buffer: exported.subarray(0, exported.length - 1000), message: `cut.tabvm was not imported: snapshot is truncated: ${exported.length - 1000} of ${exported.length} bytes present` },
    { name: 'notes.txt', buffer: Buffer.from('these are not the bytes you are looking for'), message: 'notes.txt was not imported: not a tabvisor snapshot (the file does not start with "TABVSNAP")' },
  ];
  for (const { name, buffer, message } of cases) {
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), button(panel('vm-1'), 'Import').click()]);
    await chooser.setFiles({ name, mimeType: 'application/octet-stream', buffer });
    await textOf(alert, new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
    expect(await alert.count()).toBe(1);
    expect(await items.count()).toBe(count);
  }
  expect(await page.evaluate(async () => (await window.tabvisor!.listSnapshots()).map((s) => s.id))).toEqual(before);
  // The VM did not notice.
  expect(await run('vm-1', 'cat /tmp/f')).toBe('hi');
  await button(panel('vm-1'), 'Dismiss').click();
  expect(await alert.count()).toBe(0);
  expect(pageErrors).toEqual([]);
});
