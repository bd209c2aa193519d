/**
 * The default guest (public/images) boots headless to the BusyBox prompt and
 * does real work: system information, arithmetic, a busybox workload whose
 * results are checked against values computed on the host, a clean kernel
 * log, and poweroff. Deterministic: the instruction-count clock.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LinuxSession } from './test-support/linux-session.ts';

let guest: LinuxSession;

beforeAll(async () => {
  guest = await LinuxSession.boot(64);
}, 600_000);

afterAll(() => guest?.release());

const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

describe('Linux on tabvisor (default image)', () => {
  test('the kernel came up on our devices', () => {
    expect(guest.bootResult?.kernelBoot.path).toBe('host-decompressed');
    // The kernel's decompressor (~13 M instructions) did not run: ~29 M to the prompt instead of ~41 M.
    expect(guest.machine.cpu.instructionsRetired).toBeLessThan(35_000_000);
    const log = guest.serial;
    expect(log).toContain('Linux version 6.1');
    expect(log).toContain('serial8250: ttyS0 at I/O 0x3f8 (irq = 4, base_baud = 115200) is a 16550A');
    expect(log).toContain('clocksource: Switched to clocksource tsc');
    expect(log).toContain('root@tabvisor:~# ');
  });

  test('uname -a', () => {
    const r = guest.run('uname -a');
    expect(r.status).toBe(0);
    expect(r.output).toMatch(/^Linux tabvisor 6\.1\.\d+ #1 .* i[56]86 GNU\/Linux\n$/);
  });

  test('/proc/cpuinfo shows the CPU we emulate', () => {
    const r = guest.run('cat /proc/cpuinfo');
    expect(r.output).toContain('GenuineIntel');
    expect(r.output).toMatch(/cpu family\s*: 6\n/);
    const flags = /flags\s*: (.*)\n/.exec(r.output)![1]!.split(' ');
    for (const f of ['fpu', 'tsc', 'cx8', 'cmov', 'sep', 'pse', 'pge', 'fxsr']) expect(flags).toContain(f);
    for (const f of ['sse', 'sse2', 'apic', 'pae']) expect(flags).not.toContain(f);
  });

  test('free reports the guest RAM', () => {
    const r = guest.run('free');
    const total = Number(/Mem:\s+(\d+)/.exec(r.output)![1]);
    expect(total).toBeGreaterThan(50_000);
    expect(total).toBeLessThanOrEqual(65_536);
  });

  test('shell arithmetic and ls /', () => {
    expect(guest.run('echo $((6*7))').output).toBe('42\n');
    const entries = guest.run('ls /').output.split(/\s+/);
    for (const e of ['bin', 'dev', 'etc', 'proc', 'root', 'sys', 'tmp']) expect(entries).toContain(e);
  });

  test('sha256 of 8 MiB of zeros matches the host', () => {
    const r = guest.run('dd if=/dev/zero bs=1M count=8 2>/dev/null | sha256sum');
    expect(r.output).toBe(`${sha256(new Uint8Array(8 << 20))}  -\n`);
  });

  test('seq | sort -rn | head', () => {
    expect(guest.run('seq 1 20000 | sort -rn | head -1').output).toBe('20000\n');
  });

  test('gzip -9 and gunzip round trip a generated file', () => {
    let text = '';
    for (let i = 1; i <= 20000; i++) text += `${i}\n`;
    const r = guest.run('seq 1 20000 > /tmp/f && gzip -9 -c /tmp/f > /tmp/f.gz && gunzip -c /tmp/f.gz | sha256sum && wc -c < /tmp/f.gz');
    const [sum, size] = r.output.trim().split('\n');
    expect(sum).toBe(`${sha256(text)}  -`);
    // Busybox's deflate matches GNU gzip's: the host's `gzip -9 -n` gives the same size.
    expect(Number(size)).toBe(execFileSync('gzip', ['-9', '-n'], { input: text }).length);
  });

  test('the workloads above ran through the interpreter\'s block tier (it starts after the boot)', () => {
    const stats = guest.machine.cpu.blocks!.stats;
    expect(guest.machine.cpu.instructionsRetired).toBeGreaterThan(100_000_000);
    expect(stats.built).toBeGreaterThan(1_000);
  });

  test('the kernel log has no oops, BUG or warning', () => {
    const r = guest.run('dmesg');
    expect(r.output).toContain('Run /init as init process');
    expect(r.output).not.toMatch(/Oops|BUG:|WARNING:|Call Trace|Unknown kernel command line/);
  });

  test('poweroff halts the machine cleanly', () => {
    guest.type('poweroff');
    let stop = '';
    for (let i = 0; i < 1000 && stop !== 'halted-forever'; i++) {
      const r = guest.machine.runSlice(5_000_000, 60_000);
      stop = r.stop;
      expect(['budget', 'halted', 'halted-forever']).toContain(stop);
    }
    expect(stop).toBe('halted-forever');
    expect(guest.serial).toContain('reboot: System halted');
  });
});

describe('Linux with the guest decompressor (hostDecompress: false)', () => {
  test('still boots to the prompt, through arch/x86/boot/compressed', async () => {
    const session = await LinuxSession.boot(64, { hostDecompress: false });
    try {
      expect(session.bootResult?.kernelBoot.path).toBe('guest-decompressor');
      expect(session.serial).toContain('Linux version 6.1');
      // The host-decompressed boot is ~16.4 M instructions; the LZ4 decompressor adds ~13 M.
      expect(session.machine.cpu.instructionsRetired).toBeGreaterThan(25_000_000);
      expect(session.run('echo $((6 * 7))').output).toBe('42\n');
    } finally {
      session.release();
    }
  }, 600_000);
});
