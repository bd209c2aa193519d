/** What one run of the guest workloads produces, the same shape for every engine. */

export interface WorkloadSample {
  /** Host wall time from sending the command to its end marker (natively: process spawn to exit). */
  readonly ms: number;
  readonly output: string;
  readonly status: number;
}

/** One fresh boot (or, natively, one pass) followed by every selected workload once. */
export interface GuestRun {
  /** Boot to the shell prompt, host wall time; absent natively. */
  readonly bootMs?: number;
  /** Making the inputs (SETUP_COMMAND), not part of any figure. */
  readonly setupMs: number;
  readonly samples: Readonly<Record<string, WorkloadSample>>;
  /** Our JIT's statistics at the end of a JIT run (proof that it ran). */
  readonly jitStats?: unknown;
}
