/**
 * The PC's pair of Intel 8259A programmable interrupt controllers: the master
 * at ports 0x20/0x21 takes IRQ 0-7, the slave at 0xA0/0xA1 takes IRQ 8-15 and
 * signals the master on its IR2 input (the cascade). The master's INT output
 * drives the CPU's interrupt line; the CPU's interrupt acknowledge cycle is
 * `acknowledge()`, which returns the vector.
 *
 * Behaviour follows the 8259A datasheet (Intel 231468):
 * - Initialization: a write to the command port with D4=1 is ICW1; it resets
 *   the edge-sense circuit (a request needs a fresh low-to-high transition),
 *   clears the IMR, gives IR7 the lowest priority, cancels special mask mode
 *   and selects IRR for status reads. ICW2 (vector base, T7-T3), ICW3 (only
 *   when cascaded: SNGL=0) and ICW4 (only when IC4=1) follow on the data port.
 * - OCW1 (data port after init) is the IMR. OCW2 (command port, D4-D3 = 00):
 *   non-specific / specific EOI, rotate on EOI, set priority, rotate in AEOI.
 *   OCW3 (D4-D3 = 01): read IRR / ISR, poll, special mask mode.
 * - Requests: edge-triggered by default (LTIM=0). In edge mode the IRR bit is
 *   set on a rising edge and the input must stay high until acknowledged; if
 *   the request goes away first, the acknowledge cycle answers with the
 *   spurious IR7 vector (on the master for IRQ 0-7, on the slave for 8-15,
 *   i.e. "IRQ 7" / "IRQ 15") and sets no ISR bit. In level mode (LTIM=1) the
 *   IRR bit simply follows the input.
 * - Priorities: fully nested, with the lowest-priority level movable by
 *   rotation; an in-service level blocks itself and every lower level
 *   (special mask mode: masked in-service levels block nothing; special fully
 *   nested mode on the master: a cascade input in service does not block
 *   further requests from its slave).
 *
 * The PIIX ELCR registers (0x4D0/0x4D1) are accepted and read back but do not
 * change trigger modes: this board has no PCI devices that share lines.
 */
import type { Device, DeviceState, MachineServices } from './device.ts';
import { stateBoolean, stateNumber, stateObject } from './state.ts';

const ICW1_IC4 = 0x01;
const ICW1_SNGL = 0x02;
const ICW1_LTIM = 0x08;
const ICW4_AEOI = 0x02;
const ICW4_SFNM = 0x10;

/** One 8259A. */
class Chip {
  irr = 0;
  isr = 0;
  imr = 0;
  /** Levels currently present on the IR0-7 pins. */
  inputs = 0;
  vectorBase = 0;
  /** IR level that currently has the lowest priority (7 after init). */
  lowest = 7;
  icw1 = 0;
  /** Master: which IR inputs have a slave. Slave: its ID. */
  icw3 = 0;
  icw4 = 0;
  /** 0 = initialized; 2/3/4 = waiting for ICW2/ICW3/ICW4. */
  initStep = 0;
  readIsr = false;
  pollPending = false;
  specialMask = false;
  rotateOnAutoEoi = false;
  elcr = 0;

  constructor(readonly isMaster: boolean) {}

  reset(): void {
    this.irr = 0;
    this.isr = 0;
    this.imr = 0;
    this.vectorBase = 0;
    this.lowest = 7;
    this.icw1 = 0;
    this.icw3 = 0;
    this.icw4 = 0;
    this.initStep = 0;
    this.readIsr = false;
    this.pollPending = false;
    this.specialMask = false;
    this.rotateOnAutoEoi = false;
    this.elcr = 0;
  }

  get levelTriggered(): boolean {
    return (this.icw1 & ICW1_LTIM) !== 0;
  }

  get cascadeMask(): number {
    return this.isMaster && (this.icw1 & ICW1_SNGL) === 0 ? this.icw3 : 0;
  }

  setInput(irq: number, level: boolean): void {
    const bit = 1 << irq;
    const was = (this.inputs & bit) !== 0;
    if (level) {
      this.inputs |= bit;
      if (this.levelTriggered || !was) this.irr |= bit;
    } else {
      this.inputs &= ~bit;
      // Edge or level: a request that goes away before the acknowledge is gone (datasheet: "IR input must remain high until ... INTA").
      this.irr &= ~bit;
    }
  }

  /** Highest-priority request the chip would present now, or -1. */
  highestRequest(): number {
    const pending = this.irr & ~this.imr;
    if (pending === 0) return -1;
    const inService = this.specialMask ? this.isr & ~this.imr : this.isr;
    const nested = this.isMaster && (this.icw4 & ICW4_SFNM) !== 0 ? this.cascadeMask : 0;
    for (let p = 0; p < 8; p++) {
      const irq = (this.lowest + 1 + p) & 7;
      const bit = 1 << irq;
      if (inService & bit) {
        // Special fully nested mode: a slave already in service may still interrupt with a higher request of its own.
        return nested & bit & pending ? irq : -1;
      }
      if (pending & bit) return irq;
    }
    return -1;
  }

