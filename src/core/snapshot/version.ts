/**
 * Snapshot format versions (semver). Bump the rules:
 * - patch: no change to what is written (documentation, reader fixes);
 * - minor: new fields; older readers of the same major ignore them, and a
 *   migration in migrations.ts fills them in when this reader meets a file
 *   of an earlier minor;
 * - major: anything an older reader would misread. Add a migration from the
 *   previous version in migrations.ts so older snapshots keep loading.
 *
 * History:
 * - 1.0.0: first release.
 * - 1.1.0: every entry of `manifest.images` says what it is (`role`:
 *   kernel, initrd, multiboot, module). 1.0 writers recorded image names
 *   only, and in browsers those are blob: URL ids that do not tell the kernel
 *   from the initrd.
 */
export interface FormatVersion {
  major: number;
  minor: number;
  patch: number;
}

export const CURRENT_FORMAT: FormatVersion = { major: 1, minor: 1, patch: 0 };

export function formatVersionText(v: FormatVersion): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}

/** Negative when `a` is older than `b`, by major then minor (patches never change what is written). */
export function compareFormat(a: FormatVersion, b: FormatVersion): number {
  return a.major !== b.major ? a.major - b.major : a.minor - b.minor;
}
