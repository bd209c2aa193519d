/**
 * Where a new VM's snapshot comes from: the instant-boot snapshot, a share
 * link's fragment, a `.tabvm` URL. Every bad input gives one sentence (an
 * ImageError) and nothing else; good input gives the file and its RAM size.
 */
import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { decodeSnapshot, encodeSnapshot, PAGE_SIZE, type SnapshotContent } from '../core/snapshot/format.ts';
import { encodeSnapshotDiff } from '../core/snapshot/snapshot-diff.ts';
import { toBase64Url } from './base64url.ts';
import { ImageError, type ImageLoaderDeps } from './image-loader.ts';
import { findImage } from './images.ts';
import { InstantBootLoader } from './instant-boot.ts';
import { SHARE_LINK_LIMIT } from './share-fragment.ts';
import type { DownloadProgress } from './shared-downloads.ts';
import { fragmentSource, instantBootSource, loadStartingState, urlSource, type SnapshotSource } from './snapshot-sources.ts';

const MiB = 1024 * 1024;
const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
/** A response with `bytes` as its body (copied: a body must own its buffer). */
const respond = (bytes: Uint8Array, init?: ResponseInit): Response => new Response(new Uint8Array(bytes), init);
const linux = findImage('linux')!;

function content(fill: number, ramMiB = 64): SnapshotContent {
  return {
    manifest: {
      createdAt: '2026-11-26T00:00:00.000Z',
      machine: { ramBytes: ramMiB * MiB },
      images: [{ name: 'bzImage', sha256: 'ab'.repeat(32), role: 'kernel' }],
      components: { cpu: { eip: fill } },
    },
    pageNumbers: Uint32Array.of(0, 5),
    pageData: new Uint8Array(2 * PAGE_SIZE).fill(fill),
  };
}

const base = await encodeSnapshot(content(1));
const target = await encodeSnapshot({ ...content(2), pageNumbers: Uint32Array.of(0, 5, 9), pageData: new Uint8Array(3 * PAGE_SIZE).fill(2) });
const diff = await encodeSnapshotDiff(target, base);

function deps(files: Record<string, () => Response>): ImageLoaderDeps {
  return {
    baseUrl: 'https://tabvisor.example/',
    fetch: async (url) => {
      const make = files[new URL(url).pathname];
      if (!make) return new Response('not found', { status: 404 });
      return make();
    },
    publish: () => 'blob:unused',
    sha256: async (bytes) => sha(bytes),
  };
}

function instantBootFiles(file = base, entry: Record<string, unknown> = {}): Record<string, () => Response> {
  const manifest = { files: [], instantBoot: { name: 'instant-boot.tabvm', size: file.length, sha256: sha(file), ramMiB: 64, ...entry } };
  return {
    '/images/manifest.json': () => new Response(JSON.stringify(manifest)),
    '/images/instant-boot.tabvm': () => respond(file, { headers: { 'content-length': String(file.length) } }),
  };
}

async function failure(source: SnapshotSource): Promise<string> {
  const error = await source.load(() => undefined).then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ImageError);
  return (error as ImageError).message;
}

