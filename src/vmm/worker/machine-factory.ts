/**
 * The machine factory the guest worker uses by default: the x86 Linux
 * machine (src/core/machine.ts) or a synthetic stand-in for scheduler tests.
 * Tests may pass their own factory to serveGuest instead.
 */
import type { GuestConfig } from '../shared/protocol.ts';
import type { GuestMachine, GuestMemoryResources, MachineFactoryOptions } from './guest-machine.ts';
import { SyntheticMachine } from './synthetic-machine.ts';
import { createLinuxGuest, fetchBytes } from './linux-guest.ts';
import type { ByteLoader } from './linux-images.ts';

/** Loads images from the bytes the coordinator sent (CreateRequest.images), else with `fallback`. */
export function preloadedOrFetched(images: ReadonlyMap<string, Uint8Array> | undefined, fallback: ByteLoader = fetchBytes): ByteLoader {
  if (!images || images.size === 0) return fallback;
  return (url) => {
    const bytes = images.get(url);
    return bytes ? Promise.resolve(bytes) : fallback(url);
  };
}

export function createDefaultMachine(config: GuestConfig, memory?: GuestMemoryResources, options: MachineFactoryOptions = {}): GuestMachine | Promise<GuestMachine> {
  const image = config.image;
  switch (image.kind) {
    case 'synthetic':
      return new SyntheticMachine(image.synthetic);
    case 'linux':
      return createLinuxGuest(config, image, preloadedOrFetched(options.images), memory, options);
  }
}
