/**
 * Snapshot format versions (semver). Bump the rules:
 * - patch: no change to what is written (documentation, reader fixes);
 * - minor: new optional fields; older readers of the same major ignore them;
 * - major: anything an older reader would misread. Add a migration from the
 *   previous major in migrations.ts so older snapshots keep loading.
 */
export interface FormatVersion {
  major: number;
  minor: number;
  patch: number;
}

export const CURRENT_FORMAT: FormatVersion = { major: 1, minor: 0, patch: 0 };

export function formatVersionText(v: FormatVersion): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}
