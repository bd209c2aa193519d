/** Messages of the isolation smoke test between the page and its worker. */
export interface SmokeRequest {
  memory: WebAssembly.Memory;
  /** Index (in 32-bit words) the worker increments with Atomics and then notifies. */
  counterIndex: number;
}

export interface SmokeReply {
  workerIsolated: boolean;
  bufferIsShared: boolean;
}
