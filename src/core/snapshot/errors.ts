/** The one kind of error a snapshot reader throws: a code for programs, a sentence for people. */
export type SnapshotErrorCode =
  | 'truncated'
  | 'bad-magic'
  | 'bad-checksum'
  | 'unsupported-version'
  | 'too-large'
  | 'corrupt'
  /** The file is sound but cannot become a machine here (a component this build lacks, RAM beyond the budget, missing devices). */
  | 'incompatible'
  /** A snapshot diff (snapshot-diff.ts) applied to another base snapshot than it was made against. */
  | 'wrong-base';

export class SnapshotError extends Error {
  constructor(readonly code: SnapshotErrorCode, message: string) {
    super(message);
    this.name = 'SnapshotError';
  }
}
