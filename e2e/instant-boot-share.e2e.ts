/**
 * Instant boot and share links in Debian's Chromium against the production
 * build: the bare URL lands at a shell prompt restored from the instant-boot
 * snapshot (no kernel boot log); "Copy link" puts the VM's state in a link
 * that a fresh browser context opens into the same state; broken links
 * (fragments and `?snapshot=` URLs) say what is wrong and the page still
 * works; `?snapshot=` restores a file from another origin that allows CORS;
 * "Cold boot" boots the kernel; instant boot downloads no kernel or initrd
 * until the restored guest reboots.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { Page } from 'playwright-core';
import { expect, test } from 'vitest';
import type {} from '../src/ui/scripting-api.ts';
import { usePreviewAndChromium } from './support/session.ts';

const PROMPT = 'root@tabvisor:~# ';
/** The first line Linux prints when it boots: never seen on a restored VM. */
const BOOT_LOG = /Linux version \d/;
/** SHARE_LINK_LIMIT in src/ui/share-fragment.ts. */
const SHARE_LINK_LIMIT = 64 * 1024;

const session = usePreviewAndChromium();
let page: Page;
const pageErrors: string[] = [];

/**
 * A page in a browser context of its own (no shared cache, storage or
 * downloads), collecting uncaught errors; `requests` collects the URLs the
 * page and its workers ask for.
 */
async function freshPage(url: string, requests?: string[]): Promise<Page> {
  const context = await session.browser.newContext({ viewport: { width: 1280, height: 900 } });
  if (requests) context.on('request', (request) => requests.push(request.url()));
  const fresh = await context.newPage();
  fresh.on('pageerror', (error) => pageErrors.push(error.message));
  await fresh.goto(url);
  await fresh.waitForFunction(() => window.tabvisor !== undefined);
  return fresh;
}

/** Types a command on vm-1 and returns the output line carrying `marker`. */
async function run(on: Page, command: string, answer: RegExp): Promise<string> {
  return on.evaluate(async ({ command, source }) => {
    await window.tabvisor!.send('vm-1', `\x15${command}\r`);
    return window.tabvisor!.waitFor('vm-1', new RegExp(source), 30_000);
  }, { command, source: answer.source });
}

const alerts = (on: Page) => on.getByRole('alert');

test('the bare URL lands at a shell prompt restored from the instant-boot snapshot, without booting the kernel', async () => {
  page = await freshPage(session.server.url);
  const ms = await page.evaluate(async (prompt) => {
    await window.tabvisor!.ready;
    await window.tabvisor!.waitFor('vm-1', prompt, 120_000);
    return performance.now(); // since navigation start
  }, PROMPT);
  console.log(`instant boot: prompt ${Math.round(ms)} ms after navigation start`);
  const transcript = await page.evaluate(() => window.tabvisor!.read('vm-1'));
  expect(transcript).not.toMatch(BOOT_LOG);
  await expect.poll(() => page.locator('.xterm-rows').first().textContent()).toContain(PROMPT);
  expect((await page.locator('.xterm-rows').first().textContent()) ?? '').not.toMatch(BOOT_LOG);
  // The guest had been up for a while when the snapshot was taken: its uptime did not start at this page load.
  const uptime = Number((await run(page, 'echo "up $(cut -d. -f1 /proc/uptime)"', /up (\d+)/)).split(' ')[1]);
  expect(uptime).toBeGreaterThanOrEqual(3);
  expect(await alerts(page).count()).toBe(0);
});

let link = '';

test('Copy link puts the VM state in a link; a fresh browser context opening it finds the file', async () => {
  await run(page, 'echo shared-by-e2e > /tmp/f; echo "wrote $((6*7))"', /wrote 42/);
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(session.server.url).origin });
  await page.getByRole('region', { name: 'Snapshots of vm-1' }).getByRole('button', { name: 'Copy link' }).click();
  await expect.poll(() => page.getByText(/^Link copied/).count(), { timeout: 30_000 }).toBe(1);
  link = await page.evaluate(() => navigator.clipboard.readText());
  expect(link.startsWith(`${session.server.url}#snapshot=`)).toBe(true);
  expect(link.length).toBeLessThan(SHARE_LINK_LIMIT);
  // The same through the scripting API, which reports the size.
  const scripted = await page.evaluate(() => window.tabvisor!.shareLink('vm-1'));
  expect(scripted).toMatchObject({ kind: 'fragment' });
  console.log(`share link after "echo > /tmp/f": ${link.length} characters (API: ${scripted.kind === 'fragment' ? scripted.bytes : '-'})`);

  const receiver = await freshPage(link);
  await receiver.evaluate(() => window.tabvisor!.ready);
  expect(await run(receiver, 'cat /tmp/f', /shared-by-e2e\r?\n/)).toMatch(/^shared-by-e2e/);
  expect(await receiver.evaluate(() => window.tabvisor!.read('vm-1'))).not.toMatch(BOOT_LOG);
  expect(await alerts(receiver).count()).toBe(0);
  await receiver.context().close();
});

