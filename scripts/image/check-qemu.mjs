#!/usr/bin/env node
// Boot the tabvisor default image under QEMU and check that it works.
// Driven by scripts/image/check-qemu.sh (which installs QEMU and builds the
// instruction-counting plugin); plain ESM, node builtins only.
//
//   node check-qemu.mjs --kernel K --initrd I --append CMDLINE
//                       [--timeout SECONDS] [--plugin LIB.so] [--entry 0x100000]
//                       [--marks name=0xADDR,name=0xADDR...] [--icount OPTS|none]
//                       [--disk FILE --share DIR --expect-blk TEXT --expect-9p TEXT]
//                       [--log FILE]
//
// Without --plugin: waits for the prompt "root@tabvisor:~# ", runs
// `sleep 30` and interrupts it with ^C (checks sleep and the controlling
// tty / job control), then types
//   uname -a; echo $((6*7)); poweroff
// and checks the output, the shutdown, and that the whole log has no
// oops/BUG/panic/warning.  Prints the wall time from QEMU start to prompt.
// With --disk/--share: boots on QEMU's microvm machine with virtio-mmio
// blk, 9p, net, rng, balloon and console devices and checks each works.
// With --plugin: boots with the instruction-counting plugin (and, unless
// --icount none, `-icount shift=0,sleep=off` so the guest clock follows the
// instruction count and the result does not depend on host speed), quits QEMU as
// soon as the prompt appears and prints the instruction counts; --marks adds
// guest addresses (e.g. kernel symbols from System.map) whose first
// execution splits the count into phases.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';

const PROMPT = 'root@tabvisor:~# ';
const args = parseArgs(process.argv.slice(2));
const normAddr = (a) => '0x' + BigInt(a).toString(16);
const timeoutMs = Number(args.timeout ?? 120) * 1000;
const marks = (args.marks ?? '').split(',').filter(Boolean).map((m) => {
  const [name, addr] = m.split('=');
  if (!/^0x[0-9a-f]+$/i.test(addr ?? '')) throw new Error(`bad --marks entry ${m}`);
  return { name, addr: normAddr(addr) };
});

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    out[a.slice(2)] = argv[++i];
  }
  for (const k of ['kernel', 'initrd', 'append']) {
    if (!out[k]) throw new Error(`missing --${k}`);
  }
  return out;
}

// Strip ANSI escape sequences (busybox line editing emits a few).
const stripAnsi = (s) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\x1bc/g, '');

// Virtio check: the kernel has no local/IO APIC and no PCI, so use QEMU's
// microvm machine (virtio-mmio devices announced on the command line by
// QEMU, auto-kernel-cmdline) with a CPU without APIC so the 8259 PIC
// interrupts reach it directly.
const VIRTIO_CMD =
  'mkdir -p /mnt/d /mnt/9; mount -t ext2 /dev/vda /mnt/d && cat /mnt/d/blk.txt; ' +
  'mount -t 9p -o trans=virtio share /mnt/9 && cat /mnt/9/p9.txt; ' +
  'ifconfig eth0 | head -n1; cat /sys/class/misc/hw_random/rng_current; ' +
  'ls /dev/hvc0; echo ids: $(cat /sys/bus/virtio/devices/*/device | sort); poweroff\n';

function virtioArgs() {
  return [
    '-M', 'microvm,acpi=off,pit=on,pic=on,rtc=on,isa-serial=on,auto-kernel-cmdline=on',
    '-cpu', 'pentium2,-apic', '-m', '128', '-nographic', '-no-reboot',
    '-kernel', args.kernel, '-initrd', args.initrd, '-append', args.append,
    '-drive', `id=d0,file=${args.disk},format=raw,if=none`, '-device', 'virtio-blk-device,drive=d0',
    '-fsdev', `local,id=fs0,path=${args.share},security_model=none`,
    '-device', 'virtio-9p-device,fsdev=fs0,mount_tag=share',
    '-netdev', 'user,id=n0,restrict=on', '-device', 'virtio-net-device,netdev=n0',
    '-device', 'virtio-rng-device', '-device', 'virtio-balloon-device',
    '-device', 'virtio-serial-device', '-device', 'virtconsole',
  ];
}

