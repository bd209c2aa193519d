/** React bindings for the UI store. */
import { useSyncExternalStore } from 'react';
import type { StoreSnapshot, VmStore } from './vm-store.ts';

export function useStore(store: VmStore): StoreSnapshot {
  return useSyncExternalStore(store.subscribe, store.getSnapshot);
}
