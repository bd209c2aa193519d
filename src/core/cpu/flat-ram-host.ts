/**
 * The smallest CpuHost: RAM identity-mapped from physical address 0, open bus
 * beyond it and on every port, a fixed interrupt vector, a stopped TSC. Used
 * where the CPU runs on its own: the one-time warm-up program and the
 * interpreter benchmark.
 */
import type { AccessSize, CpuHost } from './host.ts';

export class FlatRamHost implements CpuHost {
  readonly buffer: ArrayBuffer;
  readonly bufferGeneration = new Int32Array(1);
  private readonly pages: number;

  /** With `wasm`: the buffer is this memory's (and `spareFrames` follow RAM), so the JIT can run on it. */
  readonly memory: WebAssembly.Memory | null = null;
  readonly spareFrames: number[] = [];

  constructor(ramBytes: number, options: { wasm?: boolean } = {}) {
    this.pages = ramBytes >>> 12;
    if (options.wasm === true) {
      const spare = 96; // at least JIT_FRAMES (src/core/jit/jit.ts)
      this.memory = new WebAssembly.Memory({ initial: Math.ceil((ramBytes + spare * 4096) / 65536) });
      this.buffer = this.memory.buffer;
      this.spareFrames = Array.from({ length: spare }, (_, i) => ramBytes + i * 4096);
    } else {
      this.buffer = new ArrayBuffer(ramBytes);
    }
  }

  frameForRead(page: number): number { return page < this.pages ? page << 12 : -1; }
  frameForWrite(page: number): number { return page < this.pages ? page << 12 : -1; }
  physRead(_address: number, size: AccessSize): number { return openBus(size); }
  physWrite(): void { /* open bus */ }
  ioRead(_port: number, size: AccessSize): number { return openBus(size); }
  ioWrite(): void { /* nothing listens */ }
  acknowledgeInterrupt(): number { return 0x20; }
  readTsc(): number { return 0; }
}

function openBus(size: AccessSize): number {
  return size === 4 ? 0xffffffff : (1 << (size * 8)) - 1;
}
