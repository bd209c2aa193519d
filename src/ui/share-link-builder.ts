/**
 * Builds a share link from a VM's snapshot and the instant-boot snapshot it
 * is a diff against (share-link.ts wires it to the page; this part takes its
 * inputs as functions so tests can give their own).
 */
import { SnapshotError } from '../core/snapshot/errors.ts';
import { encodeSnapshotDiff } from '../core/snapshot/snapshot-diff.ts';
import { pageBaseUrl, SHARE_LINK_LIMIT, shareLinkUrl, SNAPSHOT_PARAM } from './share-fragment.ts';

export type ShareLinkResult =
  | { kind: 'fragment'; url: string; bytes: number }
  | { kind: 'too-large'; bytes: number; limit: number; hint: string };

export interface ShareLinkInputs {
  /** The VM's `.tabvm` snapshot, taken now. */
  snapshot(): Promise<Uint8Array>;
  /** The instant-boot snapshot file of the default image. */
  base(): Promise<Uint8Array>;
  /** The page the link opens (its query and fragment are dropped). */
  pageUrl: string;
  /** Longest link (default SHARE_LINK_LIMIT). */
  limit?: number;
}

export async function buildShareLink(inputs: ShareLinkInputs): Promise<ShareLinkResult> {
  const limit = inputs.limit ?? SHARE_LINK_LIMIT;
  const [file, base] = await Promise.all([inputs.snapshot(), inputs.base()]);
  let diff: Uint8Array;
  try {
    diff = await encodeSnapshotDiff(file, base);
  } catch (e) {
    if (e instanceof SnapshotError && e.code === 'incompatible') {
      throw new Error('only VMs of the default image can be shared as a link (links are built on its instant-boot snapshot): export the snapshot as a file instead', { cause: e });
    }
    throw e;
  }
  const url = shareLinkUrl(inputs.pageUrl, diff);
  if (url.length <= limit) return { kind: 'fragment', url, bytes: url.length };
  return {
    kind: 'too-large',
    bytes: url.length,
    limit,
    // What to do instead; `bytes` and `limit` say why (the panel words them itself).
    hint:
      'Export the snapshot as a .tabvm file, put it on a web server that allows cross-origin requests (Access-Control-Allow-Origin), ' +
      `and share ${pageBaseUrl(inputs.pageUrl)}?${SNAPSHOT_PARAM}=<the file's URL>.`,
  };
}
