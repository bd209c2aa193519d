import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { downloadFile, ImageError, ImageLoader, parseManifest, type DownloadProgress, type ImageLoaderDeps } from './image-loader.ts';
import { findImage, IMAGES } from './images.ts';

const KERNEL = new Uint8Array(300_000).map((_, i) => i & 0xff);
const INITRD = new Uint8Array(100_000).map((_, i) => (i * 7) & 0xff);
const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

const MANIFEST = {
  files: [
    { name: 'bzImage', size: KERNEL.length, sha256: sha(KERNEL) },
    { name: 'initramfs.cpio.gz', size: INITRD.length, sha256: sha(INITRD) },
  ],
  defaultCmdline: 'console=ttyS0',
};

/** A response streamed in 64 KiB chunks, like a real server's. */
function streamed(bytes: Uint8Array, headers: Record<string, string> = { 'content-length': String(bytes.length) }): Response {
  let offset = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + 65536));
      offset += 65536;
    },
  });
  return new Response(body, { status: 200, headers });
}

function deps(files: Record<string, () => Response>, log: string[] = []): ImageLoaderDeps {
  return {
    baseUrl: 'http://example.test/app/',
    fetch: async (url) => {
      const path = new URL(url).pathname;
      log.push(path);
      const make = files[path];
      return make ? make() : new Response('not found', { status: 404 });
    },
    publish: (bytes) => `blob:test/${bytes.length}`,
    sha256: async (bytes) => sha(bytes),
  };
}

const goodFiles = (): Record<string, () => Response> => ({
  '/images/manifest.json': () => new Response(JSON.stringify(MANIFEST)),
  '/images/bzImage': () => streamed(KERNEL),
  '/images/initramfs.cpio.gz': () => streamed(INITRD, {}),
});

const linux = findImage('linux')!;

