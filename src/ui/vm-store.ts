/**
 * The UI's view of the coordinator: a snapshot of the VM list for React
 * (useSyncExternalStore), plus what only the UI knows: VMs whose image is
 * still downloading, which catalogue image each VM was made from, operations
 * in flight, the last failed operation per VM and which console should take
 * the focus.
 *
 * Every way of creating a VM (the dialog, window.tabvisor, the embed page)
 * goes through `create`, so all of them show download progress and errors.
 */
import type { Coordinator } from '../vmm/coordinator.ts';
import type { Disposable } from '../vmm/events.ts';
import type { VmInfo } from '../vmm/vm-registry.ts';
import { ImageError, type DownloadProgress, type ImageLoader } from './image-loader.ts';
import { DEFAULT_IMAGE_ID, findImage, IMAGES } from './images.ts';
import type { VmAction } from './vm-actions.ts';
import { coldBootNote, loadStartingState, type SnapshotSource, type StartingState } from './snapshot-sources.ts';

/** How often download progress may re-render the views. */
const PROGRESS_INTERVAL_MS = 100;

export interface CreateVmRequest {
  name?: string;
  ramMiB?: number;
  cpuWeight?: number;
  cpuCapPercent?: number;
  memoryBudgetMiB?: number;
  /** Catalogue id (images.ts); default DEFAULT_IMAGE_ID. */
  imageId?: string;
  /** Compile hot guest code to WebAssembly (src/core/jit); default: the store's `jit` option (on). */
  jit?: boolean;
}

export interface VmStoreDefaults {
  /** Whether new VMs compile hot code to WebAssembly when the request does not say (default true). */
  jit?: boolean;
}

export interface CreateVmOptions {
  /** Boot it right away (default true). */
  start?: boolean;
  /** Give its console the keyboard focus once it appears. */
  focus?: boolean;
  /** Called as soon as the coordinator knows the VM (before it has booted). */
  onCreated?: (info: VmInfo) => void;
  /**
   * Start from this snapshot instead of the kernel's boot (instant boot, share
   * links; snapshot-sources.ts). It is loaded next to the image, with progress.
   */
  from?: SnapshotSource;
}

export interface PendingVm {
  readonly key: number;
  readonly name: string | undefined;
  readonly imageLabel: string;
  readonly progress: DownloadProgress | undefined;
  /** Why it could not be created, in plain language. */
  readonly error: string | undefined;
}

export interface StoreSnapshot {
  readonly vms: readonly VmInfo[];
  readonly pending: readonly PendingVm[];
  /** VM ids with an operation in flight (their buttons wait). */
  readonly busy: ReadonlySet<string>;
  /** The last failed operation per VM id, in plain language. */
  readonly failures: ReadonlyMap<string, string>;
  /** The console that should take the focus; `seq` changes with every request. */
  readonly focus: { readonly id: string; readonly seq: number } | undefined;
}

interface PendingRecord {
  key: number;
  request: CreateVmRequest;
  options: CreateVmOptions;
  name: string | undefined;
  imageLabel: string;
  progress: DownloadProgress | undefined;
  error: string | undefined;
}

export class VmStore implements Disposable {
  private readonly listeners = new Set<() => void>();
  private progressTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly imageIds = new Map<string, string>();
  private readonly pendingRecords = new Map<number, PendingRecord>();
  private readonly busyIds = new Set<string>();
  private readonly failureTexts = new Map<string, string>();
  private focusRequest: StoreSnapshot['focus'];
  private focusSeq = 0;
  private nextKey = 1;
  private current: StoreSnapshot;
  private readonly subscription: Disposable;

  constructor(
    readonly coordinator: Coordinator,
    private readonly images: ImageLoader,
    private readonly defaults: VmStoreDefaults = {},
  ) {
    this.current = this.build();
    this.subscription = coordinator.onStateChange((change) => {
      if (change.to === 'deleted') {
        this.imageIds.delete(change.id);
        this.failureTexts.delete(change.id);
      }
      this.changed();
    });
  }

