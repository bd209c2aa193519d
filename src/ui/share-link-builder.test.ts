/**
 * "Copy link": the link holds the VM's snapshot as a diff against the
 * instant-boot snapshot and opens this page; a state too large for a link
 * says so, with how to share the file instead.
 */
import { describe, expect, test } from 'vitest';
import { decodeSnapshot, encodeSnapshot, PAGE_SIZE, type SnapshotContent } from '../core/snapshot/format.ts';
import { applySnapshotDiff } from '../core/snapshot/snapshot-diff.ts';
import { fromBase64Url } from './base64url.ts';
import { readLaunchRequest } from './launch-params.ts';
import { buildShareLink } from './share-link-builder.ts';
import { SHARE_LINK_LIMIT } from './share-fragment.ts';

function content(fill: number, kernelSha = 'ab'.repeat(32)): SnapshotContent {
  return {
    manifest: {
      createdAt: '2026-11-26T00:00:00.000Z',
      machine: { ramBytes: 64 * 1024 * 1024 },
      images: [{ name: 'bzImage', sha256: kernelSha, role: 'kernel' }],
      components: { cpu: { eip: fill } },
    },
    pageNumbers: Uint32Array.of(3, 4),
    pageData: new Uint8Array(2 * PAGE_SIZE).map((_, i) => (i < PAGE_SIZE ? 1 : fill)),
  };
}

const base = await encodeSnapshot(content(1));
const target = await encodeSnapshot(content(9));
const inputs = { snapshot: async () => target, base: async () => base, pageUrl: 'https://tabvisor.example/play/?boot=cold#old' };

describe('buildShareLink', () => {
  test('a small state becomes a fragment link to this page that rebuilds exactly the snapshot taken', async () => {
    const result = await buildShareLink(inputs);
    if (result.kind !== 'fragment') throw new Error(`expected a fragment link, got ${JSON.stringify(result)}`);
    expect(result.url.startsWith('https://tabvisor.example/play/#snapshot=')).toBe(true);
    expect(result.bytes).toBe(result.url.length);
    expect(result.bytes).toBeLessThan(SHARE_LINK_LIMIT);
    const launch = readLaunchRequest(result.url);
    if (launch.kind !== 'fragment') throw new Error('the link is not read back as a share link');
    const rebuilt = await applySnapshotDiff(fromBase64Url(launch.data), base);
    const original = await decodeSnapshot(target);
    expect(rebuilt.manifest).toEqual(original.manifest);
    expect(rebuilt.pageData).toEqual(original.pageData);
  });

  test('a state larger than the limit is not a link: the hint says to host the file and use ?snapshot=', async () => {
    const result = await buildShareLink({ ...inputs, limit: 60 });
    expect(result).toMatchObject({ kind: 'too-large', limit: 60 });
    if (result.kind !== 'too-large') return;
    expect(result.bytes).toBeGreaterThan(60);
    expect(result.hint).toBe(
      'Export the snapshot as a .tabvm file, put it on a web server that allows cross-origin requests (Access-Control-Allow-Origin), ' +
        "and share https://tabvisor.example/play/?snapshot=<the file's URL>.",
    );
  });

  test('a VM of other images than the instant-boot snapshot cannot be shared as a link', async () => {
    const other = await encodeSnapshot(content(9, 'cd'.repeat(32)));
    await expect(buildShareLink({ ...inputs, snapshot: async () => other })).rejects.toThrow(
      'only VMs of the default image can be shared as a link (links are built on its instant-boot snapshot): export the snapshot as a file instead',
    );
  });
});
