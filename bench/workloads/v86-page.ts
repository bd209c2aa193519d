/**
 * The page that boots v86 (npm package `v86`, a devDependency used only by
 * this benchmark) in Chromium with Debian's SeaBIOS and VGA BIOS, the default
 * bzImage and the benchmark initramfs, driven over its first serial port.
 * The page keeps the console text and stamps, in page time, when the prompt
 * first appears and when an awaited end marker arrives.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { BenchImage } from './bench-image.ts';
import { PROMPT } from './serial-protocol.ts';

export const SEABIOS = '/usr/share/seabios/bios.bin';
export const VGABIOS = '/usr/share/seabios/vgabios-stdvga.bin';

export interface PageFile {
  readonly body: Buffer;
  readonly contentType: string;
}

export function v86Version(): string {
  const require = createRequire(import.meta.url);
  return (require('v86/package.json') as { version: string }).version;
}

/** v86 0.5.x loads the initrd at 64 MiB, so the guest needs more than that. */
export function v86Files(image: BenchImage, ramMiB = 128): Map<string, PageFile> {
  const require = createRequire(import.meta.url);
  const build = join(dirname(require.resolve('v86/package.json')), 'build');
  const bin = (path: string): PageFile => ({ body: readFileSync(path), contentType: 'application/octet-stream' });
  const config = {
    wasm_path: '/v86.wasm',
    memory_size: ramMiB << 20,
    vga_memory_size: 8 << 20,
    bios: { url: '/bios.bin' },
    vga_bios: { url: '/vgabios.bin' },
    bzimage: { url: '/bzImage' },
    initrd: { url: '/initrd.cpio' },
    cmdline: image.cmdline,
    autostart: true,
    disable_keyboard: true,
    disable_mouse: true,
    disable_speaker: true,
  };
  const html = `<!doctype html>
<meta charset="utf-8"><title>v86 benchmark</title>
<script type="module">
import { V86 } from '/libv86.mjs';
const PROMPT = ${JSON.stringify(PROMPT)};
let text = '';
let waiter = null;
const bench = window.__bench = {
  promptAt: null,
  failed: null,
  text: () => text,
  send: (s) => emulator.serial0_send(s),
  // Resolves with the page time at which RegExp(source) first matches the text after offset 'from'.
  waitFor: (source, from, timeoutMs) => new Promise((resolve, reject) => {
    const re = new RegExp(source);
    if (re.test(text.slice(from))) { resolve(performance.now()); return; }
    const timer = setTimeout(() => { waiter = null; reject(new Error('timeout; console tail: ' + text.slice(-1500))); }, timeoutMs);
    waiter = { re, from, resolve: (at) => { clearTimeout(timer); resolve(at); } };
  }),
};
const emulator = new V86(${JSON.stringify(config)});
emulator.add_listener('serial0-output-byte', (byte) => {
  const c = String.fromCharCode(byte);
  text += c;
  if (bench.promptAt === null && c === ' ' && text.endsWith(PROMPT)) bench.promptAt = performance.now();
  if (waiter && c === '\\n' && waiter.re.test(text.slice(waiter.from))) { const w = waiter; waiter = null; w.resolve(performance.now()); }
});
window.addEventListener('error', (e) => { bench.failed = String(e.message); });
</script>
`;
  return new Map<string, PageFile>([
    ['/', { body: Buffer.from(html), contentType: 'text/html' }],
    ['/libv86.mjs', { body: readFileSync(join(build, 'libv86.mjs')), contentType: 'text/javascript' }],
    ['/v86.wasm', { body: readFileSync(join(build, 'v86.wasm')), contentType: 'application/wasm' }],
    ['/bios.bin', bin(SEABIOS)],
    ['/vgabios.bin', bin(VGABIOS)],
    ['/bzImage', bin(image.kernel)],
    ['/initrd.cpio', bin(image.initrd)],
  ]);
}
