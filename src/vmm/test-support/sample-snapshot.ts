/** Small but valid `.tabvm` files for tests that store, import or damage them (no machine needed). */
import { encodeSnapshot, PAGE_SIZE } from '../../core/snapshot/format.ts';

export interface SampleSnapshotOptions {
  ramMiB?: number;
  /** Recorded as manifest.machine.vmm.name, as a VM's snapshot does. */
  vmName?: string;
  /** Fills the one stored page, so two samples can differ. */
  fill?: number;
}

export function sampleSnapshotFile(options: SampleSnapshotOptions = {}): Promise<Uint8Array> {
  const ramMiB = options.ramMiB ?? 16;
  return encodeSnapshot({
    manifest: {
      createdAt: '2026-11-26T00:00:00.000Z',
      machine: { ramBytes: ramMiB * 1024 * 1024, vmm: { name: options.vmName ?? 'sample', ramMiB, kernel: 'bzImage', initrd: 'initramfs.cpio.gz' } },
      images: [{ name: 'bzImage', sha256: 'ab'.repeat(32), role: 'kernel' }],
      components: { cpu: { eip: 0x100000 } },
    },
    pageNumbers: Uint32Array.of(1),
    pageData: new Uint8Array(PAGE_SIZE).fill(options.fill ?? 0x5a),
  });
}
