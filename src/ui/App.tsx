/**
 * The playground: host panel on top, the VM list on the left, one tile per
 * VM (console + graphs) on the right, and the New VM dialog. "Cold boot"
 * makes a VM that boots its kernel (the page's first VM starts from the
 * instant-boot snapshot).
 */
import { useRef, useState } from 'react';
import { flushSync } from 'react-dom';
import { ErrorBoundary } from './components/ErrorBoundary.tsx';
import { HostPanel } from './components/HostPanel.tsx';
import { NewVmDialog } from './components/NewVmDialog.tsx';
import { PendingStatus, pendingTitle } from './components/PendingItem.tsx';
import { VmList } from './components/VmList.tsx';
import { VmTile } from './components/VmTile.tsx';
import { useStore } from './hooks.ts';
import type { NewVmRequest } from './new-vm-form.ts';
import type { Runtime } from './runtime.ts';

export function App({ runtime }: { runtime: Runtime }) {
  const { store, coordinator } = runtime;
  const snapshot = useStore(store);
  const [dialogOpen, setDialogOpen] = useState(false);
  const newVmButton = useRef<HTMLButtonElement>(null);

  const create = (request: NewVmRequest): void => {
    // Closed first, so the new console's focus request is the last word.
    flushSync(() => setDialogOpen(false));
    const { name, imageId, ...resources } = request;
    store.create({ ...resources, imageId, ...(name !== undefined && { name }) }, { start: true, focus: true }).catch(() => undefined);
  };
  const cancelDialog = (): void => {
    flushSync(() => setDialogOpen(false));
    newVmButton.current?.focus();
  };

  return (
    <div className="app">
      <header className="topbar">
        <h1>
          tabvisor <span className="tagline">x86 virtual machines in a browser tab</span>
        </h1>
        <div className="topbar-actions">
          <button
            type="button"
            className="button"
            title="A new VM of the default image that boots its kernel, showing the boot log, instead of starting at the prompt from the instant-boot snapshot"
            onClick={() => void store.create({}, { start: true, focus: true }).catch(() => undefined)}
          >
            Cold boot
          </button>
          <button type="button" className="button button-primary" ref={newVmButton} onClick={() => setDialogOpen(true)}>
            New VM
          </button>
        </div>
      </header>
      <HostPanel coordinator={coordinator} isolated={runtime.isolated} channelMode={runtime.channelMode} poolLimitMiB={runtime.poolLimitMiB} />
      <div className="workspace">
        <aside className="sidebar" aria-label="Virtual machines">
          <h2>Virtual machines</h2>
          <VmList store={store} snapshot={snapshot} />
        </aside>
        <main className="tiles" aria-label="Consoles">
          {snapshot.vms.map((vm) => (
            <ErrorBoundary key={vm.id} what={`the console of ${vm.config.name}`}>
              <VmTile coordinator={coordinator} vm={vm} focusSeq={snapshot.focus?.id === vm.id ? snapshot.focus.seq : undefined} snapshots={runtime.snapshots} />
            </ErrorBoundary>
          ))}
          {snapshot.pending.map((pending) => (
            <section key={`pending-${pending.key}`} className="tile tile-pending" aria-label={`${pendingTitle(pending)} (preparing)`}>
              <header className="tile-head">
                <h2>{pendingTitle(pending)}</h2>
              </header>
              <PendingStatus pending={pending} store={store} actions={false} />
            </section>
          ))}
        </main>
      </div>
      <NewVmDialog open={dialogOpen} taken={() => store.takenNames()} onCreate={create} onCancel={cancelDialog} jitDefault={store.jitDefault} />
    </div>
  );
}
