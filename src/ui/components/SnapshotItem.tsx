/**
 * One saved snapshot in a VM's panel: name, size, time, where it came from,
 * the console as it was, and its buttons. Rename edits the name in place
 * (Enter saves, Escape cancels); Delete asks once more, since it cannot be undone.
 */
import { useId, useState, type FormEvent, type KeyboardEvent } from 'react';
import type { StoredSnapshot } from '../../vmm/snapshot-store.ts';
import { formatBytes, formatMiB } from '../format.ts';
import type { SnapshotPanelActions } from '../snapshot-panel-actions.ts';

export interface SnapshotItemProps {
  entry: StoredSnapshot;
  actions: SnapshotPanelActions;
  /** The panel is running an operation: every button waits. */
  busy: boolean;
  /** The panel's VM can be restored into (it is running or paused). */
  canRestore: boolean;
}

type Mode = 'view' | 'rename' | 'confirm-delete';

export function SnapshotItem({ entry, actions, busy, canRestore }: SnapshotItemProps) {
  const nameId = useId();
  const [mode, setMode] = useState<Mode>('view');
  const [newName, setNewName] = useState(entry.name);
  const created = new Date(entry.createdAt);
  const source = entry.origin === 'imported' ? 'imported' : `of ${entry.vm.name}`;

  const rename = (event: FormEvent): void => {
    event.preventDefault();
    void actions.rename(entry, newName).then((done) => {
      if (done) setMode('view');
    });
  };
  const cancelOnEscape = (event: KeyboardEvent): void => {
    if (event.key === 'Escape') setMode('view');
  };

  return (
    <li className="snapshot-item" aria-labelledby={nameId}>
      <div className="snapshot-head">
        <span className="snapshot-name" id={nameId}>
          {entry.name}
        </span>
        <span className="snapshot-meta">
          {formatBytes(entry.sizeBytes)} · <time dateTime={created.toISOString()}>{created.toLocaleString()}</time> · {source}, {formatMiB(entry.vm.ramMiB)} RAM
        </span>
      </div>
      {entry.preview.length > 0 && (
        // Reversed flex column: the box opens scrolled to its last line, the prompt.
        <div className="snapshot-preview" tabIndex={0} aria-label={`Console of ${entry.name} when it was taken`}>
          <pre>{entry.preview.join('\n')}</pre>
        </div>
      )}
      {mode === 'rename' && (
        <form className="snapshot-rename" onSubmit={rename} onKeyDown={cancelOnEscape}>
          <input aria-label={`New name for ${entry.name}`} value={newName} onChange={(event) => setNewName(event.target.value)} maxLength={100} autoFocus />
          <button type="submit" className="button button-small" disabled={busy}>
            Save
          </button>
          <button type="button" className="button button-small" onClick={() => setMode('view')}>
            Cancel
          </button>
        </form>
      )}
      {mode === 'confirm-delete' && (
        <div className="vm-controls" role="group" aria-label={`Delete ${entry.name}?`}>
          <span>Delete “{entry.name}” for good?</span>
          <button type="button" className="button button-small button-danger" disabled={busy} onClick={() => void actions.remove(entry)} autoFocus>
            Confirm delete
          </button>
          <button type="button" className="button button-small" onClick={() => setMode('view')}>
            Keep
          </button>
        </div>
      )}
      {mode === 'view' && (
        <div className="vm-controls" role="group" aria-label={`${entry.name} actions`}>
          <button type="button" className="button button-small" disabled={busy || !canRestore} onClick={() => void actions.restore(entry)}>
            Restore
          </button>
          <button type="button" className="button button-small" disabled={busy} onClick={() => void actions.clone(entry)}>
            Clone
          </button>
          <button
            type="button"
            className="button button-small"
            disabled={busy}
            onClick={() => {
              setNewName(entry.name);
              setMode('rename');
            }}
          >
            Rename
          </button>
          <button type="button" className="button button-small" disabled={busy} onClick={() => void actions.exportFile(entry)}>
            Export
          </button>
          <button type="button" className="button button-small button-danger" disabled={busy} onClick={() => setMode('confirm-delete')}>
            Delete
          </button>
        </div>
      )}
    </li>
  );
}