describe('instant boot', () => {
  test('downloads the snapshot the manifest describes, with progress, once per page', async () => {
    let downloads = 0;
    const files = instantBootFiles();
    const loader = new InstantBootLoader(deps({ ...files, '/images/instant-boot.tabvm': () => (downloads++, files['/images/instant-boot.tabvm']!()) }));
    const progress: DownloadProgress[] = [];
    const loaded = await instantBootSource(loader, linux).load((p) => progress.push(p));
    expect(loaded).toEqual({ file: base, ramMiB: 64 });
    expect(progress.at(-1)).toEqual({ loaded: base.length, total: base.length, current: 'instant-boot snapshot' });
    await instantBootSource(loader, linux).load(() => undefined);
    expect(downloads).toBe(1);
  });

  test('a damaged or missing snapshot, or a manifest without one, is refused with a sentence', async () => {
    const damaged = base.slice();
    damaged[100]! ^= 1;
    const tampered = instantBootFiles(base);
    tampered['/images/instant-boot.tabvm'] = () => respond(damaged);
    expect(await failure(instantBootSource(new InstantBootLoader(deps(tampered)), linux))).toBe('The instant-boot snapshot is damaged: its SHA-256 checksum does not match the manifest.');
    const missing = instantBootFiles();
    delete missing['/images/instant-boot.tabvm'];
    expect(await failure(instantBootSource(new InstantBootLoader(deps(missing)), linux))).toBe('The instant-boot snapshot could not be downloaded (404).');
    const none = { '/images/manifest.json': () => new Response(JSON.stringify({ files: [] })) };
    expect(await failure(instantBootSource(new InstantBootLoader(deps(none)), linux))).toBe('The image manifest describes no instant-boot snapshot.');
  });

  test('a failure becomes a note and the VM boots its kernel; so does a VM of another RAM size', async () => {
    const broken = instantBootSource(new InstantBootLoader(deps({})), linux);
    expect(await loadStartingState(broken, undefined, () => undefined)).toEqual({
      note: 'Instant boot was not possible, so this VM booted from its kernel: The image manifest could not be downloaded (404).',
    });
    const good = instantBootSource(new InstantBootLoader(deps(instantBootFiles())), linux);
    expect(await loadStartingState(good, 32, () => undefined)).toEqual({
      note: 'Instant boot was not possible, so this VM booted from its kernel: The instant-boot snapshot is of a VM with 64 MiB of RAM, not 32 MiB.',
    });
    expect(await loadStartingState(good, 64, () => undefined)).toEqual({ loaded: { file: base, ramMiB: 64 } });
  });
});

describe('share link fragments', () => {
  const source = (data: string, file = base) => fragmentSource(data, new InstantBootLoader(deps(instantBootFiles(file))), linux);

  test('are rebuilt on the instant-boot snapshot into the snapshot that was shared', async () => {
    const loaded = await source(toBase64Url(diff)).load(() => undefined);
    expect(loaded.ramMiB).toBe(64);
    const rebuilt = await decodeSnapshot(loaded.file);
    const original = await decodeSnapshot(target);
    expect(rebuilt.manifest).toEqual(original.manifest);
    expect(Array.from(rebuilt.pageNumbers)).toEqual([0, 5, 9]);
    expect(rebuilt.pageData).toEqual(original.pageData);
  });

  test('bad fragments give one sentence each and never a VM', async () => {
    const flip = (at: number): string => {
      const bytes = diff.slice();
      bytes[at]! ^= 0x20;
      return toBase64Url(bytes);
    };
    const data = toBase64Url(diff);
    const otherVersion = diff.slice();
    new DataView(otherVersion.buffer).setUint16(8, 7, true);
    const notADiff = new TextEncoder().encode('TABVSNAP and then something else entirely, long enough for a header');
    const cases: Array<[string, string | RegExp]> = [
      ['', 'The share link is incomplete: there is nothing after “#snapshot=”.'],
      ['A'.repeat(SHARE_LINK_LIMIT + 1), `The share link is too long: its snapshot has ${SHARE_LINK_LIMIT + 1} characters, more than the ${SHARE_LINK_LIMIT} a link may have.`],
      [`${data.slice(0, 10)}%${data.slice(11)}`, 'The share link is damaged: character 11 ("%") is not base64url.'],
      [data.slice(0, 40), 'The share link is damaged: not a complete snapshot diff: 30 bytes is shorter than its 52-byte header.'],
      [data.slice(0, data.length - 8), /^The share link is damaged: the snapshot diff is truncated: \d+ of \d+ bytes present\.$/],
      [flip(diff.length - 3), 'The share link is damaged: the snapshot diff is damaged: its checksum does not match (it was changed or cut).'],
      [flip(0), 'The share link is damaged: not a tabvisor snapshot diff (the data does not start with "TABVDIFF").'],
      [toBase64Url(notADiff), 'The share link is damaged: not a tabvisor snapshot diff (the data does not start with "TABVDIFF").'],
      [toBase64Url(otherVersion), 'The share link was made with another version of tabvisor: snapshot diff format 7.0 is newer than this tabvisor reads (1.0).'],
      [flip(30), 'The share link was made with another version of tabvisor (for a different instant-boot snapshot), so it cannot be opened here. Ask for the snapshot file instead.'],
    ];
    for (const [fragment, message] of cases) {
      const text = await failure(source(fragment));
      if (typeof message === 'string') expect(text).toBe(message);
      else expect(text).toMatch(message);
    }
  });

  test('a link made against another instant-boot snapshot is refused', async () => {
    const otherBase = await encodeSnapshot(content(3));
    expect(await failure(source(toBase64Url(diff), otherBase))).toMatch(/^The share link was made with another version of tabvisor \(for a different instant-boot snapshot\)/);
  });
});

