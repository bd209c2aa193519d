/**
 * The guest workloads in Debian's Chromium, one browser for both engines:
 * v86 and our emulator (through the playground), each run in a fresh
 * browser context. Prints one JSON line:
 *   { v86?: { runs } | { error }, ours?: ..., 'ours-interpreter'?: ... }
 * (`ours`: the playground's default, the JIT; `ours-interpreter`: `?jit=0`).
 *
 *   node --import tsx bench/workloads/chromium.ts --runs N --engines v86,ours,ours-interpreter [--workloads id,id]
 * (the production build must exist: `vite build`).
 */
import { parseArgs } from 'node:util';
import { launchChromium } from '../../e2e/support/browser.ts';
import { startPreviewServer } from '../../e2e/support/server.ts';
import { buildBenchImage } from './bench-image.ts';
import { runOursChromiumOnce, oursPageImages } from './chromium-ours.ts';
import { runV86Once } from './chromium-v86.ts';
import { findWorkload, WORKLOADS } from './definitions.ts';
import type { GuestRun } from './results.ts';
import { v86Files } from './v86-page.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    engines: { type: 'string', default: 'v86,ours' },
    workloads: { type: 'string', default: WORKLOADS.map((w) => w.id).join(',') },
  },
});
const runs = Number(values.runs);
const engines = values.engines.split(',').filter(Boolean);
const workloads = values.workloads.split(',').filter(Boolean).map(findWorkload);
const image = buildBenchImage();

type Outcome = { runs: GuestRun[] } | { error: string };
const result: Record<string, Outcome> = {};
const browser = await launchChromium({ settleMs: 5000 }); // e2e/support/browser.ts: Chromium's own start-up work
try {
  async function repeat(name: string, once: () => Promise<GuestRun>): Promise<void> {
    const done: GuestRun[] = [];
    try {
      for (let i = 0; i < runs; i++) {
        done.push(await once());
        process.stderr.write('.');
      }
      result[name] = { runs: done };
    } catch (e) {
      result[name] = { error: e instanceof Error ? e.message : String(e) };
    }
  }
  if (engines.includes('v86')) {
    const files = v86Files(image);
    await repeat('v86', () => runV86Once(browser, files, workloads));
  }
  if (engines.includes('ours') || engines.includes('ours-interpreter')) {
    const server = await startPreviewServer();
    try {
      const images = oursPageImages(image);
      if (engines.includes('ours')) await repeat('ours', () => runOursChromiumOnce(browser, server.url, images, workloads, true));
      if (engines.includes('ours-interpreter')) await repeat('ours-interpreter', () => runOursChromiumOnce(browser, server.url, images, workloads, false));
    } finally {
      await server.close();
    }
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
