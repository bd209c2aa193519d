/**
 * Fetches guest images for the worker, with progress.
 *
 * For a VM that boots, the page downloads (not the worker) so the UI can show
 * a progress bar from the response stream and the Content-Length (or the
 * manifest's size), and verifies each file against the manifest's sha256.
 * The bytes are then handed to the guest worker as `blob:` URLs in the VM's
 * ImageSpec: the worker reads them from memory, so a reset or a second VM of
 * the same image costs no new download, and the worker protocol keeps
 * carrying plain URLs. A VM that a snapshot replaces before it boots
 * (instant boot, share links, clones) gets a lazy spec instead (`describe`):
 * the worker downloads and checks the images only if its guest boots or
 * reboots.
 *
 * Every failure becomes an ImageError whose message is a plain sentence for
 * the UI ("The kernel image could not be downloaded (404).").
 */
import type { ImageSpec } from '../vmm/shared/protocol.ts';
import type { CatalogueImage } from './images.ts';
import { SharedDownloads, type DownloadProgress, type ProgressListener } from './shared-downloads.ts';

export type { DownloadProgress, ProgressListener } from './shared-downloads.ts';

export class ImageError extends Error {
  override name = 'ImageError';
}

export type FetchFunction = (url: string) => Promise<Response>;

export interface ImageLoaderDeps {
  fetch: FetchFunction;
  /** Paths in the catalogue are resolved against this. */
  baseUrl: string;
  /** Makes a URL the guest worker can fetch (default: a blob: URL). */
  publish: (bytes: Uint8Array<ArrayBuffer>) => string;
  /** SHA-256 as lowercase hex, or undefined where the platform cannot hash (insecure contexts). */
  sha256: (bytes: Uint8Array<ArrayBuffer>) => Promise<string | undefined>;
}

interface ManifestFile {
  name: string;
  size: number;
  sha256: string;
}

/** The shipped instant-boot snapshot of the image (manifest `instantBoot`, scripts/snapshot/build-instant-boot.ts). */
export interface InstantBootEntry extends ManifestFile {
  /** RAM of the snapshot's VM: only a VM of this size can be restored from it. */
  ramMiB: number;
}

export interface ImageManifest {
  files: ManifestFile[];
  defaultCmdline?: string;
  /** Absent (or not usable) when the image has no instant-boot snapshot: VMs then boot the kernel. */
  instantBoot?: InstantBootEntry;
}

export function browserImageLoaderDeps(): ImageLoaderDeps {
  return {
    fetch: (url) => globalThis.fetch(url),
    baseUrl: globalThis.location?.href ?? 'http://localhost/',
    publish: (bytes) => URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' })),
    sha256: async (bytes) => {
      const subtle = globalThis.crypto?.subtle;
      if (!subtle) return undefined;
      return toHex(new Uint8Array(await subtle.digest('SHA-256', bytes)));
    },
  };
}

/**
 * Downloads one file, reporting `loaded`/`total` as chunks arrive.
 * `expectedSize` (from the manifest) is used when the server sends no Content-Length.
 * `maxBytes`: a larger file is refused (by its Content-Length, or once that
 * many bytes arrived), for files from URLs anyone can put in a link.
 */
export async function downloadFile(
  fetchFn: FetchFunction,
  url: string,
  what: string,
  onProgress: (loaded: number, total: number | undefined) => void,
  expectedSize?: number,
  maxBytes = Infinity,
): Promise<Uint8Array<ArrayBuffer>> {
  const tooLarge = (): ImageError => new ImageError(`The ${what} is larger than the limit of ${formatMiB(maxBytes)}.`);
  let response: Response;
  try {
    response = await fetchFn(url);
  } catch {
    throw new ImageError(`The ${what} could not be downloaded: the server did not answer (network error).`);
  }
  if (!response.ok) throw new ImageError(`The ${what} could not be downloaded (${response.status}).`);
  const header = Number(response.headers.get('content-length') ?? NaN);
  const encoded = (response.headers.get('content-encoding') ?? 'identity') !== 'identity';
  // A compressed response's Content-Length counts compressed bytes, not what the stream yields.
  let total = Number.isFinite(header) && header >= 0 && !encoded ? header : expectedSize;
  if (total !== undefined && total > maxBytes) throw tooLarge();
  onProgress(0, total);
  if (!response.body) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.length > maxBytes) throw tooLarge();
    onProgress(bytes.length, bytes.length);
    return bytes;
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      loaded += value.length;
      if (loaded > maxBytes) break;
      if (total !== undefined && loaded > total) total = undefined;
      onProgress(loaded, total);
    }
  } catch {
    throw new ImageError(`The ${what} download was interrupted after ${formatMiB(loaded)}.`);
  }
  if (loaded > maxBytes) {
    void reader.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (encoded && expectedSize !== undefined && loaded !== expectedSize) {
    throw new ImageError(
      `The ${what} was unpacked by the browser on the way (the server sent it with Content-Encoding: ${response.headers.get('content-encoding')}); ` +
        'serve it as a plain file.',
    );
  }
  const bytes = new Uint8Array(loaded);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

/** A downloaded manifest file, parsed (parseManifest), or an ImageError that says what is wrong with it. */
export function parseManifestBytes(bytes: Uint8Array): ImageManifest {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new ImageError('The image manifest is not usable: it is not valid JSON.');
  }
  return parseManifest(json);
}

