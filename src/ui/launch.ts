/**
 * Makes the page's first VM as its URL asks (launch-params.ts): from the
 * instant-boot snapshot (the bare URL), from a share link or a snapshot URL,
 * or by booting the kernel (`?boot=cold`, and pages that pass no request,
 * like the embed page).
 *
 * A shared snapshot that cannot be loaded leaves its pending entry with the
 * sentence that says why (with Retry and Dismiss), and a VM of the default
 * image is made instead, so the page always has a working VM.
 */
import type { VmInfo } from '../vmm/vm-registry.ts';
import type { FetchFunction } from './image-loader.ts';
import { DEFAULT_IMAGE_ID, findImage } from './images.ts';
import type { InstantBootLoader } from './instant-boot.ts';
import type { LaunchRequest } from './launch-params.ts';
import { fragmentSource, instantBootSource, refusedSource, urlSource, type SnapshotSource } from './snapshot-sources.ts';
import type { CreateVmRequest, VmStore } from './vm-store.ts';

export interface LaunchDeps {
  store: VmStore;
  instantBoot: InstantBootLoader;
  fetch: FetchFunction;
}

/** Resolves as soon as the page's first VM exists (before it runs); rejects if none could be made. */
export function launchFirstVm(deps: LaunchDeps, launch: LaunchRequest | undefined, request: CreateVmRequest = {}): Promise<VmInfo> {
  const image = findImage(request.imageId ?? DEFAULT_IMAGE_ID);
  return new Promise<VmInfo>((resolve, reject) => {
    const create = (from: SnapshotSource | undefined): Promise<VmInfo> =>
      deps.store.create(request, { start: true, focus: true, onCreated: resolve, ...(from && { from }) });
    const instant = (): SnapshotSource | undefined => (image?.source.kind === 'linux' ? instantBootSource(deps.instantBoot, image) : undefined);
    let shared: SnapshotSource | undefined;
    switch (launch?.kind) {
      case undefined:
      case 'cold-boot':
        create(undefined).catch(reject);
        return;
      case 'instant-boot':
        create(instant()).catch(reject);
        return;
      case 'fragment':
        shared = image ? fragmentSource(launch.data, deps.instantBoot, image) : undefined;
        break;
      case 'url':
        shared = urlSource(launch.url, deps.fetch);
        break;
      case 'invalid':
        shared = refusedSource(launch.message);
        break;
    }
    create(shared).catch(() => create(instant()).catch(reject));
  });
}