describe('ImageLoader', () => {
  test('synthetic images need no download', async () => {
    const loader = new ImageLoader(deps({}));
    await expect(loader.prepare(findImage('echo')!)).resolves.toMatchObject({ kind: 'synthetic', synthetic: { behaviour: 'idle' } });
  });

  test('where the platform cannot hash, the spec carries no digests (the worker hashes what it loads)', async () => {
    const loader = new ImageLoader({ ...deps(goodFiles()), sha256: async () => undefined });
    const spec = await loader.prepare(linux);
    expect(spec).toEqual({ kind: 'linux', kernelUrl: `blob:test/${KERNEL.length}`, initrdUrl: `blob:test/${INITRD.length}`, cmdline: 'console=ttyS0' });
  });

  test('keeps the checked bytes behind each blob URL it made, for the coordinator to hand to the worker', async () => {
    const loader = new ImageLoader(deps(goodFiles()));
    const spec = await loader.prepare(linux);
    if (spec.kind !== 'linux') throw new Error('expected a Linux spec');
    expect(loader.bytesFor(spec.kernelUrl)).toEqual(KERNEL);
    expect(loader.bytesFor(spec.initrdUrl!)).toEqual(INITRD);
    expect(loader.bytesFor('http://example.test/app/images/bzImage')).toBeUndefined();
  });

  test('a failed download publishes nothing, so there are no bytes to hand over', async () => {
    const files = goodFiles();
    files['/images/initramfs.cpio.gz'] = () => new Response('not found', { status: 404 });
    const loader = new ImageLoader(deps(files));
    await expect(loader.prepare(linux)).rejects.toThrow(ImageError);
    expect(loader.bytesFor(`blob:test/${KERNEL.length}`)).toBeUndefined();
  });

  test('downloads kernel and initrd with progress, verifies them and hands blob URLs to the worker', async () => {
    const progress: DownloadProgress[] = [];
    const loader = new ImageLoader(deps(goodFiles()));
    const spec = await loader.prepare(linux, (p) => progress.push(p));
    expect(spec).toEqual({
      kind: 'linux', kernelUrl: `blob:test/${KERNEL.length}`, initrdUrl: `blob:test/${INITRD.length}`, cmdline: 'console=ttyS0',
      kernelSha256: sha(KERNEL), initrdSha256: sha(INITRD),
    });
    // The initrd comes without a Content-Length: the total is known once the manifest (its size) is there.
    const total = KERNEL.length + INITRD.length;
    const manifestAt = progress.findIndex((p, i) => i > 0 && p.current === 'image manifest');
    expect(manifestAt).toBeGreaterThan(0);
    expect(progress.slice(manifestAt).every((p) => p.total === total)).toBe(true);
    expect(progress.every((p) => p.total === undefined || p.total === total)).toBe(true);
    expect(progress.map((p) => p.loaded)).toEqual([...progress.map((p) => p.loaded)].sort((a, b) => a - b));
    expect(progress.at(-1)).toMatchObject({ loaded: total, total });
    expect(new Set(progress.map((p) => p.current))).toEqual(new Set(['image manifest', 'kernel image', 'initial RAM disk']));
  });

  test('downloads kernel and initrd at the same time', async () => {
    // The kernel's response waits for the initrd's request (or, if that never comes while it waits, for a timer).
    let initrdRequested = (): void => {};
    const requested = new Promise<string>((resolve) => { initrdRequested = () => resolve('initrd requested'); });
    const files = goodFiles();
    const loader = new ImageLoader({
      ...deps(files),
      fetch: async (url) => {
        const path = new URL(url).pathname;
        if (path === '/images/bzImage') {
          const why = await Promise.race([requested, new Promise<string>((resolve) => setTimeout(() => resolve('timer'), 200))]);
          if (why !== 'initrd requested') throw new Error('the initrd was not requested while the kernel downloaded');
        }
        if (path === '/images/initramfs.cpio.gz') initrdRequested();
        return files[path]!();
      },
    });
    await expect(loader.prepare(linux)).resolves.toMatchObject({ kernelSha256: sha(KERNEL), initrdSha256: sha(INITRD) });
  });

  test('requests the manifest and both files at once (the manifest\'s round trip is not on the way to the boot)', async () => {
    // The manifest's response waits until both files are requested (or, if they never are while it waits, for a timer).
    const files = goodFiles();
    const requested = new Set<string>();
    let bothRequested = (): void => {};
    const both = new Promise<string>((resolve) => { bothRequested = () => resolve('both requested'); });
    const loader = new ImageLoader({
      ...deps(files),
      fetch: async (url) => {
        const path = new URL(url).pathname;
        requested.add(path);
        if (requested.has('/images/bzImage') && requested.has('/images/initramfs.cpio.gz')) bothRequested();
        if (path === '/images/manifest.json') {
          const why = await Promise.race([both, new Promise<string>((resolve) => setTimeout(() => resolve('timer'), 200))]);
          if (why !== 'both requested') throw new Error('the files were not requested while the manifest downloaded');
        }
        return files[path]!();
      },
    });
    await expect(loader.prepare(linux)).resolves.toMatchObject({ kernelSha256: sha(KERNEL), initrdSha256: sha(INITRD) });
  });

  test('one download serves every VM of the image', async () => {
    const log: string[] = [];
    const loader = new ImageLoader(deps(goodFiles(), log));
    const [a, b] = await Promise.all([loader.prepare(linux), loader.prepare(linux)]);
    await loader.prepare(linux);
    expect(a).toEqual(b);
    expect(log.sort()).toEqual(['/images/bzImage', '/images/initramfs.cpio.gz', '/images/manifest.json']);
  });

  test('describe: a VM a snapshot replaces gets the server\'s URLs and the manifest\'s digests, downloading the manifest alone', async () => {
    const log: string[] = [];
    const loader = new ImageLoader(deps(goodFiles(), log));
    const spec = await loader.describe(linux);
    expect(spec).toEqual({
      kind: 'linux', kernelUrl: 'http://example.test/images/bzImage', initrdUrl: 'http://example.test/images/initramfs.cpio.gz',
      kernelSha256: sha(KERNEL), initrdSha256: sha(INITRD), cmdline: 'console=ttyS0', lazy: true,
    });
    expect(log).toEqual(['/images/manifest.json']);
    // A later full download (a VM that boots) reuses the manifest.
    await loader.prepare(linux);
    expect(log).toEqual(['/images/manifest.json', '/images/bzImage', '/images/initramfs.cpio.gz']);
    await expect(new ImageLoader(deps({})).describe(linux)).rejects.toThrow('The image manifest could not be downloaded (404).');
  });

  test('a missing kernel is reported in plain language, and a retry downloads again', async () => {
    const files = goodFiles();
    const kernel = files['/images/bzImage']!;
    delete files['/images/bzImage'];
    const loader = new ImageLoader(deps(files));
    await expect(loader.prepare(linux)).rejects.toThrow(new ImageError('The kernel image could not be downloaded (404).'));
    files['/images/bzImage'] = kernel;
    await expect(loader.prepare(linux)).resolves.toMatchObject({ kind: 'linux' });
  });

  test('a damaged or truncated file is refused', async () => {
    const damaged = goodFiles();
    damaged['/images/initramfs.cpio.gz'] = () => streamed(INITRD.map((b) => b ^ 1));
    await expect(new ImageLoader(deps(damaged)).prepare(linux)).rejects.toThrow(
      'The initial RAM disk is damaged: its SHA-256 checksum does not match the manifest.',
    );
    const short = goodFiles();
    short['/images/bzImage'] = () => streamed(KERNEL.slice(0, 1000));
    await expect(new ImageLoader(deps(short)).prepare(linux)).rejects.toThrow(`The kernel image is incomplete: received 1000 of ${KERNEL.length} bytes.`);
  });

  test('network errors and bad manifests', async () => {
    const offline: ImageLoaderDeps = { ...deps({}), fetch: () => Promise.reject(new TypeError('Failed to fetch')) };
    await expect(new ImageLoader(offline).prepare(linux)).rejects.toThrow(
      'The image manifest could not be downloaded: the server did not answer (network error).',
    );
    const notJson = goodFiles();
    notJson['/images/manifest.json'] = () => new Response('<html>');
    await expect(new ImageLoader(deps(notJson)).prepare(linux)).rejects.toThrow('The image manifest is not usable: it is not valid JSON.');
    const unlisted = goodFiles();
    unlisted['/images/manifest.json'] = () => new Response(JSON.stringify({ files: [MANIFEST.files[0]] }));
    await expect(new ImageLoader(deps(unlisted)).prepare(linux)).rejects.toThrow('The image manifest does not list initramfs.cpio.gz.');
  });
});

describe('downloadFile', () => {
  test('uses the expected size when the server sends no Content-Length, and drops a total that turns out wrong', async () => {
    const seen: Array<number | undefined> = [];
    await downloadFile(async () => streamed(KERNEL, {}), 'http://x/k', 'kernel image', (_, total) => seen.push(total), KERNEL.length);
    expect(new Set(seen)).toEqual(new Set([KERNEL.length]));
    const totals: Array<number | undefined> = [];
    await downloadFile(async () => streamed(KERNEL, { 'content-length': '10' }), 'http://x/k', 'kernel image', (_, total) => totals.push(total));
    expect(totals.at(-1)).toBeUndefined();
  });
});

test('the shipped manifest parses and lists the default Linux files', async () => {
  const { readFile } = await import('node:fs/promises');
  const manifest = parseManifest(JSON.parse(await readFile(new URL('../../public/images/manifest.json', import.meta.url), 'utf8')));
  const source = linux.source;
  if (source.kind !== 'linux') throw new Error('the linux entry is not a linux image');
  for (const path of [source.kernel, source.initrd]) {
    expect(manifest.files.some((file) => path.endsWith(`/${file.name}`))).toBe(true);
  }
  expect(IMAGES.map((image) => image.id)).toContain('linux');
});
