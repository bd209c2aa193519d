/**
 * One v86 run in a fresh Chromium context: boot to the prompt (page time
 * since navigation start: page load, v86's wasm, BIOS and image downloads,
 * SeaBIOS, the kernel's decompressor, boot), then the inputs and every
 * workload once over serial0.
 */
import type { Browser, Page } from 'playwright-core';
import { GUEST_PREPARE_COMMAND, SETUP_COMMAND, type Workload } from './definitions.ts';
import type { GuestRun, WorkloadSample } from './results.ts';
import { parseCommandOutput, typedCommand } from './serial-protocol.ts';
import type { PageFile } from './v86-page.ts';

interface BenchPage {
  promptAt: number | null;
  failed: string | null;
  text(): string;
  send(s: string): void;
  waitFor(source: string, from: number, timeoutMs: number): Promise<number>;
}
declare global {
  interface Window {
    __bench?: BenchPage;
  }
}

const ORIGIN = 'http://v86.bench.test';

async function runCommand(page: Page, command: string, n: number, timeoutMs: number): Promise<WorkloadSample> {
  const typed = typedCommand(command, n);
  const { ms, from } = await page.evaluate(async ({ line, marker, timeout }) => {
    const b = window.__bench!;
    const from = b.text().length;
    const t0 = performance.now();
    b.send(line);
    const at = await b.waitFor(marker, from, timeout);
    return { ms: at - t0, from };
  }, { line: typed.line, marker: typed.endMarker, timeout: timeoutMs });
  // The prompt after the end marker (the line editor follows it with ESC [6n).
  await page.waitForFunction((offset) => /@@END\d+@@ \d+\r?\n[^]*root@tabvisor:\S*# /.test(window.__bench!.text().slice(offset)), from, { timeout: 30_000, polling: 20 });
  const text = await page.evaluate((offset) => window.__bench!.text().slice(offset), from);
  const result = parseCommandOutput(text, n);
  if (!result) throw new Error(`v86: output of ${JSON.stringify(command)} not found:\n${text.slice(-1500)}`);
  return { ms, ...result };
}

export async function runV86Once(browser: Browser, files: ReadonlyMap<string, PageFile>, workloads: readonly Workload[]): Promise<GuestRun> {
  const context = await browser.newContext();
  try {
    await context.route(`${ORIGIN}/**`, (route) => {
      const file = files.get(new URL(route.request().url()).pathname);
      return file ? route.fulfill({ status: 200, body: file.body, contentType: file.contentType }) : route.fulfill({ status: 404, body: 'not found' });
    });
    const page = await context.newPage();
    await page.goto(`${ORIGIN}/`);
    await page.waitForFunction(() => window.__bench?.promptAt != null || window.__bench?.failed != null, null, { timeout: 180_000, polling: 50 });
    const boot = await page.evaluate(() => ({ at: window.__bench!.promptAt, failed: window.__bench!.failed }));
    if (boot.at === null) throw new Error(`v86 failed: ${boot.failed}`);
    let n = 0;
    const setup = await runCommand(page, `${GUEST_PREPARE_COMMAND} && ${SETUP_COMMAND}`, ++n, 600_000);
    if (setup.status !== 0) throw new Error(`v86: making the inputs failed: ${setup.output}`);
    const samples: Record<string, WorkloadSample> = {};
    for (const w of workloads) samples[w.id] = await runCommand(page, w.command, ++n, 1_800_000);
    return { bootMs: boot.at, setupMs: setup.ms, samples };
  } finally {
    await context.close();
  }
}
