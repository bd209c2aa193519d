/**
 * The kernel and initrd of a Linux VM: loaded when the VM is made, or, for a
 * VM that a snapshot replaces at once (instant boot, share links) and whose
 * spec is `lazy`, only when the guest first needs them: a boot after a
 * restore that did not happen, or a reboot. Nobody has checked lazy images
 * yet, so they are checked here against the digests the spec brings (the
 * image manifest's).
 */
import { prepareInitrd } from '../../core/boot/initrd.ts';
import type { GuestConfig } from '../shared/protocol.ts';

export type LinuxImageSpec = Extract<GuestConfig['image'], { kind: 'linux' }>;

/** Loads image bytes: fetch() in browsers and Node, file reads in tests. */
export type ByteLoader = (url: string) => Promise<Uint8Array>;

/** What a boot loads into RAM: the kernel as is, the initrd prepared (unpacked). */
export interface LinuxBootImages {
  kernel: Uint8Array;
  initrd?: Uint8Array;
}

/** Downloads an image with a clear error (status, URL) instead of a bare network failure. */
export const fetchBytes: ByteLoader = async (url) => {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new Error(`the image ${url} could not be downloaded: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (!response.ok) throw new Error(`the image ${url} could not be downloaded (HTTP ${response.status})`);
  return new Uint8Array(await response.arrayBuffer());
};

/** Lower-case hex SHA-256 of `bytes` (WebCrypto: browsers and Node). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new Error('SHA-256 is not available here (no crypto.subtle)');
  const digest = new Uint8Array(await subtle.digest('SHA-256', new Uint8Array(bytes)));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
}

/** The file name of an image URL (its last path segment), the name a snapshot records. */
export function imageName(url: string): string {
  const path = url.split(/[?#]/)[0]!;
  return path.slice(path.lastIndexOf('/') + 1) || url;
}

/** A lazy spec must name the digests its images are checked against. */
export function isLazySpec(spec: LinuxImageSpec): boolean {
  return spec.lazy === true && spec.kernelSha256 !== undefined && (spec.initrdUrl === undefined || spec.initrdSha256 !== undefined);
}

/**
 * Downloads and prepares the images with their SHA-256. A lazy spec's
 * digests are checked; otherwise digests the spec brings are taken as
 * they are (whoever published the URLs checked those bytes) and missing
 * ones are computed.
 */
export async function loadLinuxImages(spec: LinuxImageSpec, load: ByteLoader): Promise<LinuxBootImages & { kernelSha256: string; initrdSha256?: string }> {
  const [kernel, packedInitrd] = await Promise.all([
    load(spec.kernelUrl),
    spec.initrdUrl === undefined ? Promise.resolve(undefined) : load(spec.initrdUrl),
  ]);
  const lazy = isLazySpec(spec);
  const digest = async (bytes: Uint8Array, given: string | undefined, what: string, url: string): Promise<string> => {
    if (given !== undefined && !lazy) return given;
    const actual = await sha256Hex(bytes);
    if (given !== undefined && actual !== given) throw new Error(`the ${what} ${imageName(url)} is not the one this VM was made from (its SHA-256 does not match the image manifest)`);
    return actual;
  };
  const [initrd, kernelSha256, initrdSha256] = await Promise.all([
    packedInitrd && prepareInitrd(packedInitrd),
    digest(kernel, spec.kernelSha256, 'kernel image', spec.kernelUrl),
    packedInitrd && digest(packedInitrd, spec.initrdSha256, 'initial RAM disk', spec.initrdUrl!),
  ]);
  return { kernel, kernelSha256, ...(initrd !== undefined && { initrd }), ...(initrdSha256 !== undefined && { initrdSha256 }) };
}

/**
 * The images of one VM, loaded at most once: given at creation, or loaded
 * on `request()`. Callers that run synchronously (a slice) ask, wait a
 * little and look again; a failure stays, with its sentence.
 */
export class LinuxImageSource {
  private loaded: LinuxBootImages | undefined;
  private problem: string | undefined;
  private loading = false;

  constructor(private readonly spec: LinuxImageSpec, private readonly load: ByteLoader, loaded?: LinuxBootImages) {
    this.loaded = loaded;
  }

  /** The images, once loaded. */
  get images(): LinuxBootImages | undefined {
    return this.loaded;
  }

  /** Why they could not be loaded, if that is what happened. */
  get failure(): string | undefined {
    return this.problem;
  }

  /** Starts loading them, unless they are there, under way, or failed. */
  request(): void {
    if (this.loaded !== undefined || this.problem !== undefined || this.loading) return;
    this.loading = true;
    loadLinuxImages(this.spec, this.load).then(
      (images) => { this.loaded = images; },
      (e: unknown) => { this.problem = `the VM's images could not be loaded: ${e instanceof Error ? e.message : String(e)}`; },
    ).finally(() => { this.loading = false; });
  }
}