function runQemu({ plugin, virtio }) {
  const qemuArgs = virtio ? virtioArgs() : [
    '-cpu', 'pentium2', '-m', '128', '-nographic', '-no-reboot', '-nic', 'none',
    '-kernel', args.kernel, '-initrd', args.initrd, '-append', args.append,
  ];
  if (plugin && args.icount !== 'none') {
    // Tie the guest clock to the instruction count: busy-waits on the TSC/PIT
    // (calibration, udelay) then cost a fixed number of instructions instead
    // of depending on how fast the host happens to be.
    qemuArgs.unshift('-icount', args.icount ?? 'shift=0,sleep=off');
  }
  if (plugin) {
    const entries = [args.entry ?? '0x100000', ...marks.map((m) => m.addr)];
    qemuArgs.unshift('-plugin', [plugin, ...entries.map((a) => `entry=${a}`)].join(','));
  }
  const t0 = process.hrtime.bigint();
  const child = spawn('qemu-system-i386', qemuArgs, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let promptAt = null;
  let sent = false;
  let intrAt = null;
  let secondPromptAt = null;
  let halted = false;
  const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;

  return new Promise((resolve) => {
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    let finished = false;
    function finish(reason) {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }
      child.once('close', (code, signal) =>
        resolve({ reason, out, err, promptAt, intrAt, secondPromptAt, code, signal }));
      if (child.exitCode !== null || child.signalCode !== null) {
        resolve({ reason, out, err, promptAt, intrAt, secondPromptAt,
          code: child.exitCode, signal: child.signalCode });
      }
    }
    child.stdout.on('data', (buf) => {
      out += buf.toString('latin1');
      const clean = stripAnsi(out);
      const prompts = clean.split(PROMPT).length - 1;
      if (promptAt === null && prompts >= 1) {
        promptAt = ms();
        if (plugin) {
          child.stdin.write('\x01x'); // QEMU mux: Ctrl-A x = quit (runs the plugin's atexit)
        } else if (virtio) {
          sent = true;
          child.stdin.write(VIRTIO_CMD);
        } else {
          // Job control / controlling tty + working sleep(): start a long
          // sleep, interrupt it with ^C, expect a fresh prompt.
          child.stdin.write('sleep 30\n');
          setTimeout(() => { intrAt = ms(); child.stdin.write('\x03'); }, 700);
        }
      }
      if (!plugin && !sent && prompts >= 2) {
        sent = true;
        secondPromptAt = ms();
        child.stdin.write('uname -a; echo $((6*7)); poweroff\n');
      }
      // No ACPI: poweroff ends in the kernel's halt ("reboot: System halted",
      // CPU in cli;hlt).  QEMU keeps running a halted CPU, so stop it here.
      if (!halted && /reboot: (System halted|Power down)/.test(clean)) {
        halted = true;
        setTimeout(() => finish('halted'), 200);
      }
    });
    child.stderr.on('data', (buf) => { err += buf.toString(); });
    child.on('exit', () => setTimeout(() => finish('exited'), 50));
    child.on('error', (e) => { err += String(e); finish('spawn-error'); });
  });
}

const failures = [];
const check = (ok, what) => { if (!ok) failures.push(what); };

