/** A VM whose image is still downloading, or could not be created (with Retry / Dismiss). */
import { formatProgress } from '../format.ts';
import type { PendingVm, VmStore } from '../vm-store.ts';

export function pendingTitle(pending: PendingVm): string {
  return pending.name ?? 'New VM';
}

/** `actions` false: a second view of the same VM (its tile) shows the state only. */
export function PendingStatus({ pending, store, actions = true }: { pending: PendingVm; store: VmStore; actions?: boolean }) {
  const title = pendingTitle(pending);
  if (pending.error !== undefined && !actions) return <p className="failure">{pending.error}</p>;
  if (pending.error !== undefined) {
    return (
      <div className="pending pending-failed">
        <p role="alert" className="failure">
          {pending.error}
        </p>
        <div className="vm-controls">
          <button type="button" className="button button-small" onClick={() => store.retry(pending.key)}>
            Retry
          </button>
          <button type="button" className="button button-small" onClick={() => store.dismiss(pending.key)}>
            Dismiss
          </button>
        </div>
      </div>
    );
  }
  const progress = pending.progress;
  const total = progress?.total;
  return (
    <div className="pending">
      <p className="explanation">
        {progress ? `Downloading the ${progress.current}: ${formatProgress(progress.loaded, total)}` : `Preparing ${pending.imageLabel}…`}
      </p>
      <progress
        aria-label={`Image download for ${title}`}
        {...(!actions && { 'aria-hidden': true })}
        max={total ?? 1}
        {...(total !== undefined && progress ? { value: progress.loaded } : {})}
      />
    </div>
  );
}
