/**
 * Where a share link keeps its snapshot: `#snapshot=<base64url>` after the
 * playground's URL (the fragment never reaches a server), and how long such a
 * link may be.
 */
import { toBase64Url } from './base64url.ts';

export const SNAPSHOT_PARAM = 'snapshot';

/**
 * Longest share link "Copy link" makes and a page accepts, in characters.
 * Chromium opens URLs up to 2 MiB (measured: 2,097,152 characters open,
 * one more does not), but links are pasted into chats, mails and issue
 * trackers, several of which cut or refuse far shorter ones; 64 KiB holds a
 * VM after a few commands (docs/snapshots.md has the measured sizes) and
 * stays pasteable in most places. Larger states are shared as files
 * (`?snapshot=<url>`).
 */
export const SHARE_LINK_LIMIT = 64 * 1024;

/** The share link for `diff` on the page at `pageUrl` (its query and fragment are dropped). */
export function shareLinkUrl(pageUrl: string, diff: Uint8Array): string {
  return `${pageBaseUrl(pageUrl)}#${SNAPSHOT_PARAM}=${toBase64Url(diff)}`;
}

/** The page URL without query and fragment: what share links and `?snapshot=` links are built on. */
export function pageBaseUrl(pageUrl: string): string {
  const url = new URL(pageUrl);
  url.search = '';
  url.hash = '';
  return url.href;
}