  /** Whether a new VM compiles hot code when its request does not say. */
  get jitDefault(): boolean {
    return this.defaults.jit ?? true;
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly getSnapshot = (): StoreSnapshot => this.current;

  /** The catalogue image a VM was made from (undefined for VMs created behind the UI's back). */
  imageIdOf(id: string): string | undefined {
    return this.imageIds.get(id);
  }

  /** Finds a VM by id, or else by name. */
  resolve(ref: string): VmInfo {
    const vms = this.coordinator.list();
    const byId = vms.find((vm) => vm.id === ref);
    if (byId) return byId;
    const byName = vms.filter((vm) => vm.config.name === ref);
    if (byName.length === 1) return byName[0]!;
    if (byName.length > 1) throw new Error(`several VMs are called “${ref}”: use the id (${byName.map((vm) => vm.id).join(', ')})`);
    throw new Error(`there is no VM called “${ref}”`);
  }

  /** Names and ids that a new VM's name must not repeat (including VMs still downloading). */
  takenNames(): Set<string> {
    const taken = new Set<string>();
    for (const vm of this.coordinator.list()) {
      taken.add(vm.id);
      taken.add(vm.config.name);
    }
    for (const record of this.pendingRecords.values()) if (record.name) taken.add(record.name);
    return taken;
  }

  /**
   * Prepares the image (download with progress, shown as a pending VM),
   * creates the VM and, unless `start` is false, boots it. Resolves when it is
   * booted (running, or failed with a reason); rejects if it could not be
   * created (the pending entry then shows why, with Retry and Dismiss).
   */
  create(request: CreateVmRequest, options: CreateVmOptions = {}): Promise<VmInfo> {
    const imageId = request.imageId ?? DEFAULT_IMAGE_ID;
    const image = findImage(imageId);
    if (!image) return Promise.reject(new Error(`there is no image “${imageId}” (known: ${this.imageList()})`));
    const name = request.name?.trim() || undefined;
    if (name !== undefined && this.takenNames().has(name)) {
      return Promise.reject(new Error(`there is already a VM called “${name}”`));
    }
    const record: PendingRecord = {
      key: this.nextKey++,
      request: { ...request, imageId },
      options,
      name,
      imageLabel: image.label,
      progress: undefined,
      error: undefined,
    };
    return this.attempt(record);
  }

  /** Tries a failed pending VM again. */
  retry(key: number): void {
    const record = this.pendingRecords.get(key);
    if (!record || record.error === undefined) return;
    record.error = undefined;
    record.progress = undefined;
    this.attempt(record).catch(() => undefined);
  }

  dismiss(key: number): void {
    if (this.pendingRecords.delete(key)) this.changed();
  }

  /**
   * A new VM restored from a `.tabvm` file (coordinator.clone), booted from
   * catalogue image `imageId` (the snapshot's VM must have been booted from
   * it). Resolves once it runs from the snapshot's state; rejects with the
   * reason if it could not be made (the VM then shows it as failed).
   */
  async cloneFromSnapshot(file: Uint8Array, request: CreateVmRequest & { name: string }): Promise<VmInfo> {
    const { imageId = DEFAULT_IMAGE_ID, ...resources } = request;
    const image = findImage(imageId);
    if (!image) throw new Error(`there is no image “${imageId}” (known: ${this.imageList()})`);
    const name = request.name.trim();
    if (this.takenNames().has(name)) throw new Error(`there is already a VM called “${name}”`);
    const spec = await this.images.describe(image);
    const cloning = this.coordinator.clone(file, { ...resources, name, image: spec });
    // The coordinator registers the VM before it restores it: remember its image now, so every view shows it from the start.
    const made = this.coordinator.list().find((vm) => vm.config.name === name);
    if (made) this.imageIds.set(made.id, image.id);
    this.changed();
    const info = await cloning;
    this.imageIds.set(info.id, image.id);
    this.changed();
    return info;
  }

  /**
   * Runs a lifecycle operation; a failure is kept (in plain language) for the VM's list entry.
   * `fromSnapshot`: a start restores this `.tabvm` instead of booting the kernel.
   */
  async run(id: string, action: VmAction, fromSnapshot?: Uint8Array): Promise<void> {
    const coordinator = this.coordinator;
    this.busyIds.add(id);
    this.failureTexts.delete(id);
    this.changed();
    try {
      switch (action) {
        case 'start':
          await coordinator.start(id, fromSnapshot);
          break;
        case 'pause':
          await coordinator.pause(id);
          break;
        case 'resume':
          await coordinator.resume(id);
          break;
        case 'reset':
          await coordinator.reset(id);
          break;
        case 'stop':
          await coordinator.stop(id);
          break;
        case 'delete':
          await coordinator.deleteVm(id);
          break;
      }
    } catch (error) {
      if (coordinator.list().some((vm) => vm.id === id)) {
        this.failureTexts.set(id, `${capitalize(action)} did not work: ${messageOf(error)}`);
      }
      throw error;
    } finally {
      this.busyIds.delete(id);
      this.changed();
    }
  }

  /** Changes CPU share and memory budget of a VM (effective at once). */
  configure(id: string, settings: { cpuWeight: number; cpuCapPercent: number; memoryBudgetMiB: number }): void {
    try {
      this.coordinator.setCpu(id, { weight: settings.cpuWeight, capPercent: settings.cpuCapPercent });
      this.coordinator.setMemoryBudget(id, settings.memoryBudgetMiB);
      this.failureTexts.delete(id);
    } catch (error) {
      this.failureTexts.set(id, `The new settings were not applied: ${messageOf(error)}`);
    }
    this.changed();
  }

  requestFocus(id: string): void {
    this.focusRequest = { id, seq: ++this.focusSeq };
    this.changed();
  }

  dispose(): void {
    if (this.progressTimer !== undefined) clearTimeout(this.progressTimer);
    this.subscription.dispose();
    this.listeners.clear();
  }

  private async attempt(record: PendingRecord): Promise<VmInfo> {
    const { request, options } = record;
    const image = findImage(request.imageId!)!;
    this.pendingRecords.set(record.key, record);
    this.changed();
    let info: VmInfo;
    let starting: StartingState;
    try {
      const progress = (p: DownloadProgress): void => {
        record.progress = p;
        this.progressChanged();
      };
      // A VM that a snapshot replaces before it boots gets a lazy spec (image-loader.ts describe): only
      // the snapshot is downloaded on the way to its prompt. If there is no snapshot to restore after
      // all (instant boot falls back to booting the kernel), the images are downloaded here.
      const [described, state] = await Promise.all([
        options.from ? this.images.describe(image) : this.images.prepare(image, progress),
        loadStartingState(options.from, request.ramMiB, progress),
      ]);
      const spec = options.from && !state.loaded ? await this.images.prepare(image, progress) : described;
      starting = state;
      const ramMiB = request.ramMiB ?? starting.loaded?.ramMiB;
      const config = {
        image: spec,
        ...(record.name !== undefined && { name: record.name }),
        ...(ramMiB !== undefined && { ramMiB }),
        ...(request.cpuWeight !== undefined && { cpuWeight: request.cpuWeight }),
        ...(request.cpuCapPercent !== undefined && { cpuCapPercent: request.cpuCapPercent }),
        ...(request.memoryBudgetMiB !== undefined && { memoryBudgetMiB: request.memoryBudgetMiB }),
        jit: request.jit ?? this.jitDefault,
      };
      info = this.coordinator.createVm(config);
    } catch (error) {
      record.error = error instanceof ImageError ? error.message : `The VM could not be created: ${messageOf(error)}`;
      this.changed();
      throw new Error(record.error, { cause: error });
    }
    this.pendingRecords.delete(record.key);
    this.imageIds.set(info.id, image.id);
    if (options.focus) this.focusRequest = { id: info.id, seq: ++this.focusSeq };
    this.changed();
    options.onCreated?.(info);
    if (options.start !== false) await this.startNew(info.id, options.from, starting);
    return this.coordinator.get(info.id);
  }

  /**
   * Starts a new VM from its loaded snapshot, or else boots its kernel. A
   * snapshot that does not restore leaves a shared VM failed with the reason;
   * an instant-boot VM boots its kernel instead. Either way a note says why.
   */
  private async startNew(id: string, from: SnapshotSource | undefined, starting: StartingState): Promise<void> {
    let note = starting.note;
    if (from && starting.loaded) {
      await this.run(id, 'start', starting.loaded.file).catch(() => undefined);
      const after = this.coordinator.get(id);
      if (after.state !== 'error') {
        // The console is new and the restored shell printed its prompt long ago: Ctrl-L (clear
        // screen, in BusyBox's line editing) makes it draw the prompt again, without running anything.
        if (from.promptAfterRestore) await this.coordinator.send(id, '\f').catch(() => undefined);
        return;
      }
      const why = `the ${from.what} did not restore (${after.reason ?? 'unknown error'}).`;
      if (!from.coldBootFallback) {
        this.failureTexts.set(id, `The VM could not start: ${why} Start boots it from its kernel instead.`);
        this.changed();
        return;
      }
      note = coldBootNote(why.charAt(0).toUpperCase() + why.slice(1));
    }
    await this.run(id, 'start').catch(() => undefined);
    if (note !== undefined) {
      this.failureTexts.set(id, note);
      this.changed();
    }
  }

  private imageList(): string {
    return IMAGES.map((image) => image.id).join(', ');
  }

  private changed(): void {
    if (this.progressTimer !== undefined) {
      clearTimeout(this.progressTimer);
      this.progressTimer = undefined;
    }
    this.current = this.build();
    for (const listener of [...this.listeners]) listener();
  }

  /**
   * Download progress changed: tell the views at most every PROGRESS_INTERVAL_MS.
   * Every chunk of a download used to re-render the page, which kept the main
   * thread busy enough to slow the downloads and the start of the first VM.
   */
  private progressChanged(): void {
    this.progressTimer ??= setTimeout(() => {
      this.progressTimer = undefined;
      this.changed();
    }, PROGRESS_INTERVAL_MS);
  }

  private build(): StoreSnapshot {
    return {
      vms: this.coordinator.list(),
      pending: [...this.pendingRecords.values()].map((record) => ({
        key: record.key,
        name: record.name,
        imageLabel: record.imageLabel,
        progress: record.progress,
        error: record.error,
      })),
      busy: new Set(this.busyIds),
      failures: new Map(this.failureTexts),
      focus: this.focusRequest,
    };
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
