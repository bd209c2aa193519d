/**
 * Browser benchmarks in Debian's Chromium against the production build
 * (`vite build` + `vite preview`): cold boot of the default VM to the shell
 * prompt (`?boot=cold`; a fresh browser context per run, so images download
 * every time), the same with instant boot (the bare URL: restored from the
 * instant-boot snapshot), and host memory per additional idle VM. Prints one
 * JSON line.
 */
import type { Browser } from 'playwright-core';
import { launchChromium } from '../e2e/support/browser.ts';
import { startPreviewServer } from '../e2e/support/server.ts';
import type {} from '../src/ui/scripting-api.ts';

const RUNS = Number(process.argv[2] ?? 5);
const PROMPT = 'root@tabvisor:~# ';

/** ms from navigation start until vm-1 shows its prompt, in a fresh context. */
async function timeToPrompt(browser: Browser, url: string): Promise<number> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  const ms = await page.evaluate(async (prompt) => {
    await window.tabvisor!.ready;
    await window.tabvisor!.waitFor('vm-1', prompt, 120_000);
    return performance.now(); // ms since navigation start
  }, PROMPT);
  await context.close();
  return ms;
}

/** Bytes the page and its workers use, as Chromium measures them. */
async function measureMemory(page: import('playwright-core').Page): Promise<number> {
  return page.evaluate(async () => {
    const measure = (performance as unknown as { measureUserAgentSpecificMemory?: () => Promise<{ bytes: number }> }).measureUserAgentSpecificMemory;
    if (!measure) throw new Error('performance.measureUserAgentSpecificMemory is not available');
    return (await measure.call(performance)).bytes;
  });
}

async function memoryPerIdleVm(browser: Browser, url: string): Promise<{ oneVmBytes: number; perExtraVmBytes: number }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  await page.evaluate(async (prompt) => {
    await window.tabvisor!.ready;
    await window.tabvisor!.waitFor('vm-1', prompt, 120_000);
  }, PROMPT);
  await page.waitForTimeout(2000);
  const one = await measureMemory(page);
  const extra = 2;
  await page.evaluate(async ({ prompt, extra }) => {
    const api = window.tabvisor!;
    const names = Array.from({ length: extra }, (_, i) => `idle-${i}`);
    await Promise.all(names.map((name) => api.create({ name, image: 'linux', ramMiB: 64 })));
    await Promise.all(names.map((name) => api.waitFor(name, prompt, 180_000)));
  }, { prompt: PROMPT, extra });
  await page.waitForTimeout(3000);
  const three = await measureMemory(page);
  await context.close();
  return { oneVmBytes: one, perExtraVmBytes: (three - one) / extra };
}

const server = await startPreviewServer();
const browser = await launchChromium({ settleMs: 5000 }); // e2e/support/browser.ts: Chromium's own start-up work
try {
  const boots: number[] = [];
  const instantBoots: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    boots.push(await timeToPrompt(browser, `${server.url}?boot=cold`));
    instantBoots.push(await timeToPrompt(browser, server.url));
    process.stderr.write('.');
  }
  // Cold boot, as the extra VMs (tabvisor.create boots the kernel), so the figures are comparable.
  const memory = await memoryPerIdleVm(browser, `${server.url}?boot=cold`);
  console.log(JSON.stringify({ bootMs: boots, instantBootMs: instantBoots, ...memory }));
} finally {
  await browser.close();
  await server.close();
}
