/**
 * "Copy link": a URL that restores a VM's current state for whoever opens
 * it. The VM's snapshot is stored in the URL's fragment as a diff against
 * the shipped instant-boot snapshot (pages equal to it are left out), so a
 * VM that ran a few commands fits in a few KB; a state too large for a link
 * comes back as `too-large` with a hint to share the file by URL instead
 * (docs/snapshots.md, "Share links").
 */
import type { Coordinator } from '../vmm/coordinator.ts';
import { defaultImage } from './images.ts';
import { pageInstantBoot } from './instant-boot.ts';
import { buildShareLink, type ShareLinkResult } from './share-link-builder.ts';

export type { ShareLinkResult } from './share-link-builder.ts';

export async function createShareLink(coordinator: Coordinator, vmId: string): Promise<ShareLinkResult> {
  return buildShareLink({
    snapshot: () => coordinator.snapshot(vmId),
    base: async () => (await pageInstantBoot().load(defaultImage())).file,
    pageUrl: globalThis.location.href,
  });
}