/**
 * Throws an ImageError unless a downloaded file has its manifest entry's size
 * and SHA-256 (`digest` undefined: the platform cannot hash, only the size counts).
 */
export function checkAgainstManifest(what: string, bytes: Uint8Array, digest: string | undefined, entry: { size: number; sha256: string }): void {
  if (bytes.length !== entry.size) throw new ImageError(`The ${what} is incomplete: received ${bytes.length} of ${entry.size} bytes.`);
  if (digest !== undefined && digest !== entry.sha256) throw new ImageError(`The ${what} is damaged: its SHA-256 checksum does not match the manifest.`);
}

export function parseManifest(json: unknown): ImageManifest {
  const bad = (why: string): ImageError => new ImageError(`The image manifest is not usable: ${why}.`);
  if (typeof json !== 'object' || json === null) throw bad('it is not a JSON object');
  const { files, defaultCmdline } = json as { files?: unknown; defaultCmdline?: unknown };
  if (!Array.isArray(files)) throw bad('it has no list of files');
  const parsed = files.map((file: unknown, i): ManifestFile => {
    const { name, size, sha256 } = (file ?? {}) as { name?: unknown; size?: unknown; sha256?: unknown };
    if (typeof name !== 'string' || typeof size !== 'number' || typeof sha256 !== 'string') {
      throw bad(`file ${i + 1} needs a name, a size and a sha256`);
    }
    return { name, size, sha256: sha256.toLowerCase() };
  });
  const manifest: ImageManifest = { files: parsed };
  if (typeof defaultCmdline === 'string') manifest.defaultCmdline = defaultCmdline;
  const instantBoot = parseInstantBoot((json as { instantBoot?: unknown }).instantBoot);
  if (instantBoot) manifest.instantBoot = instantBoot;
  return manifest;
}

/** The `instantBoot` entry, or undefined when there is none or it is malformed (instant boot is an extra, never a reason to fail). */
function parseInstantBoot(json: unknown): InstantBootEntry | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const { name, size, sha256, ramMiB } = json as { name?: unknown; size?: unknown; sha256?: unknown; ramMiB?: unknown };
  if (typeof name !== 'string' || typeof size !== 'number' || typeof sha256 !== 'string' || typeof ramMiB !== 'number') return undefined;
  return { name, size, sha256: sha256.toLowerCase(), ramMiB };
}

function fileName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/**
 * Turns catalogue entries into ImageSpecs the coordinator can boot. Downloads
 * are shared: concurrent and later requests for one image reuse the first
 * (a failed one is forgotten, so trying again downloads again).
 */
type LinuxSource = Extract<CatalogueImage['source'], { kind: 'linux' }>;

export class ImageLoader {
  private readonly downloads = new SharedDownloads<ImageSpec>();
  private readonly manifests = new SharedDownloads<ImageManifest>();
  /** The checked bytes behind each URL `publish` made (for CoordinatorOptions.imageBytes). */
  private readonly published = new Map<string, Uint8Array>();

  constructor(private readonly deps: ImageLoaderDeps) {}

  /** Resolves with the spec to boot; `onProgress` sees the download (if any) of this image. */
  prepare(image: CatalogueImage, onProgress?: ProgressListener): Promise<ImageSpec> {
    const source = image.source;
    if (source.kind === 'synthetic') return Promise.resolve({ kind: 'synthetic', synthetic: { ...source.spec } });
    return this.downloads.get(image.id, (report) => this.download(source, report), onProgress);
  }

