/**
 * The guest compute workloads of the benchmark suite (issue 7): busybox
 * applets from the default image and the suite's own C programs
 * (bench/guest/tvb-*.c), all run by the guest's (or the host's) busybox sh in
 * a directory holding the generated inputs. Every workload prints a checksum.
 * Each emulator's output is compared with what the same i386 binaries print
 * natively on the host in the same invocation (see verify.ts), so a run is
 * verified, not just timed; where the answer does not depend on the binaries
 * (`expected`), the native output is checked against it too.
 */

export interface Workload {
  readonly id: string;
  readonly label: string;
  /** A busybox applet workload named by the issue, or one of the suite's C programs. */
  readonly kind: 'busybox' | 'c';
  /** One shell command; runs in the work directory after SETUP_COMMAND. */
  readonly command: string;
  /** Its whole output (trimmed) where it is known independently of the build: checks the native twin too. */
  readonly expected?: string;
}

/** Guest directory for the inputs (tmpfs in the benchmark guest). */
export const GUEST_WORK_DIR = '/tmp/tvb';

/** Typed once after boot in a guest: kernel messages off the console (they would land in outputs), then into the work directory. */
export const GUEST_PREPARE_COMMAND = `dmesg -n 1 && mkdir -p ${GUEST_WORK_DIR} && cd ${GUEST_WORK_DIR}`;

/** Makes the inputs (not timed): an 8 MiB text file and 200,000 lines, the same bytes everywhere. */
export const SETUP_COMMAND = 'tvb-gen text 8388608 > text.txt && tvb-gen lines 200000 > lines.txt';

export const WORKLOADS: readonly Workload[] = [
  {
    id: 'sha256',
    label: 'sha256sum of 64 MiB from /dev/zero',
    kind: 'busybox',
    command: 'dd if=/dev/zero bs=1M count=64 2>/dev/null | sha256sum',
    expected: '3b6a07d0d404fab4e23b6d34bc6696a6a312dd92821332385e5af7c01c421351  -',
  },
  {
    id: 'gzip',
    label: 'gzip -9 of an 8 MiB generated text',
    kind: 'busybox',
    command: 'gzip -9 < text.txt | md5sum',
  },
  {
    id: 'shell',
    label: 'shell arithmetic loop, 200,000 iterations',
    kind: 'busybox',
    command: 'i=0; s=0; while [ $i -lt 200000 ]; do s=$(( (s + i * 7) % 1000003 )); i=$((i + 1)); done; echo $s',
    expected: '880006',
  },
  {
    id: 'sort',
    label: 'sort of 200,000 lines',
    kind: 'busybox',
    command: 'sort lines.txt | md5sum',
  },
  {
    id: 'c-int',
    label: 'C integer: sieve, CRC-32, hash mix (tvb-int)',
    kind: 'c',
    command: 'tvb-int',
  },
  {
    id: 'c-mem',
    label: 'C memory: pointer chase 8 MiB, qsort (tvb-mem)',
    kind: 'c',
    command: 'tvb-mem',
  },
  {
    id: 'c-x87',
    label: 'C x87 floating point: n-body, Mandelbrot (tvb-x87)',
    kind: 'c',
    command: 'tvb-x87',
  },
];

export function findWorkload(id: string): Workload {
  const w = WORKLOADS.find((x) => x.id === id);
  if (!w) throw new Error(`unknown workload "${id}" (known: ${WORKLOADS.map((x) => x.id).join(', ')})`);
  return w;
}
