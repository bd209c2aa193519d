/**
 * The playground in Debian's Chromium against the production build: the
 * default VM starts by itself, consoles echo, the New VM dialog validates and
 * creates, lifecycle buttons change what is shown, Delete ends the worker,
 * graphs stream, window.tabvisor works, and image download errors read well.
 *
 * The default VM and the second VM run the real Linux guest (public/images):
 * the default VM starts at its prompt from the instant-boot snapshot (tested
 * in instant-boot-share.e2e.ts), the second, made with the New VM dialog,
 * boots its kernel. Console checks wait for the shell prompt before typing,
 * since keys typed while the kernel boots may be lost, as on a real serial line.
 */
import { mkdir } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { beforeAll, expect, test } from 'vitest';
import type {} from '../src/ui/scripting-api.ts';
import { COLD_BOOT_READY } from './support/guest.ts';
import { usePreviewAndChromium } from './support/session.ts';

const session = usePreviewAndChromium();
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  page = await session.browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(session.server.url);
});

const vmItem = (name: string) => page.getByRole('listitem', { name, exact: true });
const consoleInput = (name: string) => page.getByRole('textbox', { name: `Console ${name}`, exact: true });
const tile = (name: string) => page.getByRole('region', { name, exact: true });

/** Polls until the locator's text matches. */
async function textOf(locator: ReturnType<Page['locator']>, pattern: RegExp, timeoutMs = 15_000): Promise<void> {
  await expect.poll(async () => (await locator.textContent()) ?? '', { timeout: timeoutMs }).toMatch(pattern);
}