  /**
   * The spec of a VM that a snapshot replaces before it boots (instant boot,
   * share links, clones): the server's URLs with the manifest's digests,
   * `lazy`, so the worker downloads and checks kernel and initrd only if the
   * guest boots or reboots. Downloads the manifest alone: the 2.7 MB of the
   * default image stay off the way to the prompt.
   */
  async describe(image: CatalogueImage): Promise<ImageSpec> {
    const source = image.source;
    if (source.kind === 'synthetic') return this.prepare(image);
    const manifest = await this.manifest(source);
    const [kernel, initrd] = imageFiles(manifest, source);
    const spec: ImageSpec = {
      kind: 'linux', kernelUrl: this.resolve(kernel!.path), initrdUrl: this.resolve(initrd!.path),
      kernelSha256: kernel!.entry.sha256, initrdSha256: initrd!.entry.sha256, lazy: true,
    };
    if (manifest.defaultCmdline !== undefined) spec.cmdline = manifest.defaultCmdline;
    return spec;
  }

  /** The bytes behind a URL this loader published, so the worker need not fetch them. */
  bytesFor(url: string): Uint8Array | undefined {
    return this.published.get(url);
  }

  private resolve(path: string): string {
    return new URL(path, this.deps.baseUrl).href;
  }

  /** The image's manifest, downloaded once (a failed download is tried again next time). */
  private manifest(source: LinuxSource): Promise<ImageManifest> {
    return this.manifests.get(source.manifest, async () => {
      const bytes = await downloadFile(this.deps.fetch, this.resolve(source.manifest), 'image manifest', () => undefined);
      return parseManifestBytes(bytes);
    });
  }

  private async download(source: LinuxSource, report: ProgressListener): Promise<ImageSpec> {
    const { deps } = this;
    report({ loaded: 0, total: undefined, current: 'image manifest' });
    // The manifest and both files at once: waiting for the manifest first put its round trip on
    // the way to every cold boot (a network round trip; from localhost it is within noise). The
    // manifest's sizes fill in totals the server does not send; its digests check the files.
    const arrived: { manifest?: ImageManifest } = {};
    const parts = linuxFiles(source).map((part) => ({ ...part, loaded: 0, total: undefined as number | undefined }));
    const overall = (current: string): DownloadProgress => {
      const totals = parts.map((part) => part.total ?? manifestEntry(arrived.manifest, part.path)?.size);
      const known = totals.every((total) => total !== undefined);
      return {
        loaded: parts.reduce((sum, part) => sum + part.loaded, 0),
        total: known ? totals.reduce((sum, total) => sum! + total!, 0) : undefined,
        current,
      };
    };
    const downloads = parts.map(async (part) => {
      const bytes = await downloadFile(deps.fetch, this.resolve(part.path), part.what, (loaded, total) => {
        part.loaded = loaded;
        part.total = total;
        report(overall(part.what));
      });
      return { bytes, digest: await deps.sha256(bytes) };
    });
    // Settled here, so a download that fails after a bad manifest is not an unhandled rejection.
    for (const download of downloads) download.catch(() => undefined);
    const manifest = await this.manifest(source);
    arrived.manifest = manifest;
    report(overall('image manifest'));
    const entries = imageFiles(manifest, source).map((file) => file.entry);
    const results = await Promise.all(downloads);
    results.forEach(({ bytes, digest }, i) => checkAgainstManifest(parts[i]!.what, bytes, digest, entries[i]!));
    // Published only when both are good, so a failed download leaves no blob URL behind.
    const urls = results.map((result) => deps.publish(result.bytes));
    urls.forEach((url, i) => this.published.set(url, results[i]!.bytes));
    const verified = results.map((result) => result.digest);
    const spec: ImageSpec = { kind: 'linux', kernelUrl: urls[0]!, initrdUrl: urls[1]! };
    // Verified here, so the worker need not hash the same bytes again (tens of ms on the boot's path).
    if (verified[0] !== undefined) spec.kernelSha256 = verified[0];
    if (verified[1] !== undefined) spec.initrdSha256 = verified[1];
    if (manifest.defaultCmdline !== undefined) spec.cmdline = manifest.defaultCmdline;
    return spec;
  }
}

/** The kernel and initrd of a Linux catalogue image. */
function linuxFiles(source: LinuxSource): { path: string; what: string }[] {
  return [
    { path: source.kernel, what: 'kernel image' },
    { path: source.initrd, what: 'initial RAM disk' },
  ];
}

/** The manifest's entry for a file (undefined until the manifest is there, or if it does not list the file). */
function manifestEntry(manifest: ImageManifest | undefined, path: string): ManifestFile | undefined {
  return manifest?.files.find((file) => file.name === fileName(path));
}

/** The kernel and initrd of a Linux catalogue image, with their manifest entries. */
function imageFiles(manifest: ImageManifest, source: LinuxSource): { path: string; what: string; entry: ManifestFile }[] {
  return linuxFiles(source).map((part) => {
    const entry = manifestEntry(manifest, part.path);
    if (!entry) throw new ImageError(`The image manifest does not list ${fileName(part.path)}.`);
    return { ...part, entry };
  });
}

function formatMiB(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
}
