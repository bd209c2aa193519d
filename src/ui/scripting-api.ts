/**
 * `window.tabvisor`: the scripting API of the playground and the embed page
 * (which also offers it over postMessage, see embed/embed-protocol.ts). A thin
 * facade over the coordinator: VMs are addressed by name or id, results are
 * plain JSON-friendly objects, and every failure is an Error with a sentence
 * that says what went wrong.
 *
 * Documented in README.md, "Scripting API (window.tabvisor)". The snapshot
 * methods are in scripting-snapshots.ts.
 */
import type { Coordinator } from '../vmm/coordinator.ts';
import type { VmState } from '../vmm/lifecycle.ts';
import type { VmInfo } from '../vmm/vm-registry.ts';
import { IMAGES } from './images.ts';
import type { SnapshotLibrary } from './snapshot-library.ts';
import { createSnapshotApi, type TabvisorSnapshotApi } from './scripting-snapshots.ts';
import type { VmStore } from './vm-store.ts';
import { createShareLink, type ShareLinkResult } from './share-link.ts';

export const SCRIPTING_API_VERSION = 1;

/** A VM as scripts see it. */
export interface TabvisorVm {
  readonly id: string;
  readonly name: string;
  readonly state: VmState;
  /** Why it is paused, stopped or failed, when known. */
  readonly reason?: string;
  /** Catalogue image id, or 'custom' for VMs made without the catalogue. */
  readonly image: string;
  readonly ramMiB: number;
  readonly cpuWeight: number;
  readonly cpuCapPercent: number;
  readonly memoryBudgetMiB: number;
  /** Hot guest code is compiled to WebAssembly. */
  readonly jit: boolean;
}

export interface TabvisorImage {
  readonly id: string;
  readonly label: string;
  readonly description: string;
}

export interface TabvisorCreateConfig {
  name?: string;
  ramMiB?: number;
  cpuWeight?: number;
  cpuCapPercent?: number;
  memoryBudgetMiB?: number;
  /** A catalogue id from images(); default: the default image. */
  image?: string;
  /** Boot right away (default true). */
  start?: boolean;
  /** Compile hot guest code to WebAssembly (default: as the page's default VM). */
  jit?: boolean;
}

/** A VM's name or id. */
export type VmRef = string;

export interface TabvisorApi extends TabvisorSnapshotApi<TabvisorVm> {
  readonly version: number;
  /** Resolves once the page's default VM exists (rejects if it could not be created). */
  readonly ready: Promise<void>;
  list(): TabvisorVm[];
  get(vm: VmRef): TabvisorVm;
  images(): TabvisorImage[];
  /** Creates a VM and, unless `start: false`, boots it; resolves when it runs (or has failed). */
  create(config?: TabvisorCreateConfig): Promise<TabvisorVm>;
  start(vm: VmRef): Promise<void>;
  pause(vm: VmRef): Promise<void>;
  resume(vm: VmRef): Promise<void>;
  reset(vm: VmRef): Promise<void>;
  stop(vm: VmRef): Promise<void>;
  /** Stops the VM if needed, ends its worker and forgets it. */
  delete(vm: VmRef): Promise<void>;
  /** Types text on the VM's serial console ("\n" or "\r" for Enter). */
  send(vm: VmRef, text: string): Promise<void>;
  /**
   * Waits for console output matching `pattern` (a string matches literally)
   * that no earlier waitFor consumed; resolves with the matched text.
   */
  waitFor(vm: VmRef, pattern: RegExp | string, timeoutMs?: number): Promise<string>;
  /** Console output since the previous read() of this VM. */
  read(vm: VmRef): string;
  /**
   * A link that restores the VM's current state for whoever opens it (the
   * snapshot in the URL's fragment, as a diff against the instant-boot
   * snapshot), or `too-large` with a hint when the state does not fit a link.
   */
  shareLink(vm: VmRef): Promise<ShareLinkResult>;
}

declare global {
  interface Window {
    tabvisor?: TabvisorApi;
  }
}

export const DEFAULT_WAIT_MS = 30_000;

export function toPattern(pattern: RegExp | string): RegExp {
  if (pattern instanceof RegExp) return pattern;
  if (typeof pattern !== 'string') throw new TypeError('the pattern must be a RegExp or a string');
  return new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
}

export function createScriptingApi(coordinator: Coordinator, store: VmStore, ready: Promise<void>, snapshots: SnapshotLibrary): TabvisorApi {
  const id = (vm: VmRef): string => {
    if (typeof vm !== 'string') throw new TypeError('a VM is named by its name or id (a string)');
    return store.resolve(vm).id;
  };
  const summary = (info: VmInfo): TabvisorVm => toTabvisorVm(info, store.imageIdOf(info.id));
  return {
    version: SCRIPTING_API_VERSION,
    ready,
    list: () => coordinator.list().map(summary),
    get: (vm) => summary(store.resolve(vm)),
    images: () => IMAGES.map(({ id: imageId, label, description }) => ({ id: imageId, label, description })),
    async create(config = {}) {
      const { image, start, ...resources } = config;
      const info = await store.create({ ...resources, ...(image !== undefined && { imageId: image }) }, { start: start !== false });
      return summary(info);
    },
    start: async (vm) => coordinator.start(id(vm)),
    pause: async (vm) => coordinator.pause(id(vm)),
    resume: async (vm) => coordinator.resume(id(vm)),
    reset: async (vm) => coordinator.reset(id(vm)),
    stop: async (vm) => coordinator.stop(id(vm)),
    delete: async (vm) => coordinator.deleteVm(id(vm)),
    async send(vm, text) {
      if (typeof text !== 'string') throw new TypeError('send: the text must be a string');
      return coordinator.send(id(vm), text);
    },
    async waitFor(vm, pattern, timeoutMs = DEFAULT_WAIT_MS) {
      const match = await coordinator.waitFor(id(vm), toPattern(pattern), timeoutMs);
      return match[0];
    },
    read: (vm) => coordinator.read(id(vm)),
    shareLink: async (vm) => createShareLink(coordinator, id(vm)),
    ...createSnapshotApi({ library: snapshots, vmId: id, describeVm: summary }),
  };
}

export function toTabvisorVm(info: VmInfo, imageId: string | undefined): TabvisorVm {
  const { config } = info;
  return {
    id: info.id,
    name: config.name,
    state: info.state,
    ...(info.reason !== undefined && { reason: info.reason }),
    image: imageId ?? 'custom',
    ramMiB: config.ramMiB,
    cpuWeight: config.cpuWeight,
    cpuCapPercent: config.cpuCapPercent,
    memoryBudgetMiB: config.memoryBudgetMiB,
    jit: config.jit,
  };
}
