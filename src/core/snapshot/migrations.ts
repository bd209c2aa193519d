/**
 * Upgrades manifests written by older format versions to the current one and
 * checks the result's shape. Each migration takes the manifest of one
 * major.minor to the next; a snapshot older than the oldest migration is
 * refused with a message naming both versions. A later minor of the current
 * major needs nothing: its extra fields are ignored.
 */
import { SnapshotError } from './errors.ts';
import { IMAGE_ROLES, type ImageRole, type SnapshotManifest } from './format.ts';
import { compareFormat, CURRENT_FORMAT, formatVersionText, type FormatVersion } from './version.ts';

type Json = Record<string, unknown>;

interface Migration {
  /** The major.minor this migration reads. */
  from: { major: number; minor: number };
  /** The major.minor it produces. */
  to: { major: number; minor: number };
  migrate(manifest: Json): Json;
}

/** Ordered oldest first. */
const MIGRATIONS: readonly Migration[] = [
  { from: { major: 1, minor: 0 }, to: { major: 1, minor: 1 }, migrate: addImageRoles },
];

export function migrateManifest(parsed: unknown, writtenWith: FormatVersion): SnapshotManifest {
  if (!isObject(parsed)) throw new SnapshotError('corrupt', 'snapshot manifest is not an object');
  let manifest: Json = parsed;
  let version: FormatVersion = writtenWith;
  while (compareFormat(version, CURRENT_FORMAT) < 0) {
    const { major, minor } = version;
    const step = MIGRATIONS.find((m) => m.from.major === major && m.from.minor === minor);
    if (!step) {
      throw new SnapshotError('unsupported-version',
        `snapshot format ${formatVersionText(writtenWith)} is too old: this tabvisor reads ${formatVersionText(CURRENT_FORMAT)} and has no upgrade from ${major}.${minor}`);
    }
    manifest = step.migrate(manifest);
    version = { ...step.to, patch: 0 };
  }
  return checkManifest(manifest);
}

/**
 * 1.0 -> 1.1: roles for `images`. Every 1.0 writer listed a Linux boot's
 * images as kernel then initrd, and a Multiboot boot's as the image then its
 * modules, so the position says the role.
 */
function addImageRoles(manifest: Json): Json {
  const images = manifest.images;
  if (!Array.isArray(images)) return manifest; // checkManifest says what is wrong
  const machine = manifest.machine;
  const boot = isObject(machine) && isObject(machine.boot) ? machine.boot : undefined;
  const multiboot = boot?.kind === 'multiboot';
  const roleAt = (i: number): ImageRole => (multiboot ? (i === 0 ? 'multiboot' : 'module') : i === 0 ? 'kernel' : 'initrd');
  return { ...manifest, images: images.map((image: unknown, i) => (isObject(image) ? { ...image, role: roleAt(i) } : image)) };
}

function checkManifest(m: Json): SnapshotManifest {
  const machine = m.machine;
  if (!isObject(machine) || typeof machine.ramBytes !== 'number' || !Number.isInteger(machine.ramBytes) || machine.ramBytes <= 0) {
    throw new SnapshotError('corrupt', 'snapshot manifest has no valid machine.ramBytes');
  }
  if (!isObject(m.components)) throw new SnapshotError('corrupt', 'snapshot manifest has no components');
  if (typeof m.createdAt !== 'string') throw new SnapshotError('corrupt', 'snapshot manifest has no createdAt');
  const images = m.images;
  const validImage = (i: unknown): boolean =>
    isObject(i) && typeof i.name === 'string' && typeof i.sha256 === 'string' && (IMAGE_ROLES as readonly unknown[]).includes(i.role);
  if (!Array.isArray(images) || !images.every(validImage)) {
    throw new SnapshotError('corrupt', 'snapshot manifest has an invalid images list');
  }
  return m as unknown as SnapshotManifest;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
