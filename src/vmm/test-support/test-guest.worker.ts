/**
 * Guest worker entry for the coordinator tests: the default machines, plus a
 * VM named 'exits' whose worker thread dies in the middle of running (as if
 * the engine hit a fatal host error), to test the coordinator's crash path.
 */
import { startNodeGuestWorker } from '../host/node-guest.ts';
import { createDefaultMachine } from '../worker/machine-factory.ts';

startNodeGuestWorker(async (config, memory, options) => {
  const machine = await createDefaultMachine(config, memory, options);
  if (config.name === 'exits') {
    const run = machine.runSlice.bind(machine);
    let slices = 0;
    machine.runSlice = (maxInstructions, maxMs) => {
      if (++slices === 10) process.exit(3);
      return run(maxInstructions, maxMs);
    };
  }
  return machine;
});
