/**
 * National Semiconductor PC16550D-compatible UART ("16550A"): the guest's
 * serial console. Register behaviour follows the PC16550D datasheet:
 *
 *   offset  DLAB=0 read / write     DLAB=1
 *   0       RBR / THR               DLL
 *   1       IER                     DLM
 *   2       IIR / FCR               (IIR / FCR)
 *   3       LCR   4 MCR   5 LSR   6 MSR   7 SCR
 *
 * - Transmission is instantaneous: a byte written to THR goes straight to
 *   `onTransmit` (or, in loopback, to the receiver), so THR and the
 *   transmitter are always empty (LSR THRE = TEMT = 1). The THRE interrupt
 *   is what the datasheet says: pending when THR becomes empty or when IER
 *   bit 1 is set while THR is empty; cleared by reading IIR while THRE is the
 *   reported source, or by writing THR (which, being instantly sent, makes it
 *   pending again). Linux's 8250 driver tests exactly this re-assertion.
 * - Reception: the host calls `receive(bytes)`; bytes wait in a bounded input
 *   queue (its free space is the backpressure signal) and move into the
 *   16-byte RX FIFO as room appears, so host input never overruns the FIFO.
 *   Input waits until the guest enables the RX data interrupt (see pump()).
 *   The RX data interrupt fires at the FCR trigger level (1/4/8/14); below it
 *   the character timeout interrupt fires after four character times without
 *   FIFO activity (timed from the guest clock and the programmed baud rate).
 * - Interrupt identification priority: line status > RX data / timeout >
 *   THRE > modem status. The interrupt reaches the IRQ line only when MCR
 *   OUT2 is set (the PC's interrupt enable gate); in loopback OUT2 is forced
 *   inactive, so no interrupt leaves the chip.
 * - Loopback (MCR bit 4): TX feeds RX; MSR reads CTS=RTS, DSR=DTR, RI=OUT1,
 *   DCD=OUT2. Otherwise the modem lines show a connected terminal
 *   (CTS, DSR, DCD asserted).
 * - FCR enables the FIFOs and IIR bits 7-6 read 11 then; IER bits 7-4 and IIR
 *   bits 5-4 read 0, EFR-style accesses with LCR=0xBF reach IIR/FCR: the
 *   Linux 8250 probe identifies the port as a 16550A.
 */
import type { Device, DeviceState, IrqLine, MachineServices } from './device.ts';
import { NO_IRQ } from './device.ts';
import type { GuestClock } from '../time/clock.ts';
import { stateBoolean, stateNumber, stateNumbers } from './state.ts';
import { DOUBLE_ZERO } from '../util/number-fields.ts';

const FIFO_SIZE = 16;
/** Base clock of the PC's UARTs: 1.8432 MHz / 16 = 115,200 baud at divisor 1. */
const MAX_BAUD = 115_200;

const IER_RDA = 0x01;
const IER_THRE = 0x02;
const IER_RLS = 0x04;
const IER_MS = 0x08;

const LSR_DR = 0x01;
const LSR_OE = 0x02;
const LSR_ERRORS = 0x1e; // OE, PE, FE, BI
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;

const MCR_DTR = 0x01;
const MCR_RTS = 0x02;
const MCR_OUT1 = 0x04;
const MCR_OUT2 = 0x08;
const MCR_LOOP = 0x10;

const MSR_CTS = 0x10;
const MSR_DSR = 0x20;
const MSR_RI = 0x40;
const MSR_DCD = 0x80;
const MSR_TERI = 0x04;

const IIR_NONE = 0x01;
const IIR_MODEM = 0x00;
const IIR_THRE = 0x02;
const IIR_RDA = 0x04;
const IIR_RLS = 0x06;
const IIR_TIMEOUT = 0x0c;

const TRIGGER_LEVELS = [1, 4, 8, 14] as const;

export interface Uart16550Options {
  /** Name in snapshots and metrics (default "uart0"). */
  name?: string;
  /** First I/O port (COM1: 0x3F8). */
  base: number;
  /** IRQ line (COM1: 4). */
  irq: number;
  /** Bytes the host may queue ahead of the guest (default 4096). */
  inputQueueBytes?: number;
}

export class Uart16550 implements Device {
  readonly name: string;
  readonly base: number;
  readonly irqNumber: number;
  /** Receives every byte the guest transmits (outside loopback). */
  onTransmit: (byte: number) => void = () => {};

  private clock: GuestClock | undefined;
  private irqLine: IrqLine = NO_IRQ;
  private irqLevel = false;

  private readonly rx = new Uint8Array(FIFO_SIZE);
  private rxHead = 0;
  private rxCount = 0;
  private readonly input: Uint8Array;
  private inHead = 0;
  private inCount = 0;

