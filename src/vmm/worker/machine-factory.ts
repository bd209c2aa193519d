/**
 * The machine factory the guest worker uses by default: synthetic guests now,
 * the x86 Machine (src/core/machine.ts) once it is integrated. Tests pass
 * their own factory to serveGuest instead.
 */
import type { GuestConfig } from '../shared/protocol.ts';
import type { GuestMachine } from './guest-machine.ts';
import { SyntheticMachine } from './synthetic-machine.ts';

export function createDefaultMachine(config: GuestConfig): GuestMachine {
  const image = config.image;
  switch (image.kind) {
    case 'synthetic':
      return new SyntheticMachine(image.synthetic);
    case 'linux':
      throw new Error('the x86 machine is not integrated into the guest worker yet (src/core/machine.ts)');
  }
}
