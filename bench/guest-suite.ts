/**
 * Runs the selected guest parts of the suite and returns one EngineResult per
 * engine: native, QEMU TCG, in one Chromium v86 and ours, and last (the
 * longest) ours in Node (interpreter and JIT, a fresh process per run). An engine that
 * cannot run is reported with the reason, never left out silently.
 */
import { execFileSync } from 'node:child_process';
import { lastJsonLine, runScript } from './child.ts';
import type { Part } from './cli-options.ts';
import { OUR_VARIANTS, variantAvailability, variantName } from './our-variants.ts';
import type { EngineResult } from './report/compare.ts';
import type { BenchImage } from './workloads/bench-image.ts';
import type { Workload } from './workloads/definitions.ts';
import { runNativeOnce } from './workloads/native.ts';
import { hostRunsI386, NO_I386_REASON } from '../src/core/cpu/test-support/i386-exec.ts';
import { qemuVersion, runQemuOnce } from './workloads/qemu.ts';
import type { GuestRun } from './workloads/results.ts';
import { v86Version } from './workloads/v86-page.ts';

const tsx = (script: string, args: string[], timeoutMs: number) => runScript(new URL(script, import.meta.url), args, timeoutMs);
const message = (e: unknown) => (e instanceof Error ? e.message.split('\n')[0]! : String(e));
const progress = (text: string) => process.stderr.write(text);

const OURS_NODE_BOOT = 'Node, fresh process: machine creation to prompt (host unpacks the kernel)';
const CHROMIUM_BOOT = 'Chromium, fresh context: navigation start to prompt (page, downloads, boot)';

export interface GuestSuiteInput {
  readonly parts: ReadonlySet<Part>;
  readonly runs: number;
  readonly image: BenchImage;
  readonly workloads: readonly Workload[];
  /** Our variants to run in Node (default both). */
  readonly variants?: 'both' | 'interpreter' | 'jit';
  /** Called with everything measured so far after each engine (and each run of ours), e.g. to save partial results. */
  readonly onProgress?: (engines: readonly EngineResult[]) => void;
}

export interface GuestSuiteResult {
  readonly engines: EngineResult[];
  readonly versions: Record<string, string>;
  /** Wall time per part, ms. */
  readonly partMs: Record<string, number>;
}

export async function runGuestSuite({ parts, runs, image, workloads, variants = 'both', onProgress }: GuestSuiteInput): Promise<GuestSuiteResult> {
  const engines: EngineResult[] = [];
  const versions: Record<string, string> = {};
  const partMs: Record<string, number> = {};
  const ids = workloads.map((w) => w.id).join(',');
  const timed = async (part: string, body: () => unknown) => {
    const t0 = performance.now();
    await body();
    partMs[part] = performance.now() - t0;
    onProgress?.(engines);
  };

  if (parts.has('native') && !hostRunsI386()) {
    progress(`native: not measured: ${NO_I386_REASON}\n`);
  } else if (parts.has('native')) {
    await timed('native', () => {
      progress('native (i386 binaries on the host) ');
      const r: GuestRun[] = [];
      for (let i = 0; i < runs; i++) { r.push(runNativeOnce(image.nativeBin, workloads)); progress('.'); }
      progress('\n');
      engines.push({ id: 'native', kind: 'native', label: 'native (same i386 binaries)', runs: r });
    });
  }

  if (parts.has('qemu')) {
    await timed('qemu', async () => {
      let label = 'QEMU TCG';
      try {
        versions.qemu = qemuVersion();
        label = `QEMU ${/version (\S+)/.exec(versions.qemu)?.[1] ?? ''} TCG`.replace('  ', ' ');
        progress(`${label} `);
        const r: GuestRun[] = [];
        for (let i = 0; i < runs; i++) { r.push(await runQemuOnce(image, workloads)); progress('.'); }
        progress('\n');
        engines.push({ id: 'qemu', kind: 'qemu', label, bootNote: 'process spawn to prompt (SeaBIOS, kernel decompressor, boot)', runs: r });
      } catch (e) {
        engines.push({ id: 'qemu', kind: 'qemu', label, unavailable: `failed: ${message(e)}`, runs: [] });
      }
    });
  }

  const oursInChromium = parts.has('chromium') ? OUR_VARIANTS.filter((v) => variants === 'both' || v.jit === (variants === 'jit')).map((v) => (v.jit ? 'ours' : 'ours-interpreter')) : [];
  const browserEngines = [...(parts.has('v86') ? ['v86'] : []), ...oursInChromium];
  if (browserEngines.length) {
    await timed('chromium', async () => {
      versions.v86 = v86Version();
      if (parts.has('chromium')) {
        progress('building the site for ours in Chromium\n');
        execFileSync(process.execPath, [new URL('../node_modules/vite/bin/vite.js', import.meta.url).pathname, 'build', '--logLevel', 'warn'], { stdio: 'inherit' });
      }
      progress(`Chromium: ${browserEngines.join(' and ')}, ${runs} runs each `);
      type Outcome = { runs: GuestRun[] } | { error: string };
      let out: Record<string, Outcome>;
      try {
        out = lastJsonLine<Record<string, Outcome>>(await tsx('./workloads/chromium.ts', ['--runs', String(runs), '--engines', browserEngines.join(','), '--workloads', ids], 8 * 3600_000));
      } catch (e) {
        out = Object.fromEntries(browserEngines.map((b) => [b, { error: message(e) }]));
      }
      progress('\n');
      const add = (key: string, id: string, kind: EngineResult['kind'], label: string) => {
        const o = out[key];
        if (!o) return;
        engines.push('error' in o
          ? { id, kind, label, unavailable: `failed: ${o.error.split('\n')[0]}`, runs: [] }
          : { id, kind, label, bootNote: CHROMIUM_BOOT, runs: o.runs });
      };
      add('v86', 'v86', 'v86', `v86 ${versions.v86.replace(/\+.*/, '')}, Chromium`);
      add('ours', 'ours-chromium-jit', 'ours', 'ours, JIT, Chromium (playground default)');
      add('ours-interpreter', 'ours-chromium-interpreter', 'ours', 'ours, interpreter, Chromium (?jit=0)');
    });
  }
  if (parts.has('workloads')) {
    await timed('workloads', async () => {
      for (const variant of OUR_VARIANTS.filter((v) => variants === 'both' || v.jit === (variants === 'jit'))) {
        const id = `ours-node-${variantName(variant)}`;
        const label = `ours, ${variantName(variant)}, Node`;
        const availability = variantAvailability(variant);
        if (!availability.available) { engines.push({ id, kind: 'ours', label, unavailable: availability.reason, runs: [] }); continue; }
        progress(`${label}: ${runs} runs of boot + ${workloads.length} workloads\n`);
        const r: GuestRun[] = [];
        try {
          for (let i = 0; i < runs; i++) {
            const args = ['--initrd', image.initrd, '--workloads', ids, ...(variant.jit ? ['--jit'] : [])];
            r.push(lastJsonLine<GuestRun>(await tsx('./workloads/ours-node.ts', args, 4 * 3600_000)));
            progress(`  run ${i + 1}/${runs} done\n`);
            onProgress?.([...engines, { id, kind: 'ours', label, unavailable: `partial: ${i + 1} of ${runs} runs`, runs: r }]);
          }
          engines.push({ id, kind: 'ours', label, bootNote: OURS_NODE_BOOT, runs: r });
        } catch (e) {
          engines.push({ id, kind: 'ours', label, unavailable: `failed: ${message(e)}`, runs: r });
        }
      }
    });
  }

  return { engines, versions, partMs };
}