  private ier = 0;
  private lcr = 0;
  private mcr = 0;
  private lsrErrors = 0;
  /** Modem status delta bits (MSR 3-0). */
  private msrDeltas = 0;
  /** Modem input lines last seen (MSR 7-4), to compute deltas. */
  private msrLines = 0;
  private scr = 0;
  private dll = 0;
  private dlm = 0;
  private fifoEnabled = false;
  private triggerLevel = 1;
  private threPending = false;
  private timeoutPending = false;
  /** Last RX FIFO activity (a character arrived or was read): the timeout counts from here. */
  private lastRxActivityNs = DOUBLE_ZERO;

  private txBytes = 0;
  private rxBytes = 0;
  private overruns = 0;

  constructor(options: Uart16550Options) {
    this.name = options.name ?? 'uart0';
    this.base = options.base;
    this.irqNumber = options.irq;
    this.input = new Uint8Array(Math.max(1, options.inputQueueBytes ?? 4096));
  }

  attach(services: MachineServices): void {
    this.clock = services.clock;
    this.irqLine = services.irq(this.irqNumber);
    services.ports.register(this.name, this.base, 8, {
      read8: (port) => this.read(port - this.base),
      write8: (port, value) => this.write(port - this.base, value),
    });
  }

  reset(): void {
    this.rxHead = 0;
    this.rxCount = 0;
    this.ier = 0;
    this.lcr = 0;
    this.mcr = 0;
    this.lsrErrors = 0;
    this.msrDeltas = 0;
    this.msrLines = this.modemInputs();
    this.scr = 0;
    this.dll = 0;
    this.dlm = 0;
    this.fifoEnabled = false;
    this.triggerLevel = 1;
    this.threPending = false;
    this.timeoutPending = false;
    this.lastRxActivityNs = this.now();
    // Host input queued before a reset is kept: it is the user's typing, not UART state.
    this.pump();
    this.updateIrq();
  }

  // ---- host side -------------------------------------------------------------

  /** Queues input from the host. Returns how many bytes fit (the rest must be offered again later). */
  receive(bytes: Uint8Array): number {
    let n = 0;
    while (n < bytes.length) {
      if (this.inCount === this.input.length) {
        // Queue full: let the receiver take what it can, then stop if nothing moved.
        this.pump();
        if (this.inCount === this.input.length) break;
      }
      this.input[(this.inHead + this.inCount) % this.input.length] = bytes[n++]!;
      this.inCount++;
    }
    if (n > 0) {
      this.pump();
      this.updateIrq();
    }
    return n;
  }

  /** Free space in the input queue, in bytes. */
  get inputSpace(): number {
    return this.input.length - this.inCount;
  }

  nextDeadlineNs(): number {
    if (!this.fifoEnabled || this.rxCount === 0 || this.timeoutPending) return Infinity;
    return this.lastRxActivityNs + 4 * this.characterTimeNs();
  }

  advance(nowNs: number): void {
    if (nowNs >= this.nextDeadlineNs()) {
      this.timeoutPending = true;
      this.updateIrq();
    }
  }

  metrics(): Record<string, number> {
    return { txBytes: this.txBytes, rxBytes: this.rxBytes, overruns: this.overruns, inputQueued: this.inCount };
  }

  // ---- registers -------------------------------------------------------------

  read(offset: number): number {
    const dlab = (this.lcr & 0x80) !== 0;
    switch (offset) {
      case 0:
        return dlab ? this.dll : this.readRbr();
      case 1:
        return dlab ? this.dlm : this.ier;
      case 2:
        return this.readIir();
      case 3:
        return this.lcr;
      case 4:
        return this.mcr;
      case 5:
        return this.readLsr();
      case 6:
        return this.readMsr();
      default:
        return this.scr;
    }
  }

  write(offset: number, value: number): void {
    const dlab = (this.lcr & 0x80) !== 0;
    switch (offset) {
      case 0:
        if (dlab) this.dll = value;
        else this.writeThr(value);
        break;
      case 1:
        if (dlab) {
          this.dlm = value;
        } else {
          const enablingThre = (value & IER_THRE) !== 0 && (this.ier & IER_THRE) === 0;
          this.ier = value & 0x0f;
          // THR is always empty here: enabling the THRE interrupt asserts it at once.
          if (enablingThre) this.threPending = true;
          // Enabling the receive interrupt means the guest's driver is ready: queued host input may flow.
          this.pump();
        }
        break;
      case 2:
        this.writeFcr(value);
        break;
      case 3:
        this.lcr = value;
        break;
      case 4:
        this.writeMcr(value);
        break;
      case 7:
        this.scr = value;
        break;
      default:
        // LSR and MSR are read-only (writes are factory test modes on the real part).
        break;
    }
    this.updateIrq();
  }

