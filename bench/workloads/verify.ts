/**
 * Checks a workload's output: exit status 0, the independently known answer
 * where there is one, and the same output as the native run of the same
 * binaries (the reference). A run that fails any check is reported as such,
 * never just timed.
 */
import type { Workload } from './definitions.ts';

export type Verdict = { readonly ok: true } | { readonly ok: false; readonly why: string };

export function verifyOutput(workload: Workload, got: { output: string; status: number }, reference?: string): Verdict {
  const quote = (s: string) => JSON.stringify(s.length > 120 ? `${s.slice(0, 117)}...` : s);
  if (got.status !== 0) return { ok: false, why: `${workload.id}: exit status ${got.status} (output ${quote(got.output)})` };
  if (workload.expected !== undefined && got.output !== workload.expected) {
    return { ok: false, why: `${workload.id}: printed ${quote(got.output)}, the right answer is ${quote(workload.expected)}` };
  }
  if (reference !== undefined && got.output !== reference) {
    return { ok: false, why: `${workload.id}: printed ${quote(got.output)}, natively ${quote(reference)}` };
  }
  return { ok: true };
}
