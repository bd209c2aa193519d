/**
 * One VM's snapshot panel, under its console: take a snapshot (with a name),
 * import a `.tabvm` file (or drop one on the tile), copy a share link, and
 * the saved snapshots with Restore (into this VM), Clone (into a new VM),
 * Rename, Export and Delete. The list is the same in every VM's panel (it is
 * the browser's); what a panel is doing shows in its own status line.
 */
import { useEffect, useMemo, useRef, useState, useSyncExternalStore, type FormEvent } from 'react';
import type { Coordinator } from '../../vmm/coordinator.ts';
import type { VmInfo } from '../../vmm/vm-registry.ts';
import { downloadBytes } from '../download.ts';
import { createShareLink } from '../share-link.ts';
import { SNAPSHOT_EXTENSION, type SnapshotActivity, type SnapshotLibrary } from '../snapshot-library.ts';
import { snapshotPanelActions } from '../snapshot-panel-actions.ts';
import '../styles/snapshots.css';
import { SnapshotItem } from './SnapshotItem.tsx';

export interface SnapshotPanelProps {
  library: SnapshotLibrary;
  coordinator: Coordinator;
  vm: VmInfo;
}

export function SnapshotPanel({ library, coordinator, vm }: SnapshotPanelProps) {
  const state = useSyncExternalStore(library.subscribe, library.getState);
  const activity = state.activity.get(vm.id);
  const busy = activity?.busy !== undefined;
  const live = vm.state === 'running' || vm.state === 'paused';
  const actions = useMemo(
    () =>
      snapshotPanelActions(library, vm.id, {
        download: downloadBytes,
        copyText: (text) => navigator.clipboard.writeText(text),
        shareLink: (vmId) => createShareLink(coordinator, vmId),
      }),
    [library, coordinator, vm.id],
  );
  const [name, setName] = useState('');
  const [open, setOpen] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const count = state.entries.length;

  // A new snapshot (taken or imported, here or elsewhere) opens the list, so it is seen;
  // the list read at start-up does not (undefined: not read yet).
  const seenCount = useRef<number | undefined>(undefined);
  useEffect(() => {
    if (!state.loaded) return;
    if (seenCount.current !== undefined && count > seenCount.current) setOpen(true);
    seenCount.current = count;
  }, [count, state.loaded]);

  const take = (event: FormEvent): void => {
    event.preventDefault();
    void actions.take(name).then((entry) => {
      if (entry) setName('');
    });
  };

  return (
    <section className="snapshots" aria-label={`Snapshots of ${vm.config.name}`}>
      <div className="snapshot-tools">
        <form className="snapshot-take" onSubmit={take}>
          <input aria-label="Snapshot name" value={name} onChange={(event) => setName(event.target.value)} placeholder="Snapshot name (optional)" autoComplete="off" maxLength={100} />
          <button type="submit" className="button button-small" disabled={busy || !live || state.unavailable !== undefined} title={live ? undefined : 'Only a running or paused VM can be saved.'}>
            Snapshot
          </button>
        </form>
        <button type="button" className="button button-small" disabled={busy || state.unavailable !== undefined} onClick={() => fileInput.current?.click()}>
          Import
        </button>
        <input
          ref={fileInput}
          type="file"
          accept={`${SNAPSHOT_EXTENSION},application/octet-stream`}
          hidden
          aria-label={`Import a ${SNAPSHOT_EXTENSION} file`}
          onChange={(event) => {
            const file = event.target.files?.[0];
            event.target.value = ''; // so the same file can be picked again
            if (file) void actions.importFile(file, file.name);
          }}
        />
        <button type="button" className="button button-small" disabled={busy || !live} onClick={() => void actions.copyLink()}>
          Copy link
        </button>
      </div>
      <SnapshotStatus activity={activity} unavailable={state.unavailable} onDismiss={() => library.dismiss(vm.id)} />
      <details className="snapshot-saved" open={open} onToggle={(event) => setOpen(event.currentTarget.open)}>
        <summary>Saved snapshots ({state.loaded ? count : '…'})</summary>
        {count === 0 ? (
          <p className="hint">None yet. Press Snapshot, or drop a {SNAPSHOT_EXTENSION} file on this VM.</p>
        ) : (
          <ul className="snapshot-list" aria-label="Saved snapshots">
            {state.entries.map((entry) => (
              <SnapshotItem key={entry.id} entry={entry} actions={actions} busy={busy} canRestore={live} />
            ))}
          </ul>
        )}
      </details>
    </section>
  );
}

/** What the panel is doing (text and an indeterminate progress bar), or its last notice; and its one error line. */
function SnapshotStatus({ activity, unavailable, onDismiss }: { activity: SnapshotActivity | undefined; unavailable: string | undefined; onDismiss: () => void }) {
  if (unavailable !== undefined) {
    return (
      <p role="alert" className="failure">
        {unavailable}
      </p>
    );
  }
  return (
    <>
      {/* A polite live region, but not role="status": that role names the host panel's isolation line, one per page. */}
      <div aria-live="polite" className="snapshot-status">
        {activity?.busy !== undefined ? (
          <>
            <span>{activity.busy}</span>
            <progress aria-label={activity.busy} />
          </>
        ) : (
          activity?.notice
        )}
      </div>
      {activity?.error !== undefined && (
        <div className="snapshot-error">
          <p role="alert" className="failure">
            {activity.error}
          </p>
          <button type="button" className="button button-small" onClick={onDismiss}>
            Dismiss
          </button>
        </div>
      )}
    </>
  );
}