  private readRbr(): number {
    let byte = 0;
    if (this.rxCount > 0) {
      byte = this.rx[this.rxHead]!;
      this.rxHead = (this.rxHead + 1) % FIFO_SIZE;
      this.rxCount--;
      this.pump();
    }
    this.timeoutPending = false;
    this.lastRxActivityNs = this.now();
    this.updateIrq();
    return byte;
  }

  private writeThr(value: number): void {
    this.txBytes++;
    if (this.mcr & MCR_LOOP) this.pushRx(value);
    else this.onTransmit(value);
    // The byte left at once: THR is empty again, which (re)asserts the THRE interrupt.
    this.threPending = true;
  }

  private interruptId(): number {
    const ier = this.ier;
    if (ier & IER_RLS && this.lsrErrors) return IIR_RLS;
    if (ier & IER_RDA) {
      if (this.rxCount >= (this.fifoEnabled ? this.triggerLevel : 1)) return IIR_RDA;
      if (this.timeoutPending && this.rxCount > 0) return IIR_TIMEOUT;
    }
    if (ier & IER_THRE && this.threPending) return IIR_THRE;
    if (ier & IER_MS && this.msrDeltas) return IIR_MODEM;
    return IIR_NONE;
  }

  private readIir(): number {
    const id = this.interruptId();
    // Reading IIR while it reports THRE is one of the two ways to clear that interrupt.
    if (id === IIR_THRE) {
      this.threPending = false;
      this.updateIrq();
    }
    return id | (this.fifoEnabled ? 0xc0 : 0);
  }

  private writeFcr(value: number): void {
    const enable = (value & 1) !== 0;
    if (enable !== this.fifoEnabled) {
      // Changing the FIFO enable clears both FIFOs.
      this.fifoEnabled = enable;
      this.clearRx();
    }
    if (!enable) return;
    if (value & 0x02) this.clearRx();
    // Bit 2 clears the TX FIFO, which is always empty here.
    this.triggerLevel = TRIGGER_LEVELS[value >> 6]!;
  }

  private clearRx(): void {
    this.rxHead = 0;
    this.rxCount = 0;
    this.timeoutPending = false;
    this.pump();
  }

  private readLsr(): number {
    const lsr = (this.rxCount > 0 ? LSR_DR : 0) | this.lsrErrors | LSR_THRE | LSR_TEMT;
    // Reading LSR clears the error bits (and with them the line status interrupt).
    if (this.lsrErrors) {
      this.lsrErrors = 0;
      this.updateIrq();
    }
    return lsr;
  }

  private writeMcr(value: number): void {
    const wasLoop = (this.mcr & MCR_LOOP) !== 0;
    this.mcr = value & 0x1f;
    this.refreshModemLines();
    // Leaving loopback reconnects the receiver to the host input.
    if (wasLoop && !(this.mcr & MCR_LOOP)) this.pump();
  }

  private readMsr(): number {
    this.refreshModemLines();
    const msr = this.msrLines | this.msrDeltas;
    if (this.msrDeltas) {
      this.msrDeltas = 0;
      this.updateIrq();
    }
    return msr;
  }

  private modemInputs(): number {
    const m = this.mcr;
    if (m & MCR_LOOP) {
      return (m & MCR_RTS ? MSR_CTS : 0) | (m & MCR_DTR ? MSR_DSR : 0) | (m & MCR_OUT1 ? MSR_RI : 0) | (m & MCR_OUT2 ? MSR_DCD : 0);
    }
    return MSR_CTS | MSR_DSR | MSR_DCD;
  }

  private refreshModemLines(): void {
    const lines = this.modemInputs();
    const changed = lines ^ this.msrLines;
    if (changed & MSR_CTS) this.msrDeltas |= 0x01;
    if (changed & MSR_DSR) this.msrDeltas |= 0x02;
    // TERI: RI went from on to off.
    if (changed & MSR_RI && !(lines & MSR_RI)) this.msrDeltas |= MSR_TERI;
    if (changed & MSR_DCD) this.msrDeltas |= 0x08;
    this.msrLines = lines;
  }

  /** A character arrives at the receiver (loopback or host). */
  private pushRx(byte: number): void {
    const capacity = this.fifoEnabled ? FIFO_SIZE : 1;
    if (this.rxCount >= capacity) {
      // Overrun: the character in the shift register is lost, the FIFO keeps its contents.
      this.lsrErrors |= LSR_OE;
      this.overruns++;
      return;
    }
    this.rx[(this.rxHead + this.rxCount) % FIFO_SIZE] = byte;
    this.rxCount++;
    this.rxBytes++;
    this.timeoutPending = false;
    this.lastRxActivityNs = this.now();
  }

