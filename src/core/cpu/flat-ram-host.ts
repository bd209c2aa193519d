/**
 * The smallest CpuHost: RAM identity-mapped from physical address 0, open bus
 * beyond it and on every port, a fixed interrupt vector, a stopped TSC. Used
 * where the CPU runs on its own: the one-time warm-up program and the
 * interpreter benchmark.
 */
import type { AccessSize, CpuHost } from './host.ts';

export class FlatRamHost implements CpuHost {
  readonly buffer: ArrayBuffer;
  readonly bufferGeneration = 0;
  private readonly pages: number;

  constructor(ramBytes: number) {
    this.buffer = new ArrayBuffer(ramBytes);
    this.pages = ramBytes >>> 12;
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
