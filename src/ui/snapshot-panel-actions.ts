/**
 * What the buttons of one VM's snapshot panel (and a file dropped on its
 * tile) do, with the words the panel shows: each operation runs through
 * SnapshotLibrary.track, so the panel says what is going on while it runs,
 * one sentence when it failed, and a short notice when it worked. The
 * browser's download, clipboard and share-link functions are passed in, so
 * this runs in Node tests as it does in the page.
 */
import type { StoredSnapshot } from '../vmm/snapshot-store.ts';
import { formatBytes } from './format.ts';
import type { createShareLink } from './share-link.ts';
import type { SnapshotLibrary } from './snapshot-library.ts';

/** What "Copy link" gets (derived, so share-link.ts can change its internals freely). */
export type ShareLinkResult = Awaited<ReturnType<typeof createShareLink>>;

export interface PanelPlatform {
  /** Saves bytes as a file in the user's downloads. */
  download(fileName: string, bytes: Uint8Array): void;
  copyText(text: string): Promise<void>;
  shareLink(vmId: string): Promise<ShareLinkResult>;
}

export interface SnapshotPanelActions {
  take(name: string): Promise<StoredSnapshot | undefined>;
  restore(entry: StoredSnapshot): Promise<void>;
  clone(entry: StoredSnapshot): Promise<void>;
  rename(entry: StoredSnapshot, name: string): Promise<boolean>;
  remove(entry: StoredSnapshot): Promise<void>;
  exportFile(entry: StoredSnapshot): Promise<void>;
  importFile(file: Blob, fileName: string): Promise<void>;
  copyLink(): Promise<void>;
}

export function snapshotPanelActions(library: SnapshotLibrary, vmId: string, platform: PanelPlatform): SnapshotPanelActions {
  const run = <T>(busy: string, failure: string, operation: () => Promise<T>): Promise<T | undefined> => library.track(vmId, busy, failure, operation);
  const say = (notice: string): void => library.notify(vmId, notice);
  return {
    async take(name) {
      const entry = await run('Taking a snapshot…', 'The snapshot was not taken', () => library.take(vmId, name));
      if (entry) say(`Saved “${entry.name}” (${formatBytes(entry.sizeBytes)}).`);
      return entry;
    },
    async restore(entry) {
      if (await run(`Restoring “${entry.name}”…`, `“${entry.name}” was not restored`, () => library.restore(vmId, entry.id))) {
        say(`Restored “${entry.name}”.`);
      }
    },
    async clone(entry) {
      const vm = await run(`Cloning “${entry.name}” into a new VM…`, `“${entry.name}” was not cloned`, () => library.clone(entry.id, { fromVm: vmId }));
      if (vm) say(`${vm.config.name} runs from “${entry.name}”.`);
    },
    async rename(entry, name) {
      return (await run('Renaming…', `“${entry.name}” was not renamed`, () => library.rename(entry.id, name))) !== undefined;
    },
    async remove(entry) {
      const done = await run(`Deleting “${entry.name}”…`, `“${entry.name}” was not deleted`, async () => {
        await library.remove(entry.id);
        return true;
      });
      if (done) say(`Deleted “${entry.name}”.`);
    },
    async exportFile(entry) {
      const exported = await run(`Exporting “${entry.name}”…`, `“${entry.name}” was not exported`, () => library.exportFile(entry.id));
      if (!exported) return;
      platform.download(exported.fileName, exported.bytes);
      say(`Downloading ${exported.fileName} (${formatBytes(exported.bytes.length)}).`);
    },
    importFile: (file, fileName) => importSnapshotFile(library, vmId, file, fileName),
    async copyLink() {
      const link = await run('Making a link…', 'No link was made', async () => {
        const result = await platform.shareLink(vmId);
        if (result.kind === 'fragment') await platform.copyText(result.url);
        return result;
      });
      if (!link) return;
      if (link.kind === 'fragment') say(`Link copied (${formatBytes(link.bytes)}).`);
      else say(`This VM's state is too large for a link (${formatBytes(link.bytes)}; links hold ${formatBytes(link.limit)}). ${link.hint}`);
    },
  };
}

/** Imports a picked or dropped file, shown in VM `vmId`'s panel (the tile's drop target needs no other action). */
export async function importSnapshotFile(library: SnapshotLibrary, vmId: string, file: Blob, fileName: string): Promise<void> {
  const entry = await library.track(vmId, `Importing ${fileName}…`, `${fileName} was not imported`, () => library.importFile(file, fileName));
  if (entry) library.notify(vmId, `Imported “${entry.name}” (${formatBytes(entry.sizeBytes)}).`);
}
