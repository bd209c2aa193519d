/**
 * The shipped instant-boot snapshot of a catalogue image: the default VM
 * already at its shell prompt (public/images/instant-boot.tabvm, described
 * by the image manifest's `instantBoot` entry). The page restores it instead
 * of booting the kernel, and share links are diffs against it.
 *
 * Downloaded once per page with progress and checked against the manifest
 * (size, sha256), like the image files; a failed download is forgotten so a
 * later call tries again. Failures are ImageErrors with a sentence.
 */
import { browserImageLoaderDeps, checkAgainstManifest, downloadFile, ImageError, parseManifestBytes, type ImageLoaderDeps } from './image-loader.ts';
import type { CatalogueImage } from './images.ts';
import { SharedDownloads, type ProgressListener } from './shared-downloads.ts';

export interface InstantBootSnapshot {
  /** The `.tabvm` file. Shared by every caller: do not modify it. */
  readonly file: Uint8Array;
  /** SHA-256 of the file, as the manifest gives it. */
  readonly sha256: string;
  /** RAM of its VM. */
  readonly ramMiB: number;
}

const WHAT = 'instant-boot snapshot';

export class InstantBootLoader {
  private readonly downloads = new SharedDownloads<InstantBootSnapshot>();

  constructor(private readonly deps: ImageLoaderDeps) {}

  /** The image's instant-boot snapshot; `onProgress` sees its download (if one is still running). */
  load(image: CatalogueImage, onProgress?: ProgressListener): Promise<InstantBootSnapshot> {
    return this.downloads.get(image.id, (report) => this.download(image, report), onProgress);
  }

  private async download(image: CatalogueImage, report: ProgressListener): Promise<InstantBootSnapshot> {
    const source = image.source;
    if (source.kind !== 'linux') throw new ImageError(`${image.label} has no ${WHAT}.`);
    const { deps } = this;
    const manifestUrl = new URL(source.manifest, deps.baseUrl).href;
    report({ loaded: 0, total: undefined, current: WHAT });
    const manifestBytes = await downloadFile(deps.fetch, manifestUrl, 'image manifest', () => undefined);
    const entry = parseManifestBytes(manifestBytes).instantBoot;
    if (!entry) throw new ImageError(`The image manifest describes no ${WHAT}.`);
    const file = await downloadFile(
      deps.fetch,
      new URL(entry.name, manifestUrl).href,
      WHAT,
      (loaded, total) => report({ loaded, total, current: WHAT }),
      entry.size,
    );
    checkAgainstManifest(WHAT, file, await deps.sha256(file), entry);
    return { file, sha256: entry.sha256, ramMiB: entry.ramMiB };
  }
}

let pageLoader: InstantBootLoader | undefined;

/** The page's loader (one download per page, shared by instant boot and share links). */
export function pageInstantBoot(): InstantBootLoader {
  pageLoader ??= new InstantBootLoader(browserImageLoaderDeps());
  return pageLoader;
}
