/**
 * Boots the default guest (public/images/bzImage + initramfs) headless to the
 * BusyBox shell and runs a command over the serial console. Uses the
 * instruction-count clock, so the run is deterministic and idle time is
 * skipped. Skipped when the images have not been built.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Machine } from './machine.ts';

const IMAGES = fileURLToPath(new URL('../../public/images/', import.meta.url));
const KERNEL = IMAGES + 'bzImage';
const INITRD = IMAGES + 'initramfs.cpio.gz';
const haveImages = existsSync(KERNEL) && existsSync(INITRD);

/** Runs until `done(serial)` or the instruction limit; returns the serial output. */
function runUntil(m: Machine, output: () => string, done: (serial: string) => boolean, maxInstructions: number): string {
  let total = 0;
  while (!done(output())) {
    const r = m.runSlice(5_000_000, 60_000);
    total += r.instructions;
    if (r.stop !== 'budget' && r.stop !== 'halted') throw new Error(`guest stopped: ${r.stop} ${m.shutdownReason}\n${output()}`);
    if (r.stop === 'halted' && r.sleepNs === Infinity) throw new Error(`guest idles with no timer left\n${output()}`);
    if (total > maxInstructions) throw new Error(`no result after ${total} instructions; serial so far:\n${output()}`);
  }
  return output();
}

describe.skipIf(!haveImages)('Linux boot (public/images)', () => {
  it('boots to a shell prompt and runs a command', { timeout: 600_000 }, () => {
    const m = new Machine({ ramBytes: 64 * 1024 * 1024, clock: { mode: 'instructions' }, startEpochMs: Date.UTC(2024, 0, 1) });
    let serial = '';
    m.onSerialOutput = (b) => (serial += String.fromCharCode(b));
    const boot = m.bootLinux({
      kernel: new Uint8Array(readFileSync(KERNEL)),
      initrd: new Uint8Array(readFileSync(INITRD)),
      cmdline: 'console=ttyS0 tsc=reliable panic=-1',
    });
    expect(boot.image.kernelVersion).toMatch(/^6\.1\./);

    // The shell prints its prompt, then asks the terminal for the cursor position (ESC [6n).
    runUntil(m, () => serial, (s) => s.includes('Run /init') && s.slice(s.indexOf('Run /init')).includes('# '), 1_000_000_000);
    expect(serial).toContain('serial8250: ttyS0 at I/O 0x3f8 (irq = 4, base_baud = 115200) is a 16550A');
    expect(serial).toContain('Linux version 6.1');
    expect(serial).toContain('tsc_early_khz=1000000'); // added by the machine
    expect(serial).toContain('clocksource: Switched to clocksource tsc');

    m.uart0.receive(new TextEncoder().encode('uname -sr; grep -c timer /proc/interrupts; date +%Y\n'));
    const out = runUntil(m, () => serial, (s) => /\n20\d\d\r?\n/.test(s.slice(s.lastIndexOf('uname'))), 200_000_000);
    const reply = out.slice(out.lastIndexOf('uname'));
    expect(reply).toContain('Linux 6.1.');
    expect(reply).toMatch(/\n2024\r?\n/); // the RTC started at 2024-01-01
  });
});
