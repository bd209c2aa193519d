/**
 * One run of our emulator in a fresh Chromium context, through the
 * playground's window.tabvisor API (the production build served by vite
 * preview). The page's image requests are answered with the benchmark
 * initramfs (and a manifest listing it), so the default VM cold-boots the
 * benchmark guest (`?boot=cold`): its boot time is page time since
 * navigation start (page load, image download, boot), like bench/browser.ts. The workloads then run
 * in a fresh 128 MiB VM (the default VM is deleted first, so nothing else
 * shares the CPU). `jit` picks the variant for both VMs (`?jit=0` and
 * create({ jit })); the playground's default is the JIT.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import type {} from '../../src/ui/scripting-api.ts';
import type { BenchImage } from './bench-image.ts';
import { GUEST_PREPARE_COMMAND, SETUP_COMMAND, type Workload } from './definitions.ts';
import type { GuestRun, WorkloadSample } from './results.ts';
import { PROMPT, parseCommandOutput, typedCommand } from './serial-protocol.ts';

const VM = 'bench';

export interface OursPageImages {
  readonly initrd: Buffer;
  readonly manifest: string;
}

/**
 * The bench initramfs under the default image's file name, and the default
 * manifest rewritten to list it (without the instant-boot snapshot, which
 * belongs to the default initramfs).
 */
export function oursPageImages(image: BenchImage): OursPageImages {
  const initrd = readFileSync(image.initrd);
  const manifest = JSON.parse(readFileSync(new URL('../../public/images/manifest.json', import.meta.url), 'utf8')) as { files: Array<{ name: string; size: number; sha256: string }>; instantBoot?: unknown };
  delete manifest.instantBoot;
  const entry = manifest.files.find((f) => f.name === 'initramfs.cpio.gz');
  if (!entry) throw new Error('the default manifest lists no initramfs.cpio.gz');
  entry.size = initrd.length;
  entry.sha256 = createHash('sha256').update(initrd).digest('hex');
  return { initrd, manifest: JSON.stringify(manifest) };
}

async function runCommand(page: Page, command: string, n: number, timeoutMs: number): Promise<WorkloadSample> {
  const typed = typedCommand(command, n);
  const { ms, text } = await page.evaluate(async ({ vm, line, marker, timeout }) => {
    const api = window.tabvisor!;
    api.read(vm);
    const t0 = performance.now();
    await api.send(vm, line);
    await api.waitFor(vm, new RegExp(marker), timeout);
    const ms = performance.now() - t0;
    await api.waitFor(vm, /root@tabvisor:\S*# /, 30_000);
    return { ms, text: api.read(vm) };
  }, { vm: VM, line: typed.line, marker: typed.endMarker, timeout: timeoutMs });
  const result = parseCommandOutput(text, n);
  if (!result) throw new Error(`ours in Chromium: output of ${JSON.stringify(command)} not found:\n${text.slice(-1500)}`);
  return { ms, ...result };
}

export async function runOursChromiumOnce(browser: Browser, url: string, images: OursPageImages, workloads: readonly Workload[], jit: boolean): Promise<GuestRun> {
  const context = await browser.newContext();
  try {
    await context.route('**/images/initramfs.cpio.gz', (route) => route.fulfill({ status: 200, body: images.initrd, contentType: 'application/octet-stream' }));
    await context.route('**/images/manifest.json', (route) => route.fulfill({ status: 200, body: images.manifest, contentType: 'application/json' }));
    const page = await context.newPage();
    await page.goto(new URL(`?boot=cold&jit=${jit ? 1 : 0}`, url).href); // a real boot, not a restored snapshot
    const bootMs = await page.evaluate(async (prompt) => {
      await window.tabvisor!.ready;
      await window.tabvisor!.waitFor('vm-1', prompt, 180_000);
      return performance.now(); // ms since navigation start
    }, PROMPT);
    await page.evaluate(async ({ vm, prompt, jit }) => {
      const api = window.tabvisor!;
      await api.delete('vm-1');
      const made = await api.create({ name: vm, image: 'linux', ramMiB: 128, jit });
      if (made.jit !== jit) throw new Error(`asked for jit: ${jit}, the VM has jit: ${made.jit}`);
      await api.waitFor(vm, prompt, 180_000);
    }, { vm: VM, prompt: PROMPT, jit });
    let n = 0;
    const setup = await runCommand(page, `${GUEST_PREPARE_COMMAND} && ${SETUP_COMMAND}`, ++n, 600_000);
    if (setup.status !== 0) throw new Error(`ours in Chromium: making the inputs failed: ${setup.output}`);
    const samples: Record<string, WorkloadSample> = {};
    for (const w of workloads) samples[w.id] = await runCommand(page, w.command, ++n, 1_800_000);
    return { bootMs, setupMs: setup.ms, samples };
  } finally {
    await context.close();
  }
}
