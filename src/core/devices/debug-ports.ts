/**
 * Debug and test ports that PC emulators conventionally provide:
 * - 0x80, the POST code port: Linux writes it as an I/O delay; ignored.
 * - 0xE9, the "port E9 hack": each byte written goes to `onDebugByte` (an
 *   early console that needs no UART setup); reading it returns 0xE9 so a
 *   guest can detect it.
 * - 0xF4, test exit (only with `testExit: true`): the value written, of any
 *   width, goes to `onTestExit`, for bare-metal test images that end a run
 *   with a result code.
 */
import type { Device, DeviceState, MachineServices } from './device.ts';

export interface DebugPortsOptions {
  /** Claim port 0xF4 for test exits (off by default: a normal guest must not be able to stop the VM this way). */
  testExit?: boolean;
}

export class DebugPorts implements Device {
  readonly name = 'debug';
  onDebugByte: (byte: number) => void = () => {};
  onTestExit: (code: number) => void = () => {};
  private readonly testExit: boolean;
  private lastPostCode = 0;
  private debugBytes = 0;

  constructor(options: DebugPortsOptions = {}) {
    this.testExit = options.testExit ?? false;
  }

  attach(services: MachineServices): void {
    services.ports.register('post', 0x80, 1, {
      read8: () => this.lastPostCode,
      write8: (_port, value) => {
        this.lastPostCode = value;
      },
    });
    services.ports.register('debug-e9', 0xe9, 1, {
      read8: () => 0xe9,
      write8: (_port, value) => {
        this.debugBytes++;
        this.onDebugByte(value);
      },
    });
    if (this.testExit) {
      const exit = (_port: number, value: number) => this.onTestExit(value);
      services.ports.register('test-exit', 0xf4, 1, { write8: exit, write16: exit, write32: exit });
    }
  }

  reset(): void {
    this.lastPostCode = 0;
  }

  metrics(): Record<string, number> {
    return { debugBytes: this.debugBytes };
  }

  saveState(): DeviceState {
    return { lastPostCode: this.lastPostCode };
  }

  restoreState(state: DeviceState): void {
    const v = state['lastPostCode'];
    if (typeof v !== 'number') throw new Error('debug state: field "lastPostCode" should be a number');
    this.lastPostCode = v & 0xff;
  }
}