  /**
   * Moves host input into the receiver while it has room (never in loopback).
   * Host input waits in the queue until the guest enables the receive-data
   * interrupt: a driver resets the FIFOs when it opens the port (Linux's 8250
   * does at every open), so bytes typed or piped in earlier would be lost on a
   * real line. Here they wait, and scripts can send input before boot ends.
   * (A driver that polls without ever enabling the interrupt gets no input.)
   */
  private pump(): void {
    if (this.mcr & MCR_LOOP || (this.ier & IER_RDA) === 0) return;
    const capacity = this.fifoEnabled ? FIFO_SIZE : 1;
    while (this.inCount > 0 && this.rxCount < capacity) {
      this.pushRx(this.input[this.inHead]!);
      this.inHead = (this.inHead + 1) % this.input.length;
      this.inCount--;
    }
  }

  private characterTimeNs(): number {
    const divisor = (this.dlm << 8) | this.dll || 1;
    const dataBits = 5 + (this.lcr & 3);
    const stopBits = this.lcr & 4 ? (dataBits === 5 ? 1.5 : 2) : 1;
    const parity = this.lcr & 8 ? 1 : 0;
    const bits = 1 + dataBits + parity + stopBits;
    return (bits * 1e9 * divisor) / MAX_BAUD;
  }

  /** The level the interrupt line should have: the PC gates the UART's output with OUT2; loopback forces OUT2 inactive. */
  private irqOutput(): boolean {
    return (this.mcr & (MCR_OUT2 | MCR_LOOP)) === MCR_OUT2 && this.interruptId() !== IIR_NONE;
  }

  private updateIrq(): void {
    const level = this.irqOutput();
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irqLine.set(level);
    }
  }

  private now(): number {
    return this.clock ? this.clock.nowNs() : 0;
  }

  // ---- snapshots -------------------------------------------------------------

  saveState(): DeviceState {
    const rx: number[] = [];
    for (let i = 0; i < this.rxCount; i++) rx.push(this.rx[(this.rxHead + i) % FIFO_SIZE]!);
    const input: number[] = [];
    for (let i = 0; i < this.inCount; i++) input.push(this.input[(this.inHead + i) % this.input.length]!);
    return {
      ier: this.ier, lcr: this.lcr, mcr: this.mcr, lsrErrors: this.lsrErrors, msrDeltas: this.msrDeltas,
      msrLines: this.msrLines, scr: this.scr, dll: this.dll, dlm: this.dlm, fifoEnabled: this.fifoEnabled,
      triggerLevel: this.triggerLevel, threPending: this.threPending, timeoutPending: this.timeoutPending,
      lastRxActivityNs: this.lastRxActivityNs, rx, input,
    };
  }

  restoreState(state: DeviceState): void {
    const n = this.name;
    this.ier = stateNumber(state, n, 'ier') & 0x0f;
    this.lcr = stateNumber(state, n, 'lcr') & 0xff;
    this.mcr = stateNumber(state, n, 'mcr') & 0x1f;
    this.lsrErrors = stateNumber(state, n, 'lsrErrors') & LSR_ERRORS;
    this.msrDeltas = stateNumber(state, n, 'msrDeltas') & 0x0f;
    this.msrLines = stateNumber(state, n, 'msrLines') & 0xf0;
    this.scr = stateNumber(state, n, 'scr') & 0xff;
    this.dll = stateNumber(state, n, 'dll') & 0xff;
    this.dlm = stateNumber(state, n, 'dlm') & 0xff;
    this.fifoEnabled = stateBoolean(state, n, 'fifoEnabled');
    const trigger = stateNumber(state, n, 'triggerLevel');
    if (!(TRIGGER_LEVELS as readonly number[]).includes(trigger)) throw new Error(`${n} state: trigger level ${trigger} is not 1, 4, 8 or 14`);
    this.triggerLevel = trigger;
    this.threPending = stateBoolean(state, n, 'threPending');
    this.timeoutPending = stateBoolean(state, n, 'timeoutPending');
    this.lastRxActivityNs = stateNumber(state, n, 'lastRxActivityNs');
    const rx = stateNumbers(state, n, 'rx');
    const input = stateNumbers(state, n, 'input');
    if (rx.length > FIFO_SIZE) throw new Error(`${n} state: ${rx.length} bytes do not fit the ${FIFO_SIZE}-byte RX FIFO`);
    if (input.length > this.input.length) throw new Error(`${n} state: ${input.length} queued input bytes exceed the ${this.input.length}-byte queue`);
    this.rxHead = 0;
    this.rxCount = rx.length;
    rx.forEach((b, i) => (this.rx[i] = b));
    this.inHead = 0;
    this.inCount = input.length;
    input.forEach((b, i) => (this.input[i] = b));
    // Straight to the level, no low pulse: the PIC (restored with the line's level) would latch a pulse as a new request.
    this.irqLevel = this.irqOutput();
    this.irqLine.set(this.irqLevel);
  }
}