if (args.disk) {
  // --disk FILE (raw ext2 image holding blk.txt) --share DIR (holding p9.txt)
  // --expect-blk TEXT --expect-9p TEXT
  if (!args.share || !args['expect-blk'] || !args['expect-9p']) {
    throw new Error('--disk needs --share, --expect-blk and --expect-9p');
  }
  const r = await runQemu({ virtio: true });
  if (args.log) writeFileSync(args.log, r.out + '\n--- stderr ---\n' + r.err);
  const clean = stripAnsi(r.out).replace(/\r/g, '');
  check(r.promptAt !== null, `prompt never appeared on microvm (${r.reason})`);
  check(clean.includes(args['expect-blk']), 'virtio-blk: ext2 file not read');
  check(clean.includes(args['expect-9p']), 'virtio-9p: shared file not read');
  check(/^eth0\s+Link encap:Ethernet/m.test(clean), 'virtio-net: no eth0');
  check(/^virtio_rng\.\d+$/m.test(clean), 'virtio-rng: not the current hw_random source');
  check(/^\/dev\/hvc0$/m.test(clean), 'virtio-console: no /dev/hvc0');
  // 1 net, 2 block, 3 console, 4 rng, 5 balloon, 9 9p
  check(/^ids: 0x0001 0x0002 0x0003 0x0004 0x0005 0x0009$/m.test(clean), 'not all 6 virtio devices bound');
  check(r.reason === 'halted' || r.reason === 'exited', `guest did not shut down (${r.reason})`);
  const bad = clean.split('\n').filter((l) =>
    /\b(Oops|BUG:|Kernel panic|WARNING:|Call Trace|general protection)\b/.test(l));
  check(bad.length === 0, `bad lines in log:\n    ${bad.join('\n    ')}`);
  if (!failures.length) console.log('virtio (microvm): blk/ext2, 9p, net, rng, console, balloon all bound and working');
} else if (args.plugin) {
  const r = await runQemu({ plugin: args.plugin });
  if (args.log) writeFileSync(args.log, r.out + '\n--- stderr ---\n' + r.err);
  const total = /tabvisor-insns: (\d+)/.exec(r.err);
  const hitsOf = new Map();
  const timesOf = new Map();
  for (const m of r.err.matchAll(/^tabvisor-insns-(entry|time): (0x[0-9a-f]+)([\d ]*)$/gm)) {
    (m[1] === 'entry' ? hitsOf : timesOf)
      .set(m[2], m[3].trim().split(/\s+/).filter(Boolean).map(Number));
  }
  check(r.promptAt !== null, 'prompt never appeared');
  check(total, `plugin printed no count (stderr: ${r.err.trim().slice(-300)})`);
  if (total) {
    const t = Number(total[1]);
    const entryAddr = normAddr(args.entry ?? '0x100000');
    const hits = hitsOf.get(entryAddr) ?? [];
    const t0 = (timesOf.get(entryAddr) ?? [])[0];
    const fmt = (n) => `${(n / 1e6).toFixed(2)} M`;
    console.log(`instructions, QEMU start -> prompt: ${fmt(t)} (${t})` +
      (args.icount === 'none' ? '' : ` [-icount ${args.icount ?? 'shift=0,sleep=off'}]`));
    if (hits.length >= 1) {
      console.log(`  firmware + 16-bit setup (before code32_start): ${fmt(hits[0])}`);
      console.log(`  code32_start -> prompt: ${fmt(t - hits[0])} (${t - hits[0]})`);
    }
    if (hits.length >= 2) {
      console.log(`    kernel decompression (1st -> 2nd entry at code32_start): ${fmt(hits[1] - hits[0])}`);
      console.log(`    decompressed kernel start -> prompt: ${fmt(t - hits[1])} (${t - hits[1]})`);
    }
    const base = hits[0] ?? 0;
    const seen = marks
      .map((m) => ({ ...m, at: (hitsOf.get(m.addr) ?? [])[0], ns: (timesOf.get(m.addr) ?? [])[0] }))
      .filter((m) => m.at !== undefined)
      .sort((a, b) => a.at - b.at);
    if (seen.length) console.log('  first execution of (instructions from code32_start; host ms under QEMU):');
    for (const m of seen) {
      const host = t0 !== undefined && m.ns !== undefined ? `  +${((m.ns - t0) / 1e6).toFixed(0)} ms` : '';
      console.log(`    ${m.name.padEnd(24)} ${fmt(m.at - base).padStart(9)}${host}`);
    }
    for (const m of marks.filter((m) => !seen.some((x) => x.name === m.name))) {
      console.log(`    ${m.name.padEnd(24)} (not reached)`);
    }
  }
} else {
  const r = await runQemu({});
  if (args.log) writeFileSync(args.log, r.out + '\n--- stderr ---\n' + r.err);
  const clean = stripAnsi(r.out).replace(/\r/g, '');
  check(r.promptAt !== null, `prompt "${PROMPT}" never appeared (${r.reason})`);
  check(r.intrAt !== null && r.secondPromptAt !== null && r.secondPromptAt >= r.intrAt,
    '`sleep 30` did not sleep until interrupted by ^C (sleep or job control broken)');
  check(r.secondPromptAt === null || r.secondPromptAt - r.intrAt < 5000, '^C took too long');
  const uname = /^Linux tabvisor (6\.1\.\d+) #1 .* i[3-6]86 GNU\/Linux$/m.exec(clean);
  check(uname, 'uname -a output not found');
  check(/^42$/m.test(clean), 'echo $((6*7)) did not print 42');
  check(/Requesting system poweroff/.test(clean), 'busybox init did not handle poweroff');
  check(r.reason === 'halted' || r.reason === 'exited', `QEMU did not shut down (${r.reason})`);
  const bad = clean.split('\n').filter((l) =>
    /\b(Oops|BUG:|Kernel panic|WARNING:|Call Trace|general protection|segfault|Unknown kernel command line)|job control turned off|can't access tty/i.test(l));
  check(bad.length === 0, `bad lines in log:\n    ${bad.join('\n    ')}`);
  const stamps = [...clean.matchAll(/^\[\s*(\d+\.\d+)\] (.*)$/gm)];
  const runInit = stamps.find((m) => m[2].startsWith('Run /init'));
  if (uname) console.log(`kernel: ${uname[0]}`);
  if (runInit) console.log(`guest clock at "Run /init": ${runInit[1]} s`);
  if (r.promptAt !== null) console.log(`wall time QEMU start -> prompt: ${(r.promptAt / 1000).toFixed(2)} s`);
  console.log(`shutdown: ${r.reason === 'halted' ? 'guest halted (reboot: System halted)' : r.reason}`);
}

if (failures.length) {
  console.error('check-qemu: FAILED');
  for (const f of failures) console.error(`  - ${f}`);
  process.exit(1);
}
console.log('check-qemu: OK');
