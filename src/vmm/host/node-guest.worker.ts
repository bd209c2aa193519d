/** Node guest worker entry (see node-host.ts): the default machines. */
import { createDefaultMachine } from '../worker/machine-factory.ts';
import { startNodeGuestWorker } from './node-guest.ts';

startNodeGuestWorker(createDefaultMachine);
