/**
 * Where a new VM's starting state can come from instead of its kernel's
 * boot: the instant-boot snapshot, a share link's fragment (a diff against
 * the instant-boot snapshot) or a `.tabvm` file at a URL. VmStore.create
 * loads the source (with progress, next to the image download), creates the
 * VM and starts it from the file.
 *
 * Every way a source can fail is an ImageError with one sentence for the
 * UI; nothing is created or changed before the file is known to be sound.
 */
import { SnapshotError } from '../core/snapshot/errors.ts';
import { decodeSnapshot, encodeSnapshot } from '../core/snapshot/format.ts';
import { applySnapshotDiff } from '../core/snapshot/snapshot-diff.ts';
import { fromBase64Url } from './base64url.ts';
import { downloadFile, ImageError, type FetchFunction } from './image-loader.ts';
import type { CatalogueImage } from './images.ts';
import type { InstantBootLoader } from './instant-boot.ts';
import { SHARE_LINK_LIMIT } from './share-fragment.ts';
import type { ProgressListener } from './shared-downloads.ts';

const MIB = 1024 * 1024;
/** Largest `.tabvm` a `?snapshot=` URL may deliver (a 2 GiB guest with busy RAM compresses to far less). */
export const MAX_URL_SNAPSHOT_BYTES = 512 * MIB;

export interface LoadedSnapshot {
  readonly file: Uint8Array;
  /** The RAM of the snapshot's VM, which the new VM must have. */
  readonly ramMiB: number;
}

export interface SnapshotSource {
  /** What is loaded, for progress and messages ("instant-boot snapshot"). */
  readonly what: string;
  load(onProgress: ProgressListener): Promise<LoadedSnapshot>;
  /** When loading or restoring fails: boot the kernel instead and say so (instant boot), rather than fail. */
  readonly coldBootFallback: boolean;
  /** The snapshot is of an idle shell at its prompt: after the restore, it is asked to draw the prompt on the fresh console. */
  readonly promptAfterRestore: boolean;
}

/** The default VM at its prompt, from the image's shipped snapshot. */
export function instantBootSource(loader: InstantBootLoader, image: CatalogueImage): SnapshotSource {
  return {
    what: 'instant-boot snapshot',
    coldBootFallback: true,
    promptAfterRestore: true,
    async load(onProgress) {
      const { file, ramMiB } = await loader.load(image, onProgress);
      return { file, ramMiB };
    },
  };
}

/** A share link's `#snapshot=` data: rebuilt on the image's instant-boot snapshot. */
export function fragmentSource(data: string, loader: InstantBootLoader, image: CatalogueImage): SnapshotSource {
  return {
    what: 'shared snapshot',
    coldBootFallback: false,
    promptAfterRestore: false,
    async load(onProgress) {
      if (data === '') throw new ImageError('The share link is incomplete: there is nothing after “#snapshot=”.');
      if (data.length > SHARE_LINK_LIMIT) {
        throw new ImageError(`The share link is too long: its snapshot has ${data.length} characters, more than the ${SHARE_LINK_LIMIT} a link may have.`);
      }
      let diff: Uint8Array;
      try {
        diff = fromBase64Url(data);
      } catch (e) {
        throw new ImageError(`The share link is damaged: ${messageOf(e)}.`);
      }
      const base = await loader.load(image, onProgress);
      try {
        const content = await applySnapshotDiff(diff, base.file);
        return { file: await encodeSnapshot(content), ramMiB: content.manifest.machine.ramBytes / MIB };
      } catch (e) {
        if (!(e instanceof SnapshotError)) throw e;
        if (e.code === 'wrong-base') {
          throw new ImageError('The share link was made with another version of tabvisor (for a different instant-boot snapshot), so it cannot be opened here. Ask for the snapshot file instead.');
        }
        if (e.code === 'unsupported-version') throw new ImageError(`The share link was made with another version of tabvisor: ${e.message}.`);
        throw new ImageError(`The share link is damaged: ${e.message}.`);
      }
    },
  };
}

/** A `.tabvm` file at `url` (CORS needed when it is on another origin), at most `maxBytes`. */
export function urlSource(url: string, fetchFn: FetchFunction, maxBytes = MAX_URL_SNAPSHOT_BYTES): SnapshotSource {
  return {
    what: 'shared snapshot',
    coldBootFallback: false,
    promptAfterRestore: false,
    async load(onProgress) {
      let response: Response;
      try {
        response = await fetchFn(url);
      } catch {
        throw new ImageError(
          `The snapshot at ${url} could not be downloaded: the server did not answer, or it does not let this page read the file ` +
            '(a server on another site must send Access-Control-Allow-Origin).',
        );
      }
      if (response.status === 404) throw new ImageError(`There is no snapshot at ${url} (404).`);
      if (!response.ok) throw new ImageError(`The snapshot at ${url} could not be downloaded (${response.status}).`);
      const file = await downloadFile(
        () => Promise.resolve(response),
        url,
        'shared snapshot',
        (loaded, total) => onProgress({ loaded, total, current: 'shared snapshot' }),
        undefined,
        maxBytes,
      );
      try {
        const decoded = await decodeSnapshot(file, maxBytes);
        return { file, ramMiB: decoded.manifest.machine.ramBytes / MIB };
      } catch (e) {
        if (e instanceof SnapshotError) throw new ImageError(`The file at ${url} is not a snapshot tabvisor can restore: ${e.message}.`);
        throw e;
      }
    },
  };
}

/** What a new VM starts from: a loaded snapshot, or its kernel's boot with a note saying why not the snapshot. */
export interface StartingState {
  readonly loaded?: LoadedSnapshot;
  readonly note?: string;
}

/**
 * Loads `from` for a new VM of `ramMiB` (undefined: the snapshot's). For a
 * source with cold-boot fallback a failure becomes a note and the VM boots
 * its kernel; for other sources it rejects with the source's sentence.
 */
export async function loadStartingState(from: SnapshotSource | undefined, ramMiB: number | undefined, onProgress: ProgressListener): Promise<StartingState> {
  if (!from) return {};
  let loaded: LoadedSnapshot;
  try {
    loaded = await from.load(onProgress);
  } catch (error) {
    if (!from.coldBootFallback) throw error;
    return { note: coldBootNote(messageOf(error)) };
  }
  if (ramMiB !== undefined && ramMiB !== loaded.ramMiB) {
    const why = `The ${from.what} is of a VM with ${loaded.ramMiB} MiB of RAM, not ${ramMiB} MiB.`;
    if (!from.coldBootFallback) throw new ImageError(why);
    return { note: coldBootNote(why) };
  }
  return { loaded };
}

/** The note on a VM that booted its kernel because instant boot did not work (`why`: a sentence). */
export function coldBootNote(why: string): string {
  return `Instant boot was not possible, so this VM booted from its kernel: ${why}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A source that cannot be loaded (e.g. a malformed `?snapshot=`): its VM's pending entry shows `message`. */
export function refusedSource(message: string): SnapshotSource {
  return {
    what: 'shared snapshot',
    coldBootFallback: false,
    promptAfterRestore: false,
    load: () => Promise.reject(new ImageError(message)),
  };
}
