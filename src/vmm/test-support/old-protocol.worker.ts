/** A guest worker from another release: it speaks protocol version 999. */
import { expose } from 'comlink';
import { parentPort } from 'node:worker_threads';
import { nodeEndpoint } from '../host/node-endpoint.ts';

expose({ hello: async () => ({ protocolVersion: 999, waitMode: 'waitAsync' }) }, nodeEndpoint(parentPort!));
