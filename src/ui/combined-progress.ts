/**
 * One progress report for several downloads that run side by side (a VM's
 * image and its starting snapshot): bytes add up, the total is known once
 * every part's is, and `current` names the part that reported last.
 */
import type { DownloadProgress, ProgressListener } from './shared-downloads.ts';

export function combineProgress(parts: number, onChange: ProgressListener): ProgressListener[] {
  const latest: Array<DownloadProgress | undefined> = new Array<DownloadProgress | undefined>(parts).fill(undefined);
  return latest.map((_, i) => (progress: DownloadProgress) => {
    latest[i] = progress;
    const known = latest.every((p) => p?.total !== undefined);
    onChange({
      loaded: latest.reduce((sum, p) => sum + (p?.loaded ?? 0), 0),
      total: known ? latest.reduce((sum, p) => sum + p!.total!, 0) : undefined,
      current: progress.current,
    });
  });
}
