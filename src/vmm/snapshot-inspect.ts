/**
 * Checks a `.tabvm` file from outside (an import) completely before anything
 * keeps it: size, header, checksum, decompression and manifest, through the
 * format's own reader. Every problem is a SnapshotError with one sentence,
 * the same sentences a restore would give.
 */
import { SnapshotError } from '../core/snapshot/errors.ts';
import { decodeSnapshot, DEFAULT_MAX_SNAPSHOT_BYTES } from '../core/snapshot/format.ts';
import { formatVersionText } from '../core/snapshot/version.ts';
import { CONFIG_LIMITS } from './vm-registry.ts';

/** Largest file accepted for import. A booted 64 MiB VM is ~3 MB; this leaves room for big, busy guests. */
export const MAX_IMPORT_FILE_BYTES = 256 * 1024 * 1024;

export interface SnapshotLimits {
  /** Largest file. Default MAX_IMPORT_FILE_BYTES. */
  maxFileBytes?: number;
  /** Largest decompressed content. Default the format's DEFAULT_MAX_SNAPSHOT_BYTES. */
  maxContentBytes?: number;
}

/** What an import needs to know about a valid file. */
export interface SnapshotFacts {
  formatVersion: string;
  ramMiB: number;
  /** The name of the VM it was taken of, when the file records one. */
  vmName: string | undefined;
}

const MIB = 1024 * 1024;

/** Reads a file the user picked or dropped, refusing one that is too large before reading it. */
export async function readSnapshotBlob(blob: Blob, limits: SnapshotLimits = {}): Promise<Uint8Array> {
  checkFileSize(blob.size, limits);
  return new Uint8Array(await blob.arrayBuffer());
}

/** Validates the whole file (it is decoded once and dropped) and returns its facts. */
export async function inspectSnapshotFile(file: Uint8Array, limits: SnapshotLimits = {}): Promise<SnapshotFacts> {
  checkFileSize(file.length, limits);
  const decoded = await decodeSnapshot(file, limits.maxContentBytes ?? DEFAULT_MAX_SNAPSHOT_BYTES);
  const { machine } = decoded.manifest;
  const ramMiB = machine.ramBytes / MIB;
  const { min, max } = CONFIG_LIMITS.ramMiB;
  if (!Number.isInteger(ramMiB) || ramMiB < min || ramMiB > max) {
    throw new SnapshotError('incompatible', `snapshot of a VM with ${machine.ramBytes} bytes of RAM cannot be restored here (RAM must be a whole number of MiB in ${min}..${max})`);
  }
  const vmm = machine.vmm as { name?: unknown } | undefined;
  return {
    formatVersion: formatVersionText(decoded.writtenWith),
    ramMiB,
    vmName: typeof vmm?.name === 'string' && vmm.name.trim() !== '' ? vmm.name.trim() : undefined,
  };
}

function checkFileSize(size: number, limits: SnapshotLimits): void {
  const max = limits.maxFileBytes ?? MAX_IMPORT_FILE_BYTES;
  if (size > max) throw new SnapshotError('too-large', `snapshot file of ${size} bytes exceeds the limit of ${max} bytes`);
}
