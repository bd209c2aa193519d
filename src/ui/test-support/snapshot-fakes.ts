/**
 * Stand-ins for what the snapshot library drives: the coordinator (one
 * running VM "web", vm-1, whose snapshots are small sample files and whose
 * restores are recorded) and the UI store's clone maker.
 */
import { sampleSnapshotFile } from '../../vmm/test-support/sample-snapshot.ts';
import type { VmInfo } from '../../vmm/vm-registry.ts';
import type { SnapshotCloner, SnapshotVms } from '../snapshot-library.ts';

export const VM_1: VmInfo = {
  id: 'vm-1',
  state: 'running',
  since: 0,
  config: { name: 'web', ramMiB: 16, cpuWeight: 2, cpuCapPercent: 50, memoryBudgetMiB: 12, image: { kind: 'linux', kernelUrl: 'blob:k', initrdUrl: 'blob:i' }, jit: false },
};

/** The coordinator side: records restores; its snapshots are sample files. */
export class FakeVms implements SnapshotVms {
  readonly restores: Array<{ id: string; file: Uint8Array }> = [];
  snapshots = 0;
  restoreError: Error | undefined;
  transcriptText = 'Welcome\r\nroot@tabvisor:~# echo hi > /tmp/f\r\nroot@tabvisor:~# \x1b[6n';

  get(id: string): VmInfo {
    if (id !== 'vm-1') throw new Error(`no VM with id ${id}`);
    return VM_1;
  }
  async snapshot(id: string): Promise<Uint8Array> {
    this.get(id);
    this.snapshots++;
    return sampleSnapshotFile({ vmName: 'web', fill: this.snapshots });
  }
  async restore(id: string, file: Uint8Array): Promise<void> {
    this.get(id);
    if (this.restoreError) throw this.restoreError;
    this.restores.push({ id, file });
  }
  transcript(): string {
    return this.transcriptText;
  }
}

export class FakeCloner implements SnapshotCloner {
  readonly clones: Array<{ file: Uint8Array; request: Parameters<SnapshotCloner['cloneFromSnapshot']>[1] }> = [];
  readonly names = new Set(['vm-1', 'web']);
  imageIdOf(id: string): string | undefined {
    return id === 'vm-1' ? 'linux' : id === 'vm-echo' ? 'echo' : undefined;
  }
  takenNames(): Set<string> {
    return new Set(this.names);
  }
  async cloneFromSnapshot(file: Uint8Array, request: Parameters<SnapshotCloner['cloneFromSnapshot']>[1]): Promise<VmInfo> {
    this.clones.push({ file, request });
    this.names.add(request.name);
    return { ...VM_1, id: `vm-${this.clones.length + 1}`, config: { ...VM_1.config, name: request.name } };
  }
}