describe('snapshot URLs', () => {
  const at = 'https://files.example/vm.tabvm';
  const serve = (make: () => Response) => async (url: string): Promise<Response> => {
    expect(url).toBe(at);
    return make();
  };

  test('a good file is downloaded with progress and checked', async () => {
    const progress: DownloadProgress[] = [];
    const loaded = await urlSource(at, serve(() => respond(target))).load((p) => progress.push(p));
    expect(loaded).toEqual({ file: target, ramMiB: 64 });
    expect(progress.at(-1)).toMatchObject({ loaded: target.length, current: 'shared snapshot' });
  });

  test('network and CORS failures, missing files, server errors and oversized files are explained', async () => {
    const refused = urlSource(at, async () => {
      throw new TypeError('Failed to fetch');
    });
    expect(await failure(refused)).toBe(
      `The snapshot at ${at} could not be downloaded: the server did not answer, or it does not let this page read the file (a server on another site must send Access-Control-Allow-Origin).`,
    );
    expect(await failure(urlSource(at, serve(() => new Response('no', { status: 404 }))))).toBe(`There is no snapshot at ${at} (404).`);
    expect(await failure(urlSource(at, serve(() => new Response('oops', { status: 503 }))))).toBe(`The snapshot at ${at} could not be downloaded (503).`);
    // Said to be too large up front, and too large as it streams in (no Content-Length).
    expect(await failure(urlSource(at, serve(() => respond(target, { headers: { 'content-length': String(3 * MiB) } })), 2 * MiB))).toBe(
      'The shared snapshot is larger than the limit of 2.0 MiB.',
    );
    const stream = () => new Response(new ReadableStream({ pull: (c) => c.enqueue(new Uint8Array(4096)) }));
    expect(await failure(urlSource(at, serve(stream), 2 * MiB))).toBe('The shared snapshot is larger than the limit of 2.0 MiB.');
  });

  test('files that are not sound snapshots are refused with the reason', async () => {
    const flipped = target.slice();
    flipped[target.length - 10]! ^= 1;
    const newer = target.slice();
    new DataView(newer.buffer).setUint16(8, 9, true);
    const cases: Array<[Uint8Array, RegExp]> = [
      [target.subarray(0, 20), /not a complete snapshot: 20 bytes is shorter than the 32-byte header\.$/],
      [target.subarray(0, target.length - 1), /snapshot is truncated: \d+ of \d+ bytes present\.$/],
      [flipped, /snapshot is damaged: its checksum does not match \(the file was changed or cut\)\.$/],
      [new TextEncoder().encode('<!doctype html><title>Not found</title><p>sorry</p>'), /not a tabvisor snapshot \(the file does not start with "TABVSNAP"\)\.$/],
      [newer, /snapshot format 9\.\d+\.\d+ is newer than this tabvisor reads \(\d+\.\d+\.\d+\): update tabvisor\.$/],
    ];
    for (const [file, message] of cases) {
      const text = await failure(urlSource(at, serve(() => respond(file))));
      expect(text.startsWith(`The file at ${at} is not a snapshot tabvisor can restore: `)).toBe(true);
      expect(text).toMatch(message);
    }
  });
});
