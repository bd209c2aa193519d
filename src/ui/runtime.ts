/**
 * Everything a page needs to run VMs: the coordinator on a browser host, the
 * image loader, the UI store and the scripting API. The playground and the
 * embed page each make one at start-up, outside React (so StrictMode's double
 * effects never create a second default VM).
 */
import { Coordinator } from '../vmm/coordinator.ts';
import { createBrowserHost } from '../vmm/host/browser-host.ts';
import { SnapshotStore } from '../vmm/snapshot-store.ts';
import { idbSnapshotBackend } from '../vmm/snapshot-store-idb.ts';
import type { ChannelMode } from '../vmm/shared/protocol.ts';
import type { VmInfo } from '../vmm/vm-registry.ts';
import { browserImageLoaderDeps, ImageLoader } from './image-loader.ts';
import { createScriptingApi, type TabvisorApi } from './scripting-api.ts';
import { SnapshotLibrary } from './snapshot-library.ts';
import { VmStore, type CreateVmRequest } from './vm-store.ts';
import { pageInstantBoot } from './instant-boot.ts';
import { launchFirstVm } from './launch.ts';
import type { LaunchRequest } from './launch-params.ts';

/** Frames all VMs of a tab may hold together (the host pool shown in the host panel). */
export const POOL_LIMIT_MIB = 1024;

export interface Runtime {
  readonly coordinator: Coordinator;
  readonly store: VmStore;
  readonly api: TabvisorApi;
  /** Saved snapshots (IndexedDB), shared by the snapshot panels and the API. */
  readonly snapshots: SnapshotLibrary;
  readonly isolated: boolean;
  readonly channelMode: ChannelMode;
  readonly poolLimitMiB: number;
  /** The default VM, once it exists; rejects (with a sentence for the UI) if it could not be made. */
  readonly defaultVm: Promise<VmInfo>;
}

export interface RuntimeOptions {
  /** The VM made at start-up (image, name). */
  defaultVm?: CreateVmRequest;
  /** How to start it (the playground's URL, launch-params.ts); default: boot its kernel. */
  launch?: LaunchRequest;
  /** New VMs compile hot guest code to WebAssembly (default true; `?jit=0` turns it off: readJitDefault). */
  jit?: boolean;
}

export function createRuntime(options: RuntimeOptions = {}): Runtime {
  const host = createBrowserHost();
  const images = new ImageLoader(browserImageLoaderDeps());
  const coordinator = new Coordinator(host, { poolLimitMiB: POOL_LIMIT_MIB, prewarmWorker: true, imageBytes: (url) => images.bytesFor(url) });
  const store = new VmStore(coordinator, images, { jit: options.jit ?? true });
  const snapshots = new SnapshotLibrary(coordinator, store, () => new SnapshotStore(idbSnapshotBackend()));
  void snapshots.load();
  // Settles as soon as the VM exists (before it has booted), or when it could not be made.
  const defaultVm = launchFirstVm({ store, instantBoot: pageInstantBoot(), fetch: (url) => globalThis.fetch(url) }, options.launch, options.defaultVm);
  defaultVm.catch(() => undefined);
  const ready = defaultVm.then(() => undefined);
  ready.catch(() => undefined);
  window.addEventListener('pagehide', (event) => {
    if (!event.persisted) void coordinator.dispose();
  });
  return {
    coordinator,
    store,
    api: createScriptingApi(coordinator, store, ready, snapshots),
    snapshots,
    isolated: host.sharedMemory,
    channelMode: coordinator.channelMode,
    poolLimitMiB: POOL_LIMIT_MIB,
    defaultVm,
  };
}