test('a damaged share link says so once, and the page still gets a working VM', async () => {
  const data = link.slice(link.indexOf('#snapshot=') + '#snapshot='.length);
  const middle = data.length >> 1;
  const flipped = `${session.server.url}#snapshot=${data.slice(0, middle)}${data[middle] === 'A' ? 'B' : 'A'}${data.slice(middle + 1)}`;
  const damaged = await freshPage(flipped);
  await expect.poll(() => alerts(damaged).allTextContents(), { timeout: 60_000 }).toEqual([
    'The share link is damaged: the snapshot diff is damaged: its checksum does not match (it was changed or cut).',
  ]);
  await damaged.evaluate(() => window.tabvisor!.ready);
  expect(await run(damaged, 'echo "still $((40+2))"', /still 42/)).toBe('still 42');
  await damaged.context().close();

  // As long as a link may be, but not base64url: refused by the page, which Chromium opened at that length.
  const long = `${session.server.url}#snapshot=`;
  const junk = await freshPage(long + '~'.repeat(SHARE_LINK_LIMIT - long.length));
  expect(await junk.evaluate(() => location.href.length)).toBe(SHARE_LINK_LIMIT);
  await expect.poll(() => alerts(junk).allTextContents(), { timeout: 60_000 }).toEqual([
    'The share link is damaged: character 1 ("~") is not base64url.',
  ]);
  await junk.evaluate(() => window.tabvisor!.ready);
  await junk.context().close();
});

/** Serves the instant-boot snapshot from another origin: with CORS at /cors.tabvm, without at /plain.tabvm. */
async function startFileServer(): Promise<{ origin: string; server: Server }> {
  const file = readFileSync(new URL('../public/images/instant-boot.tabvm', import.meta.url));
  const files = createServer((req, res) => {
    if (req.url === '/cors.tabvm') res.writeHead(200, { 'access-control-allow-origin': '*', 'content-length': file.length }).end(file);
    else if (req.url === '/plain.tabvm') res.writeHead(200, { 'content-length': file.length }).end(file);
    else res.writeHead(404, { 'access-control-allow-origin': '*' }).end('not found');
  });
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
  const address = files.address();
  if (address === null || typeof address === 'string') throw new Error('file server has no port');
  // "localhost" is another origin than the preview server's 127.0.0.1.
  return { origin: `http://localhost:${address.port}`, server: files };
}

test('?snapshot=<url> restores a file from a CORS-enabled server; missing files and servers without CORS are explained', async () => {
  const files = await startFileServer();
  try {
    const good = await freshPage(`${session.server.url}?snapshot=${encodeURIComponent(`${files.origin}/cors.tabvm`)}`);
    await good.evaluate(() => window.tabvisor!.ready);
    expect(await run(good, 'echo "from url $((6*7))"', /from url 42/)).toBe('from url 42');
    expect(await good.evaluate(() => window.tabvisor!.read('vm-1'))).not.toMatch(BOOT_LOG);
    expect(await alerts(good).count()).toBe(0);
    await good.context().close();

    const missing = await freshPage(`${session.server.url}?snapshot=${encodeURIComponent(`${files.origin}/gone.tabvm`)}`);
    await expect.poll(() => alerts(missing).allTextContents(), { timeout: 60_000 }).toEqual([`There is no snapshot at ${files.origin}/gone.tabvm (404).`]);
    await missing.evaluate(() => window.tabvisor!.ready);
    await missing.context().close();

    const noCors = await freshPage(`${session.server.url}?snapshot=${encodeURIComponent(`${files.origin}/plain.tabvm`)}`);
    await expect.poll(() => alerts(noCors).allTextContents(), { timeout: 60_000 }).toEqual([
      `The snapshot at ${files.origin}/plain.tabvm could not be downloaded: the server did not answer, or it does not let this page read the file (a server on another site must send Access-Control-Allow-Origin).`,
    ]);
    // The page still works: a VM of the default image, restored from the instant-boot snapshot.
    await noCors.evaluate(() => window.tabvisor!.ready);
    expect(await run(noCors, 'echo "fallback $((6*7))"', /fallback 42/)).toBe('fallback 42');
    await noCors.context().close();
  } finally {
    await new Promise<void>((resolve) => files.server.close(() => resolve()));
  }
});

test('"Cold boot" makes a VM that boots its kernel, with the boot log', async () => {
  await page.getByRole('button', { name: 'Cold boot', exact: true }).click();
  await expect.poll(() => page.evaluate(() => window.tabvisor!.list().length)).toBe(2);
  const cold = (await page.evaluate(() => window.tabvisor!.list()))[1]!;
  const log = await page.evaluate(async ({ name, prompt }) => {
    await window.tabvisor!.waitFor(name, prompt, 180_000);
    return window.tabvisor!.read(name);
  }, { name: cold.name, prompt: PROMPT });
  expect(log).toMatch(BOOT_LOG);
});

test('instant boot downloads no kernel or initrd; a reboot of the restored guest loads them then and boots', async () => {
  const requests: string[] = [];
  const fresh = await freshPage(session.server.url, requests);
  await fresh.evaluate(async (prompt) => {
    await window.tabvisor!.ready;
    await window.tabvisor!.waitFor('vm-1', prompt, 120_000);
  }, PROMPT);
  const images = (): string[] => requests.filter((url) => /\/(bzImage|initramfs\.cpio\.gz)$/.test(url)).map((url) => url.slice(url.lastIndexOf('/') + 1)).sort();
  expect(requests.some((url) => url.endsWith('/instant-boot.tabvm'))).toBe(true);
  expect(images()).toEqual([]);
  // The guest reboots: the worker downloads (and checks) the images now, and the kernel boots.
  await fresh.evaluate(() => window.tabvisor!.send('vm-1', '\x15reboot -f\r'));
  await fresh.evaluate(async ({ log, prompt }) => {
    await window.tabvisor!.waitFor('vm-1', new RegExp(log), 120_000);
    await window.tabvisor!.waitFor('vm-1', prompt, 120_000);
  }, { log: BOOT_LOG.source, prompt: PROMPT });
  expect(images()).toEqual(['bzImage', 'initramfs.cpio.gz']);
  expect(await alerts(fresh).count()).toBe(0);
  await fresh.context().close();
});

test('no uncaught errors on the pages', () => {
  expect(pageErrors).toEqual([]);
});