  /** The INTA pulses for level `irq` (which highestRequest() chose). */
  acknowledge(irq: number): void {
    const bit = 1 << irq;
    if (!this.levelTriggered) this.irr &= ~bit;
    if (this.icw4 & ICW4_AEOI) {
      // Automatic EOI: the ISR bit is reset at the end of the acknowledge sequence.
      if (this.rotateOnAutoEoi) this.lowest = irq;
    } else {
      this.isr |= bit;
    }
  }

  /** Highest-priority level in service, or -1. */
  highestInService(): number {
    for (let p = 0; p < 8; p++) {
      const irq = (this.lowest + 1 + p) & 7;
      if (this.isr & (1 << irq)) return irq;
    }
    return -1;
  }

  writeCommand(value: number): void {
    if (value & 0x10) {
      // ICW1.
      this.icw1 = value;
      this.initStep = 2;
      this.imr = 0;
      this.irr = 0;
      this.isr = 0;
      this.lowest = 7;
      this.specialMask = false;
      this.readIsr = false;
      this.pollPending = false;
      this.rotateOnAutoEoi = false;
      if ((value & ICW1_IC4) === 0) this.icw4 = 0;
      // Edge-sense reset: inputs already high must go low and high again. (Level mode re-samples them.)
      if (this.levelTriggered) this.irr = this.inputs;
      return;
    }
    if ((value & 0x18) === 0x08) {
      // OCW3.
      if (value & 0x40) this.specialMask = (value & 0x20) !== 0;
      if (value & 0x04) this.pollPending = true;
      if (value & 0x02) this.readIsr = (value & 0x01) !== 0;
      return;
    }
    // OCW2: R SL EOI in D7-D5, level in D2-D0.
    const level = value & 7;
    switch (value >> 5) {
      case 0b001: { // non-specific EOI
        const irq = this.highestInService();
        if (irq >= 0) this.isr &= ~(1 << irq);
        break;
      }
      case 0b011: // specific EOI
        this.isr &= ~(1 << level);
        break;
      case 0b101: { // rotate on non-specific EOI
        const irq = this.highestInService();
        if (irq >= 0) {
          this.isr &= ~(1 << irq);
          this.lowest = irq;
        }
        break;
      }
      case 0b100: // set rotate in automatic EOI mode
        this.rotateOnAutoEoi = true;
        break;
      case 0b000: // clear rotate in automatic EOI mode
        this.rotateOnAutoEoi = false;
        break;
      case 0b111: // rotate on specific EOI
        this.isr &= ~(1 << level);
        this.lowest = level;
        break;
      case 0b110: // set priority
        this.lowest = level;
        break;
      default: // 0b010: no operation
        break;
    }
  }

  writeData(value: number): void {
    switch (this.initStep) {
      case 2:
        this.vectorBase = value & 0xf8;
        this.initStep = this.icw1 & ICW1_SNGL ? (this.icw1 & ICW1_IC4 ? 4 : 0) : 3;
        return;
      case 3:
        this.icw3 = value;
        this.initStep = this.icw1 & ICW1_IC4 ? 4 : 0;
        return;
      case 4:
        this.icw4 = value;
        this.initStep = 0;
        return;
      default:
        this.imr = value;
    }
  }

  /** Poll command answer: acts as an acknowledge of the highest request. */
  poll(): number {
    this.pollPending = false;
    const irq = this.highestRequest();
    if (irq < 0) return 0;
    this.acknowledge(irq);
    return 0x80 | irq;
  }

  save(): DeviceState {
    return {
      irr: this.irr, isr: this.isr, imr: this.imr, inputs: this.inputs, vectorBase: this.vectorBase,
      lowest: this.lowest, icw1: this.icw1, icw3: this.icw3, icw4: this.icw4, initStep: this.initStep,
      readIsr: this.readIsr, pollPending: this.pollPending, specialMask: this.specialMask,
      rotateOnAutoEoi: this.rotateOnAutoEoi, elcr: this.elcr,
    };
  }

  restore(s: DeviceState, name: string): void {
    this.irr = stateNumber(s, name, 'irr') & 0xff;
    this.isr = stateNumber(s, name, 'isr') & 0xff;
    this.imr = stateNumber(s, name, 'imr') & 0xff;
    this.inputs = stateNumber(s, name, 'inputs') & 0xff;
    this.vectorBase = stateNumber(s, name, 'vectorBase') & 0xf8;
    this.lowest = stateNumber(s, name, 'lowest') & 7;
    this.icw1 = stateNumber(s, name, 'icw1') & 0xff;
    this.icw3 = stateNumber(s, name, 'icw3') & 0xff;
    this.icw4 = stateNumber(s, name, 'icw4') & 0xff;
    this.initStep = stateNumber(s, name, 'initStep');
    this.readIsr = stateBoolean(s, name, 'readIsr');
    this.pollPending = stateBoolean(s, name, 'pollPending');
    this.specialMask = stateBoolean(s, name, 'specialMask');
    this.rotateOnAutoEoi = stateBoolean(s, name, 'rotateOnAutoEoi');
    this.elcr = stateNumber(s, name, 'elcr') & 0xff;
  }
}

