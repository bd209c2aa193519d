/**
 * A minimal Intel 8042 keyboard controller (ports 0x60 data, 0x64
 * status/command). No keyboard or mouse is attached; the controller exists
 * for what PC software asks of the board through it:
 * - reset: command 0xFE (pulse output port bit 0 low), any 0xF0-0xFF pulse
 *   command with bit 0 clear, or writing the output port (0xD1) with bit 0
 *   clear, calls `onResetRequest` (Linux's default reboot method, "reboot=k");
 * - A20: output port bit 1 (0xD1), and the 0xDD/0xDF variants, are recorded
 *   and otherwise harmless (A20 is always enabled on this board);
 * - the few controller commands probes use answer as the 8042 datasheet
 *   says: 0x20 read command byte, 0x60 write command byte, 0xAA self-test
 *   (0x55), 0xAB interface test (0x00), 0xD0 read output port, 0xAD/0xAE and
 *   0xA7/0xA8 disable/enable the ports.
 * Status: OBF (bit 0) when a reply waits in the output buffer, never busy
 * (IBF = 0), system flag (bit 2) set, bit 3 = last write was a command,
 * bit 4 = keyboard not inhibited. Port 0x60 reads the reply, or 0 if none.
 */
import type { Device, DeviceState, MachineServices } from './device.ts';
import { stateBoolean, stateNumber } from './state.ts';

const STATUS_OBF = 0x01;
const STATUS_SYS = 0x04;
const STATUS_CMD = 0x08;
const STATUS_UNLOCKED = 0x10;

export class I8042 implements Device {
  readonly name = 'i8042';
  /** Called when the guest pulses the CPU reset line. */
  onResetRequest: () => void = () => {};

  private output = 0;
  private outputFull = false;
  private lastWasCommand = false;
  /** The controller command byte: bit 0 kbd IRQ, bit 2 system flag, bit 4/5 kbd/aux disabled, bit 6 translation. */
  private commandByte = 0x45;
  /** Output port: bit 0 = CPU reset (active low), bit 1 = A20 gate. */
  private outputPort = 0x03;
  /** A command waiting for its parameter on port 0x60 (0x60 or 0xD1), or 0. */
  private pending = 0;
  private resets = 0;

  attach(services: MachineServices): void {
    services.ports.register('i8042-data', 0x60, 1, {
      read8: () => this.readData(),
      write8: (_port, value) => this.writeData(value),
    });
    services.ports.register('i8042-cmd', 0x64, 1, {
      read8: () => this.readStatus(),
      write8: (_port, value) => this.writeCommand(value),
    });
  }

  reset(): void {
    this.output = 0;
    this.outputFull = false;
    this.lastWasCommand = false;
    this.commandByte = 0x45;
    this.outputPort = 0x03;
    this.pending = 0;
  }

  /** A20 gate as last set by the guest (informational: the board keeps A20 enabled). */
  get a20(): boolean {
    return (this.outputPort & 0x02) !== 0;
  }

  metrics(): Record<string, number> {
    return { resetRequests: this.resets };
  }

  readStatus(): number {
    return (this.outputFull ? STATUS_OBF : 0) | STATUS_SYS | (this.lastWasCommand ? STATUS_CMD : 0) | STATUS_UNLOCKED;
  }

  readData(): number {
    const v = this.outputFull ? this.output : 0;
    this.outputFull = false;
    return v;
  }

  writeData(value: number): void {
    this.lastWasCommand = false;
    const command = this.pending;
    this.pending = 0;
    if (command === 0x60) {
      this.commandByte = value;
    } else if (command === 0xd1) {
      this.writeOutputPort(value);
    }
    // Otherwise the byte is for the keyboard, and there is none.
  }

  writeCommand(value: number): void {
    this.lastWasCommand = true;
    this.pending = 0;
    switch (value) {
      case 0x20:
        this.reply(this.commandByte);
        break;
      case 0x60:
      case 0xd1:
        this.pending = value;
        break;
      case 0xa7:
        this.commandByte |= 0x20;
        break;
      case 0xa8:
        this.commandByte &= ~0x20;
        break;
      case 0xaa:
        this.reply(0x55);
        break;
      case 0xab:
        this.reply(0x00);
        break;
      case 0xad:
        this.commandByte |= 0x10;
        break;
      case 0xae:
        this.commandByte &= ~0x10;
        break;
      case 0xd0:
        this.reply(this.outputPort);
        break;
      case 0xdd:
        this.outputPort &= ~0x02;
        break;
      case 0xdf:
        this.outputPort |= 0x02;
        break;
      default:
        // 0xF0-0xFF pulse output port bits 3-0 low for ~6 µs where the command's bit is 0; bit 0 is CPU reset.
        if (value >= 0xf0 && (value & 1) === 0) this.requestReset();
    }
  }

  private writeOutputPort(value: number): void {
    this.outputPort = value | 0x01;
    if ((value & 1) === 0) this.requestReset();
  }

  private requestReset(): void {
    this.resets++;
    this.onResetRequest();
  }

  private reply(value: number): void {
    this.output = value & 0xff;
    this.outputFull = true;
  }

  saveState(): DeviceState {
    return {
      output: this.output, outputFull: this.outputFull, lastWasCommand: this.lastWasCommand,
      commandByte: this.commandByte, outputPort: this.outputPort, pending: this.pending,
    };
  }

  restoreState(state: DeviceState): void {
    this.output = stateNumber(state, 'i8042', 'output') & 0xff;
    this.outputFull = stateBoolean(state, 'i8042', 'outputFull');
    this.lastWasCommand = stateBoolean(state, 'i8042', 'lastWasCommand');
    this.commandByte = stateNumber(state, 'i8042', 'commandByte') & 0xff;
    this.outputPort = stateNumber(state, 'i8042', 'outputPort') & 0xff;
    this.pending = stateNumber(state, 'i8042', 'pending') & 0xff;
  }
}
