/**
 * The one interface every board device implements (PIC, PIT, UART, RTC,
 * i8042, debug ports, later virtio): the machine file only chooses addresses
 * and IRQ numbers, and each device claims its own ports, MMIO window and
 * interrupt line in `attach`.
 *
 * Snapshot state is a named plain object (JSON-safe: numbers, booleans,
 * strings, arrays, nested objects), never positional arrays; live resources
 * (buses, interrupt lines, the clock, callbacks) come back through the
 * constructor and `attach`, never through the state.
 */
import type { PortBus } from '../bus/port-bus.ts';
import type { MmioHandler } from '../memory/guest-memory.ts';
import type { GuestClock } from '../time/clock.ts';

/** A JSON-safe value. */
export type StateValue = number | boolean | string | null | readonly StateValue[] | { readonly [key: string]: StateValue };
/** A device's saved state: named fields only. */
export type DeviceState = { [key: string]: StateValue };

/** One interrupt request input of the interrupt controller, handed to a device. */
export interface IrqLine {
  /** Drives the line: true = asserted. Edge-triggered inputs latch on the rising edge. */
  set(level: boolean): void;
}

/** What the machine lends a device when attaching it. */
export interface MachineServices {
  readonly ports: PortBus;
  /** Claims a guest-physical MMIO window. */
  addMmio(base: number, size: number, handler: MmioHandler): void;
  /** The interrupt controller input `line` (0-15 on the PC's 8259 pair). */
  irq(line: number): IrqLine;
  readonly clock: GuestClock;
}

export interface Device {
  /** Short unique name; also the key of its state in snapshots ("pic", "pit", "uart0"...). */
  readonly name: string;
  /** Power-on / reset state (what the hardware's RESET pin does). */
  reset(): void;
  /** Claims ports, MMIO and IRQ lines. Called once, before the first reset. */
  attach(services: MachineServices): void;
  saveState(): DeviceState;
  /** Replaces the device's state; throws a clear Error on a malformed state object. */
  restoreState(state: DeviceState): void;
  /** Counters for graphs and debugging. */
  metrics?(): Record<string, number>;
  /**
   * Timed devices: the guest time (ns) of their next event (an interrupt they
   * must raise), or Infinity. The machine wakes the CPU by then.
   */
  nextDeadlineNs?(): number;
  /** Timed devices: brings the device up to guest time `nowNs`, raising the interrupts that fell due. */
  advance?(nowNs: number): void;
}

/** A line that goes nowhere (unattached devices, tests). */
export const NO_IRQ: IrqLine = { set: () => {} };