/** The slave's INT output is wired to this master input. */
const CASCADE_IRQ = 2;

export class Pic8259 implements Device {
  readonly name = 'pic';
  /** Called when the master's INT output changes; the machine wires it to `cpu.setInterruptLine`. */
  onInterruptLine: (raised: boolean) => void = () => {};

  private readonly master = new Chip(true);
  private readonly slave = new Chip(false);
  private output = false;
  private readonly delivered = new Uint32Array(16);
  private spurious = 0;

  attach(services: MachineServices): void {
    const ports = services.ports;
    ports.register('pic-master', 0x20, 2, {
      read8: (port) => this.readPort(this.master, port & 1),
      write8: (port, value) => this.writePort(this.master, port & 1, value),
    });
    ports.register('pic-slave', 0xa0, 2, {
      read8: (port) => this.readPort(this.slave, port & 1),
      write8: (port, value) => this.writePort(this.slave, port & 1, value),
    });
    ports.register('pic-elcr', 0x4d0, 2, {
      read8: (port) => (port === 0x4d0 ? this.master : this.slave).elcr,
      // Bits for IRQ 0, 1, 2, 8 and 13 are reserved (always edge) on the PIIX.
      write8: (port, value) => {
        if (port === 0x4d0) this.master.elcr = value & 0xf8;
        else this.slave.elcr = value & 0xde;
      },
    });
  }

  reset(): void {
    this.master.reset();
    this.slave.reset();
    this.master.inputs = 0;
    this.slave.inputs = 0;
    this.update();
  }

  /**
   * Drives interrupt request line 0-15. Line 2 is the cascade on the master;
   * as on the AT bus, a device wired to IRQ 2 arrives on the slave's IR1 (IRQ 9).
   */
  setIrq(line: number, level: boolean): void {
    if (line === CASCADE_IRQ) line = 9;
    if (line < 8) this.master.setInput(line, level);
    else if (line < 16) this.slave.setInput(line - 8, level);
    else throw new Error(`pic: there is no IRQ ${line}`);
    this.update();
  }

  /** True while the master's INT output is asserted. */
  get interruptPending(): boolean {
    return this.output;
  }

  /**
   * The CPU's interrupt acknowledge cycle. Returns the vector; if the request
   * vanished, the spurious vector of IR7 on the chip that was asked.
   */
  acknowledge(): number {
    const m = this.master;
    const irq = m.highestRequest();
    let vector: number;
    if (irq < 0) {
      vector = m.vectorBase | 7;
      this.spurious++;
    } else {
      m.acknowledge(irq);
      if (m.cascadeMask & (1 << irq)) {
        const s = this.slave;
        const sirq = s.highestRequest();
        if (sirq < 0) {
          // The master's IS bit for the cascade stays set: the guest must still EOI the master.
          vector = s.vectorBase | 7;
          this.spurious++;
        } else {
          s.acknowledge(sirq);
          vector = s.vectorBase | sirq;
          this.delivered[8 + sirq]!++;
        }
      } else {
        vector = m.vectorBase | irq;
        this.delivered[irq]!++;
      }
    }
    this.update();
    return vector;
  }

  metrics(): Record<string, number> {
    const out: Record<string, number> = { spurious: this.spurious };
    let total = 0;
    for (let i = 0; i < 16; i++) {
      total += this.delivered[i]!;
      if (this.delivered[i]) out[`irq${i}`] = this.delivered[i]!;
    }
    out['interrupts'] = total;
    return out;
  }

  saveState(): DeviceState {
    return { master: this.master.save(), slave: this.slave.save() };
  }

  restoreState(state: DeviceState): void {
    this.master.restore(stateObject(state, 'pic', 'master'), 'pic master');
    this.slave.restore(stateObject(state, 'pic', 'slave'), 'pic slave');
    this.output = false;
    this.update();
  }

  private readPort(chip: Chip, odd: number): number {
    if (odd) return chip.imr;
    if (chip.pollPending) {
      const word = chip.poll();
      this.update();
      return word;
    }
    return chip.readIsr ? chip.isr : chip.irr;
  }

  private writePort(chip: Chip, odd: number, value: number): void {
    if (odd) chip.writeData(value);
    else chip.writeCommand(value);
    this.update();
  }

  /** Propagates the slave's INT to the master's cascade input and the master's INT to the CPU. */
  private update(): void {
    const slaveOut = this.slave.highestRequest() >= 0;
    const m = this.master;
    // The slave's INT pin is wired to the master's IR2 whatever ICW3 says; ICW3 only decides who supplies the vector.
    if (slaveOut !== ((m.inputs & (1 << CASCADE_IRQ)) !== 0)) m.setInput(CASCADE_IRQ, slaveOut);
    const out = m.highestRequest() >= 0;
    if (out !== this.output) {
      this.output = out;
      this.onInterruptLine(out);
    }
  }
}
