/** Test helpers: a hand-driven clock and MachineServices that record IRQ line levels. */
import { PortBus } from '../../bus/port-bus.ts';
import type { MmioHandler } from '../../memory/guest-memory.ts';
import type { ClockState, GuestClock } from '../../time/clock.ts';
import type { IrqLine, MachineServices } from '../device.ts';

export class ManualClock implements GuestClock {
  ns = 0;
  readonly tscHz = 1e9;
  paused = false;
  nowNs(): number {
    return this.ns;
  }
  readTsc(): number {
    return Math.floor(this.ns);
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  skipTo(ns: number): void {
    if (ns > this.ns) this.ns = ns;
  }
  advanceNs(ns: number): void {
    this.ns += ns;
  }
  saveState(): ClockState {
    return { kind: 'instructions', nowNs: this.ns, tscHz: this.tscHz };
  }
  restoreState(state: ClockState): void {
    this.ns = state.nowNs;
  }
}

export interface TestBoard {
  services: MachineServices;
  ports: PortBus;
  clock: ManualClock;
  /** Current level of each IRQ line. */
  levels: boolean[];
  /** Number of rising edges seen on each IRQ line. */
  edges: number[];
  mmio: Array<{ base: number; size: number; handler: MmioHandler }>;
}

export function testBoard(): TestBoard {
  const ports = new PortBus();
  const clock = new ManualClock();
  const levels: boolean[] = new Array<boolean>(16).fill(false);
  const edges: number[] = new Array<number>(16).fill(0);
  const mmio: TestBoard['mmio'] = [];
  const lines: IrqLine[] = [];
  for (let i = 0; i < 16; i++) {
    lines.push({
      set: (level: boolean) => {
        if (level && !levels[i]) edges[i]!++;
        levels[i] = level;
      },
    });
  }
  const services: MachineServices = {
    ports,
    clock,
    irq: (line) => lines[line]!,
    addMmio: (base, size, handler) => {
      mmio.push({ base, size, handler });
    },
  };
  return { services, ports, clock, levels, edges, mmio };
}
