/**
 * The machine factory the guest worker uses by default: the x86 Linux
 * machine (src/core/machine.ts) or a synthetic stand-in for scheduler tests.
 * Tests may pass their own factory to serveGuest instead.
 */
import type { GuestConfig } from '../shared/protocol.ts';
import type { GuestMachine, GuestMemoryResources, MachineFactoryOptions } from './guest-machine.ts';
import { SyntheticMachine } from './synthetic-machine.ts';
import { createLinuxGuest, fetchBytes } from './linux-guest.ts';

export function createDefaultMachine(config: GuestConfig, memory?: GuestMemoryResources, options: MachineFactoryOptions = {}): GuestMachine | Promise<GuestMachine> {
  const image = config.image;
  switch (image.kind) {
    case 'synthetic':
      return new SyntheticMachine(image.synthetic);
    case 'linux':
      return createLinuxGuest(config, image, fetchBytes, memory, options);
  }
}
