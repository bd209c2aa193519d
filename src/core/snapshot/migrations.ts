/**
 * Upgrades manifests written by older format versions to the current one and
 * checks the result's shape. Each migration takes the manifest of one major
 * version to the next; a snapshot older than the oldest migration is refused
 * with a message naming both versions.
 */
import { SnapshotError } from './errors.ts';
import type { SnapshotManifest } from './format.ts';
import { CURRENT_FORMAT, formatVersionText, type FormatVersion } from './version.ts';

type Json = Record<string, unknown>;

interface Migration {
  /** The major version this migration reads; it produces major + 1. */
  fromMajor: number;
  migrate(manifest: Json): Json;
}

/** Ordered by fromMajor. Format 1 is the first released format: nothing to migrate from yet. */
const MIGRATIONS: readonly Migration[] = [];

export function migrateManifest(parsed: unknown, writtenWith: FormatVersion): SnapshotManifest {
  if (!isObject(parsed)) throw new SnapshotError('corrupt', 'snapshot manifest is not an object');
  let manifest: Json = parsed;
  let major = writtenWith.major;
  while (major < CURRENT_FORMAT.major) {
    const step = MIGRATIONS.find((m) => m.fromMajor === major);
    if (!step) {
      throw new SnapshotError('unsupported-version',
        `snapshot format ${formatVersionText(writtenWith)} is too old: this tabvisor reads ${formatVersionText(CURRENT_FORMAT)} and has no upgrade from ${major}.x`);
    }
    manifest = step.migrate(manifest);
    major++;
  }
  return checkManifest(manifest);
}

function checkManifest(m: Json): SnapshotManifest {
  const machine = m.machine;
  if (!isObject(machine) || typeof machine.ramBytes !== 'number' || !Number.isInteger(machine.ramBytes) || machine.ramBytes <= 0) {
    throw new SnapshotError('corrupt', 'snapshot manifest has no valid machine.ramBytes');
  }
  if (!isObject(m.components)) throw new SnapshotError('corrupt', 'snapshot manifest has no components');
  if (typeof m.createdAt !== 'string') throw new SnapshotError('corrupt', 'snapshot manifest has no createdAt');
  const images = m.images;
  if (!Array.isArray(images) || !images.every((i) => isObject(i) && typeof i.name === 'string' && typeof i.sha256 === 'string')) {
    throw new SnapshotError('corrupt', 'snapshot manifest has an invalid images list');
  }
  return m as unknown as SnapshotManifest;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