test('the default VM is created and started on load, and its console has the focus and echoes typing', async () => {
  await page.evaluate(() => window.tabvisor!.ready);
  const [vm] = await page.evaluate(() => window.tabvisor!.list());
  expect(vm).toMatchObject({ id: 'vm-1', name: 'vm-1', jit: true });
  await textOf(vmItem('vm-1').locator('.vm-meta'), /· JIT$/);
  await textOf(vmItem('vm-1').locator('.badge'), /^Running$/);
  // Typing before the guest reads its console can lose keys (a booting kernel does), so wait
  // for BusyBox's prompt (ash follows it with a cursor-position query, ESC [6n, which xterm answers).
  await page.evaluate(() => window.tabvisor!.waitFor('vm-1', 'root@tabvisor:~# ', 120_000));

  await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Console vm-1');
  expect(await consoleInput('vm-1').count()).toBe(1);
  await page.keyboard.type('echo typed-by-e2e');
  expect(await page.evaluate(() => window.tabvisor!.waitFor('vm-1', 'echo typed-by-e2e', 15_000))).toBe('echo typed-by-e2e');
  // xterm rendered it too (DOM renderer rows).
  await textOf(tile('vm-1').locator('.xterm-rows'), /echo typed-by-e2e/);
  // Ctrl-U clears the line; then a real command.
  await page.keyboard.press('Control+U');
  await page.keyboard.type('uname -a');
  await page.keyboard.press('Enter');
  expect(await page.evaluate(() => window.tabvisor!.waitFor('vm-1', /Linux tabvisor 6\.1\.\d+ #1 [^\r\n]* GNU\/Linux/, 30_000))).toMatch(/^Linux tabvisor/);
  await textOf(tile('vm-1').locator('.xterm-rows'), /Linux tabvisor 6\.1/);
});

test('commands a script sends the moment each prompt appears run whole', async () => {
  // ash follows each prompt with a cursor-position query (ESC [6n) and reads xterm's answer
  // from the same input as the next command; the console writes such output to xterm at once.
  const results = await page.evaluate(async () => {
    const api = window.tabvisor!;
    const out: string[] = [];
    for (let i = 1; i <= 5; i++) {
      await api.send('vm-1', `echo scripted-"${i}" $((${i} * 7))\n`);
      out.push((await api.waitFor('vm-1', new RegExp(`scripted-${i} \\d+`), 10_000)));
      await api.waitFor('vm-1', 'root@tabvisor:~# ', 10_000);
    }
    return out;
  });
  expect(results).toEqual(['scripted-1 7', 'scripted-2 14', 'scripted-3 21', 'scripted-4 28', 'scripted-5 35']);
});

test('copy and paste: Ctrl+Shift+V pastes into the console, Ctrl+Shift+C copies the selection', async () => {
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(session.server.url).origin });
  await consoleInput('vm-1').focus();
  await page.evaluate(() => navigator.clipboard.writeText('pasted-by-e2e'));
  await page.keyboard.press('Control+Shift+V');
  expect(await page.evaluate(() => window.tabvisor!.waitFor('vm-1', 'pasted-by-e2e', 10_000))).toBe('pasted-by-e2e');

  // Select the start of the first row with the mouse, then copy. The kernel may still print a
  // late message (e.g. "random: crng init done") and scroll the screen, so the copied text must
  // be the start of the first row as it was either before or after the selection.
  const row = tile('vm-1').locator('.xterm-rows > div').first();
  // xterm may still be drawing earlier output (its writes are flow-controlled): wait until the
  // screen stands still, or a scroll during the drag stretches the selection over several rows.
  const screen = tile('vm-1').locator('.xterm-rows');
  let previous = '';
  await expect.poll(async () => {
    const now = (await screen.textContent()) ?? '';
    const still = now === previous;
    previous = now;
    return still;
  }, { timeout: 30_000, interval: 500 }).toBe(true);
  const rowBefore = (await row.textContent()) ?? '';
  const box = (await row.boundingBox())!;
  await page.mouse.move(box.x + 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + 160, box.y + box.height / 2, { steps: 4 });
  await page.mouse.up();
  await page.keyboard.press('Control+Shift+C');
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  const rowAfter = (await row.textContent()) ?? '';
  expect(copied.length).toBeGreaterThan(3);
  const shown = [rowBefore, rowAfter].map((text) => text.replace(/\u00a0/g, ' '));
  expect(shown.some((text) => text.startsWith(copied)), `copied ${JSON.stringify(copied)}, first row ${JSON.stringify(shown)}`).toBe(true);
  await page.mouse.click(box.x + 300, box.y + 200); // clears the selection
});

test('"New VM" validates its fields, then creates and starts a second VM whose console appears', async () => {
  const newVm = page.getByRole('button', { name: 'New VM', exact: true });
  const dialog = page.getByRole('dialog', { name: 'New VM' });
  // Keyboard: Escape cancels and gives the focus back to the button.
  await newVm.click();
  await dialog.waitFor();
  await page.keyboard.press('Escape');
  await expect.poll(() => dialog.isVisible()).toBe(false);
  expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('New VM');

  await newVm.click();
  await dialog.waitFor();
  expect(await page.evaluate(() => document.activeElement?.getAttribute('name'))).toBe('name');

  await dialog.getByLabel('RAM (MiB)').fill('1');
  await dialog.getByLabel('CPU cap (%)').fill('250');
  await dialog.getByRole('button', { name: 'Create' }).click();
  await textOf(dialog, /RAM must be a whole number of MiB from 4 to 2048\./);
  await textOf(dialog, /CPU cap must be from 1 to 100/);
  expect(await page.evaluate(() => document.activeElement?.getAttribute('name'))).toBe('ramMiB');
  expect(await dialog.getByLabel('RAM (MiB)').getAttribute('aria-invalid')).toBe('true');

  await dialog.getByLabel('Name').fill('second');
  await dialog.getByLabel('RAM (MiB)').fill('32');
  await dialog.getByLabel('CPU cap (%)').fill('50');
  await dialog.getByLabel('Image').selectOption('linux');
  expect(await dialog.getByLabel('JIT').isChecked()).toBe(true);
  await dialog.getByRole('button', { name: 'Create' }).click();
  await expect.poll(() => dialog.isVisible()).toBe(false);

  await textOf(vmItem('second').locator('.badge'), /^Running$/);
  await consoleInput('second').waitFor({ state: 'attached' });
  await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Console second');
  const second = (await page.evaluate(() => window.tabvisor!.list())).find((vm) => vm.name === 'second');
  expect(second).toMatchObject({ state: 'running', image: 'linux', ramMiB: 32, cpuCapPercent: 50, memoryBudgetMiB: 32, jit: true });

  // The second VM boots Linux too (with half a core at most) and answers at its own prompt.
  await page.evaluate((ready) => window.tabvisor!.waitFor('second', ready, 180_000), COLD_BOOT_READY);
  await page.keyboard.type('echo second-$((40+2))');
  await page.keyboard.press('Enter');
  expect(await page.evaluate(() => window.tabvisor!.waitFor('second', /second-42/, 30_000))).toBe('second-42');
});

/** The guest's own clock: seconds since boot from /proc/uptime. */
async function guestUptime(vm: string): Promise<number> {
  const marker = `up${Math.floor(Math.random() * 1e6)}`;
  return page.evaluate(async ({ vm, marker }) => {
    const api = window.tabvisor!;
    await api.send(vm, `\x15echo ${marker} $(cut -d' ' -f1 /proc/uptime)\r`);
    const line = await api.waitFor(vm, new RegExp(`${marker} (\\d+\\.\\d+)`), 30_000);
    return Number(line.split(' ')[1]);
  }, { vm, marker });
}

test('pausing one VM stops its clock while the other keeps running', async () => {
  const first0 = await guestUptime('vm-1');
  const second0 = await guestUptime('second');
  await page.evaluate(() => window.tabvisor!.pause('second'));
  await page.waitForTimeout(3000);
  await page.evaluate(() => window.tabvisor!.resume('second'));
  const first1 = await guestUptime('vm-1');
  const second1 = await guestUptime('second');
  expect(first1 - first0).toBeGreaterThan(2.8);
  // The paused guest missed the 3 s it was paused (a clock that kept running
  // would miss ~0 s). Each reading lands some time after its command is sent,
  // and on a slow host that delay varies by a few tenths of a second per
  // reading (a CI run measured 2.43 s missed), so the bound is 2 s, not 3.
  expect((first1 - first0) - (second1 - second0)).toBeGreaterThan(2);
});

test('Pause and Resume change the state shown and which buttons are enabled', async () => {
  const item = vmItem('vm-1');
  const button = (name: string) => item.getByRole('button', { name, exact: true });
  expect(await button('Resume').isDisabled()).toBe(true);
  await button('Pause').click();
  await textOf(item.locator('.badge'), /^Paused$/);
  await textOf(item, /Paused by you\. Press Resume to continue\./);
  await textOf(tile('vm-1').locator('.badge'), /^Paused$/);
  expect(await button('Pause').isDisabled()).toBe(true);
  expect(await button('Start').isDisabled()).toBe(true);
  expect(await page.evaluate(() => window.tabvisor!.get('vm-1').state)).toBe('paused');

  await button('Resume').click();
  await textOf(item.locator('.badge'), /^Running$/);
  expect(await button('Resume').isDisabled()).toBe(true);
  expect(await button('Pause').isEnabled()).toBe(true);
});

test('a VM paused for its memory budget says why, and resumes once the budget is raised', async () => {
  await page.evaluate(() => window.tabvisor!.create({ name: 'grower', image: 'grow', memoryBudgetMiB: 1 }));
  const item = vmItem('grower');
  await textOf(item.locator('.badge'), /^Paused$/);
  await textOf(item, /Paused because it reached its memory budget \(1\.0 MiB\)\. Raise the budget, then press Resume\./);
  expect(await page.evaluate(() => window.tabvisor!.get('grower').reason)).toBe('out of memory budget');

  await item.locator('summary', { hasText: 'Resources' }).click();
  await item.getByLabel('Memory budget (MiB)').fill('256');
  await item.getByRole('button', { name: 'Apply' }).click();
  await expect.poll(() => page.evaluate(() => window.tabvisor!.get('grower').memoryBudgetMiB)).toBe(256);
  await item.getByRole('button', { name: 'Resume', exact: true }).click();
  await textOf(item.locator('.badge'), /^Running$/);
  await page.evaluate(() => window.tabvisor!.delete('grower'));
  await expect.poll(() => item.count()).toBe(0);
});

test('resource graphs are drawn with uPlot and stream data', async () => {
  for (const name of ['vm-1', 'second']) {
    const graphs = tile(name).locator('figure.graph');
    expect(await graphs.count()).toBe(4);
    expect(await tile(name).locator('.uplot canvas').count()).toBe(4);
  }
  const cpu = tile('second').getByRole('figure', { name: 'Host CPU of second' });
  const plot = cpu.locator('.graph-plot');
  await expect.poll(async () => Number(await plot.getAttribute('data-samples')), { timeout: 15_000 }).toBeGreaterThan(8);
  // A workload in the guest shows up as host CPU use (bounded by its 50 % cap).
  await page.evaluate(() => window.tabvisor!.send('second', '\x15seq 1 200000 | sort -rn | tail -1\r'));
  await expect
    .poll(async () => Number(/([\d.]+) %/.exec((await cpu.locator('figcaption').textContent()) ?? '')?.[1] ?? NaN), { timeout: 15_000 })
    .toBeGreaterThan(1);
  // ... and, once booted, runs as compiled code: the JIT is on by default.
  const speed = tile('second').getByRole('figure', { name: 'Guest speed of second' });
  await expect
    .poll(async () => Number(/compiled ([\d.]+) MIPS/.exec((await speed.locator('figcaption').textContent()) ?? '')?.[1] ?? NaN), { timeout: 30_000 })
    .toBeGreaterThan(0.5);
  const host = page.getByRole('region', { name: 'Host' });
  await textOf(host, /1024 MiB resident/);
  await textOf(host, /2 running/);
});

test('window.tabvisor: send, waitFor (literal strings, RegExps, timeouts) and read', async () => {
  const result = await page.evaluate(async () => {
    const api = window.tabvisor!;
    await api.send('vm-1', 'price: $5 (approx.)');
    const literal = await api.waitFor('vm-1', '$5 (approx.)', 10_000);
    // The ";" ends the number: the echo may arrive in pieces, and /id=(\d+)/ alone would already match "id=4".
    await api.send('vm-1', ' id=42;');
    const regex = await api.waitFor('vm-1', /id=(\d+);/, 10_000);
    const timeout = await api.waitFor('vm-1', 'never printed', 200).catch((error: Error) => error.message);
    const unknown = await api.start('nope').catch((error: Error) => error.message);
    return { literal, regex, timeout, unknown, read: api.read('vm-1') };
  });
  expect(result.literal).toBe('$5 (approx.)');
  expect(result.regex).toBe('id=42;');
  expect(result.timeout).toMatch(/no output matching .*never printed.* within 200 ms/);
  expect(result.unknown).toBe('there is no VM called “nope”');
  expect(result.read).toContain('id=42');
});

test('screenshot of the playground with two consoles and graphs', async () => {
  // Ctrl-U drops what earlier tests typed (a shell's line editing; the synthetic guest ignores it).
  await page.evaluate(() => window.tabvisor!.send('vm-1', '\x15uname -a\r'));
  await page.waitForTimeout(1500);
  await mkdir('test-results', { recursive: true });
  // The README's docs/playground.png is a copy of this file, refreshed by hand when the UI changes.
  await page.screenshot({ path: 'test-results/playground.png' });
});

test('Delete removes the VM, its tile and its worker', async () => {
  const workersBefore = page.workers().length;
  expect(workersBefore).toBeGreaterThanOrEqual(2);
  await vmItem('second').getByRole('button', { name: 'Delete', exact: true }).click();
  await expect.poll(() => page.evaluate(() => window.tabvisor!.list().map((vm) => vm.name))).toEqual(['vm-1']);
  await expect.poll(() => tile('second').count()).toBe(0);
  await expect.poll(() => page.workers().length).toBe(workersBefore - 1);
});

test('image downloads: progress while fetching, and a missing kernel explained in plain language', async () => {
  // A page of its own: the image loader shares downloads within a page, and the default VM
  // may already have fetched the Linux image (once it is the default).
  const fresh = await session.browser.newPage({ viewport: { width: 1280, height: 800 } });
  fresh.on('pageerror', (error) => pageErrors.push(error.message));
  await fresh.route('**/images/bzImage', (route) => route.fulfill({ status: 404, body: 'not found' }));
  await fresh.goto(session.server.url);
  await fresh.waitForFunction(() => window.tabvisor !== undefined);
  const error = await fresh.evaluate(() => window.tabvisor!.create({ name: 'lin', image: 'linux' }).then(() => 'created', (e: Error) => e.message));
  expect(error).toBe('The kernel image could not be downloaded (404).');
  const item = fresh.getByRole('listitem', { name: 'lin', exact: true });
  await textOf(item.getByRole('alert'), /^The kernel image could not be downloaded \(404\)\.$/);
  await item.getByRole('button', { name: 'Dismiss' }).click();
  await expect.poll(() => item.count()).toBe(0);
  await fresh.unroute('**/images/bzImage');

  // Hold the kernel back for a moment so the progress bar can be seen.
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  await fresh.route('**/images/bzImage', async (route) => {
    await held;
    await route.continue();
  });
  const creating = fresh.evaluate(() => window.tabvisor!.create({ name: 'lin', image: 'linux', start: false }));
  await fresh.getByRole('progressbar', { name: 'Image download for lin' }).waitFor();
  await textOf(item, /Downloading the|Preparing/);
  release();
  // Not started: booting a third Linux guest is covered by the tests above.
  expect(await creating).toMatchObject({ name: 'lin', image: 'linux', state: 'created' });
  await fresh.close();
});

test('no uncaught errors on the page', () => {
  expect(pageErrors).toEqual([]);
});
