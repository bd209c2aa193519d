/**
 * Intel 8254 programmable interval timer (ports 0x40-0x43) and the PC's
 * system control port B (0x61), which carries channel 2's gate and output.
 *
 * The counters are not ticked: each channel remembers when its current count
 * started and at what value, and the count, the OUT pins and the time of the
 * next interrupt are computed from the guest clock (1.193182 MHz input, the
 * PC's 14.31818 MHz crystal divided by 12). Reading a counter is therefore
 * exact at any instant, and an idle guest costs nothing between timer events.
 *
 * Channel 0 drives IRQ 0, channel 1 (DRAM refresh on the PC) is programmable
 * but drives nothing, channel 2 drives the speaker and is readable on port
 * 0x61 bit 5 (Linux's PIT calibration polls exactly that with channel 2 in
 * mode 0). Modes 0-5, binary and BCD, the three access modes, the counter
 * latch command and the read-back command follow the 8254 datasheet (Intel
 * 231164), section "Operational description".
 *
 * IRQ 0 sees OUT0's rising edges, delivered when the machine calls
 * advance(); the short low phases of modes 2 and 4 (one input clock) and the
 * low half of mode 3 are folded into the edge itself (a pulse), since the PIC
 * only needs the edge and the guest cannot sample OUT0 directly. OUT0 does
 * drop for real when the guest programs mode 0, whose output stays low until
 * terminal count.
 */
import type { Device, DeviceState, IrqLine, MachineServices } from './device.ts';
import { NO_IRQ } from './device.ts';
import type { GuestClock } from '../time/clock.ts';
import { stateBoolean, stateNumber, stateObjects, stateTime, timeToState } from './state.ts';
import { DOUBLE_ZERO } from '../util/number-fields.ts';

/** Input clock of every channel, Hz (the value Linux uses as PIT_TICK_RATE). */
export const PIT_HZ = 1_193_182;

/** Whole input clocks elapsed between two guest times. */
function ticksBetween(fromNs: number, toNs: number): number {
  return toNs <= fromNs ? 0 : Math.floor(((toNs - fromNs) * PIT_HZ) / 1e9);
}

/** Guest time at which `ticks` clocks have elapsed since `fromNs` (1 ns of margin against rounding). */
function timeOfTick(fromNs: number, ticks: number): number {
  return fromNs + Math.ceil((ticks * 1e9) / PIT_HZ) + 1;
}

function toBcd(n: number): number {
  return (n % 10) | ((Math.floor(n / 10) % 10) << 4) | ((Math.floor(n / 100) % 10) << 8) | ((Math.floor(n / 1000) % 10) << 12);
}

function fromBcd(v: number): number {
  return (v & 0xf) + ((v >> 4) & 0xf) * 10 + ((v >> 8) & 0xf) * 100 + ((v >> 12) & 0xf) * 1000;
}

const enum Phase {
  /** No count written since the control word (mode 0: OUT low; other modes: OUT high). */
  Idle = 0,
  /** Modes 1 and 5: count written, waiting for a gate trigger. */
  Armed = 1,
  Counting = 2,
  /** Gate low in modes 0, 2, 3, 4: counting suspended. */
  Paused = 3,
}

class Channel {
  mode = 0;
  /** Access mode: 1 = LSB only, 2 = MSB only, 3 = LSB then MSB. */
  rw = 3;
  bcd = false;
  /** The count register, as a binary count in 1..modulus (a written 0 means the maximum). */
  count = 0x10000;
  phase = Phase.Idle;
  gate = true;
  /** While counting: the guest time the current countdown (or period) started and the counter value then. */
  startNs = DOUBLE_ZERO;
  startValue = 0x10000;
  /** Modes 0, 1, 4, 5: terminal count (and its OUT change) already happened for this count. */
  terminalDone = false;
  /** While paused: the counter value. */
  frozenValue = 0;
  /** Modes 2, 3: a count written while counting takes effect at the end of the current period. */
  pendingCount = -1;
  pendingAtNs = Infinity;
  nullCount = true;
  writeMsbNext = false;
  lsbWritten = 0;
  readMsbNext = false;
  /** Latched count (-1: none) and which byte of it comes next. */
  latched = -1;
  latchedMsbNext = false;
  /** Latched status byte (-1: none). */
  status = -1;

  get modulus(): number {
    return this.bcd ? 10000 : 0x10000;
  }

  reset(): void {
    this.mode = 0;
    this.rw = 3;
    this.bcd = false;
    this.count = 0x10000;
    this.phase = Phase.Idle;
    this.startNs = 0;
    this.startValue = 0x10000;
    this.terminalDone = false;
    this.frozenValue = 0;
    this.pendingCount = -1;
    this.pendingAtNs = Infinity;
    this.nullCount = true;
    this.writeMsbNext = false;
    this.lsbWritten = 0;
    this.readMsbNext = false;
    this.latched = -1;
    this.latchedMsbNext = false;
    this.status = -1;
  }

  /** Applies a reload that was waiting for the end of a period. */
  sync(now: number): void {
    if (this.pendingCount >= 0 && now >= this.pendingAtNs) {
      this.count = this.pendingCount;
      this.startValue = this.pendingCount;
      this.startNs = this.pendingAtNs;
      this.pendingCount = -1;
      this.pendingAtNs = Infinity;
    }
  }

  /** The counting element's value at `now`, in 0..modulus-1 (binary). */
  value(now: number): number {
    const mod = this.modulus;
    if (this.phase === Phase.Paused) return this.frozenValue % mod;
    if (this.phase !== Phase.Counting) return this.startValue % mod;
    const t = ticksBetween(this.startNs, now);
    switch (this.mode) {
      case 2: {
        const n = Math.max(2, this.startValue);
        return (n - (t % n)) % mod;
      }
      case 3: {
        // Counts down by two, twice per period (once per half).
        const n = Math.max(2, this.startValue);
        const p = t % n;
        const high = Math.ceil(n / 2);
        const even = n & ~1;
        return (p < high ? even - 2 * p : even - 2 * (p - high)) % mod;
      }
      default:
        return (((this.startValue - t) % mod) + mod) % mod;
    }
  }

  /** The OUT pin at `now`. */
  out(now: number): boolean {
    switch (this.phase) {
      case Phase.Idle:
        return this.mode !== 0;
      case Phase.Armed:
        return true;
      case Phase.Paused:
        // Modes 2 and 3 force OUT high while the gate is low; modes 0 and 4 hold it.
        return this.mode === 0 ? this.terminalDone : true;
      default:
        break;
    }
    const t = ticksBetween(this.startNs, now);
    switch (this.mode) {
      case 0:
      case 1:
        return this.terminalDone || t >= this.startValue;
      case 2: {
        const n = Math.max(2, this.startValue);
        return t % n !== n - 1;
      }
      case 3: {
        const n = Math.max(2, this.startValue);
        return t % n < Math.ceil(n / 2);
      }
      default: // 4, 5: one clock low at terminal count
        return this.terminalDone || t !== this.startValue;
    }
  }

  /** Guest time of the first rising edge of OUT strictly after `now`, or Infinity. */
  nextRisingEdge(now: number): number {
    if (this.phase !== Phase.Counting) return Infinity;
    if (this.pendingCount >= 0) return this.pendingAtNs;
    const t = ticksBetween(this.startNs, now);
    switch (this.mode) {
      case 0:
      case 1:
        return this.terminalDone || t >= this.startValue ? Infinity : timeOfTick(this.startNs, this.startValue);
      case 2:
      case 3: {
        const n = Math.max(2, this.startValue);
        return timeOfTick(this.startNs, (Math.floor(t / n) + 1) * n);
      }
      default:
        return this.terminalDone || t > this.startValue ? Infinity : timeOfTick(this.startNs, this.startValue + 1);
    }
  }

  /** Stops counting for a low gate, remembering where it was. */
  freeze(now: number): void {
    if (this.phase !== Phase.Counting) return;
    const t = ticksBetween(this.startNs, now);
    if ((this.mode === 0 || this.mode === 4) && t >= this.startValue) this.terminalDone = true;
    this.frozenValue = this.value(now);
    this.phase = Phase.Paused;
  }

  start(now: number, value: number): void {
    this.phase = Phase.Counting;
    this.startNs = now;
    this.startValue = value;
  }

  writeControl(value: number): void {
    this.rw = (value >> 4) & 3;
    let mode = (value >> 1) & 7;
    if (mode > 5) mode -= 4; // 110 and 111 are modes 2 and 3
    this.mode = mode;
    this.bcd = (value & 1) !== 0;
    this.phase = Phase.Idle;
    this.terminalDone = false;
    this.pendingCount = -1;
    this.pendingAtNs = Infinity;
    this.nullCount = true;
    this.writeMsbNext = false;
    this.readMsbNext = false;
    this.latched = -1;
    this.status = -1;
  }

  writeByte(value: number, now: number): void {
    if (this.rw === 1) {
      this.loadCount(value, now);
    } else if (this.rw === 2) {
      this.loadCount(value << 8, now);
    } else if (!this.writeMsbNext) {
      this.lsbWritten = value;
      this.writeMsbNext = true;
      if (this.mode === 0) {
        // Mode 0: writing the first byte stops counting and sets OUT low at once.
        this.phase = Phase.Idle;
        this.terminalDone = false;
      }
    } else {
      this.writeMsbNext = false;
      this.loadCount(this.lsbWritten | (value << 8), now);
    }
  }

  private loadCount(raw: number, now: number): void {
    let n = this.bcd ? fromBcd(raw) : raw;
    if (n === 0) n = this.modulus;
    this.nullCount = false;
    switch (this.mode) {
      case 0:
      case 4:
        this.count = n;
        this.terminalDone = false;
        if (this.gate) {
          this.start(now, n);
        } else {
          this.phase = Phase.Paused;
          this.frozenValue = n;
        }
        return;
      case 1:
      case 5:
        // Takes effect at the next trigger.
        this.count = n;
        if (this.phase === Phase.Idle) {
          this.phase = Phase.Armed;
          this.startValue = n;
        }
        return;
      default: // 2, 3
        if (this.phase === Phase.Counting) {
          // The current period finishes with the old count.
          this.pendingCount = n;
          this.pendingAtNs = this.nextRisingEdgeIgnoringPending(now);
          return;
        }
        this.count = n;
        if (this.gate) {
          this.start(now, n);
        } else {
          this.phase = Phase.Paused;
          this.frozenValue = n;
        }
    }
  }

  private nextRisingEdgeIgnoringPending(now: number): number {
    const saved = this.pendingCount;
    this.pendingCount = -1;
    const at = this.nextRisingEdge(now);
    this.pendingCount = saved;
    return at;
  }

  setGate(level: boolean, now: number): void {
    if (level === this.gate) return;
    this.gate = level;
    if (!level) {
      if (this.mode !== 1 && this.mode !== 5) this.freeze(now);
      return;
    }
    switch (this.mode) {
      case 0:
      case 4:
        if (this.phase === Phase.Paused) this.start(now, this.frozenValue === 0 ? this.modulus : this.frozenValue);
        return;
      case 1:
      case 5:
        // Rising gate edge: (re)trigger with the count register.
        if (this.phase !== Phase.Idle) {
          this.terminalDone = false;
          this.start(now, this.count);
        }
        return;
      default:
        // Modes 2, 3: a rising gate reloads the counter.
        if (this.phase === Phase.Paused) {
          this.pendingCount = -1;
          this.pendingAtNs = Infinity;
          this.start(now, this.count);
        }
    }
  }

  latchCount(now: number): void {
    if (this.latched >= 0) return; // further latch commands are ignored until it is read
    this.latched = this.readableValue(now);
    this.latchedMsbNext = false;
  }

  latchStatus(now: number): void {
    if (this.status >= 0) return;
    this.status = (this.out(now) ? 0x80 : 0) | (this.nullCount ? 0x40 : 0) | (this.rw << 4) | (this.mode << 1) | (this.bcd ? 1 : 0);
  }

  readByte(now: number): number {
    if (this.status >= 0) {
      const s = this.status;
      this.status = -1;
      return s;
    }
    if (this.latched >= 0) {
      const v = this.latched;
      if (this.rw === 1) {
        this.latched = -1;
        return v & 0xff;
      }
      if (this.rw === 2) {
        this.latched = -1;
        return v >> 8;
      }
      if (!this.latchedMsbNext) {
        this.latchedMsbNext = true;
        return v & 0xff;
      }
      this.latched = -1;
      this.latchedMsbNext = false;
      return v >> 8;
    }
    const v = this.readableValue(now);
    if (this.rw === 1) return v & 0xff;
    if (this.rw === 2) return v >> 8;
    this.readMsbNext = !this.readMsbNext;
    return this.readMsbNext ? v & 0xff : v >> 8;
  }

  private readableValue(now: number): number {
    const v = this.value(now);
    return this.bcd ? toBcd(v) : v;
  }

  save(): DeviceState {
    return {
      mode: this.mode, rw: this.rw, bcd: this.bcd, count: this.count, phase: this.phase, gate: this.gate,
      startNs: this.startNs, startValue: this.startValue, terminalDone: this.terminalDone, frozenValue: this.frozenValue,
      pendingCount: this.pendingCount, pendingAtNs: timeToState(this.pendingAtNs), nullCount: this.nullCount,
      writeMsbNext: this.writeMsbNext, lsbWritten: this.lsbWritten, readMsbNext: this.readMsbNext,
      latched: this.latched, latchedMsbNext: this.latchedMsbNext, status: this.status,
    };
  }

  restore(s: DeviceState, name: string): void {
    this.mode = stateNumber(s, name, 'mode');
    this.rw = stateNumber(s, name, 'rw');
    this.bcd = stateBoolean(s, name, 'bcd');
    this.count = stateNumber(s, name, 'count');
    this.phase = stateNumber(s, name, 'phase') as Phase;
    this.gate = stateBoolean(s, name, 'gate');
    this.startNs = stateNumber(s, name, 'startNs');
    this.startValue = stateNumber(s, name, 'startValue');
    this.terminalDone = stateBoolean(s, name, 'terminalDone');
    this.frozenValue = stateNumber(s, name, 'frozenValue');
    this.pendingCount = stateNumber(s, name, 'pendingCount');
    this.pendingAtNs = stateTime(s, name, 'pendingAtNs');
    this.nullCount = stateBoolean(s, name, 'nullCount');
    this.writeMsbNext = stateBoolean(s, name, 'writeMsbNext');
    this.lsbWritten = stateNumber(s, name, 'lsbWritten');
    this.readMsbNext = stateBoolean(s, name, 'readMsbNext');
    this.latched = stateNumber(s, name, 'latched');
    this.latchedMsbNext = stateBoolean(s, name, 'latchedMsbNext');
    this.status = stateNumber(s, name, 'status');
    if (this.mode < 0 || this.mode > 5 || this.rw < 1 || this.rw > 3 || this.phase < 0 || this.phase > 3) {
      throw new Error(`${name} state: mode ${this.mode} / access ${this.rw} / phase ${this.phase} out of range`);
    }
  }
}

/** Refresh request toggle period of port 0x61 bit 4 on AT-class boards: 15.085 µs. */
const REFRESH_HALF_PERIOD_NS = 15_085;

export class Pit8254 implements Device {
  readonly name = 'pit';
  private readonly channels = [new Channel(), new Channel(), new Channel()] as const;
  private clock: GuestClock | undefined;
  private irq0: IrqLine = NO_IRQ;
  /** Port 0x61 bits 0-3 as last written (gate 2, speaker data, parity / channel check disables). */
  private portB = 0;
  /** Guest time of channel 0's next rising edge (IRQ 0). */
  private irqDeadline = Infinity;
  private irqLevel = false;
  private pulses = 0;

  attach(services: MachineServices): void {
    this.clock = services.clock;
    this.irq0 = services.irq(0);
    services.ports.register('pit', 0x40, 4, {
      read8: (port) => this.readPort(port - 0x40),
      write8: (port, value) => this.writePort(port - 0x40, value),
    });
    services.ports.register('port-b', 0x61, 1, {
      read8: () => this.readPortB(),
      write8: (_port, value) => this.writePortB(value),
    });
  }

  reset(): void {
    for (const ch of this.channels) {
      ch.reset();
      ch.gate = true;
    }
    this.portB = 0;
    this.channels[2].gate = false; // port 0x61 bit 0 resets to 0
    this.irqDeadline = Infinity;
    this.setIrqLevel(false);
  }

  nextDeadlineNs(): number {
    return this.irqDeadline;
  }

  advance(nowNs: number): void {
    if (nowNs < this.irqDeadline) return;
    const ch = this.channels[0];
    ch.sync(nowNs);
    // Several missed periods still make one edge: the PIC latches one request per line.
    this.irq0.set(false);
    this.irq0.set(true);
    this.irqLevel = true;
    this.pulses++;
    this.irqDeadline = ch.nextRisingEdge(nowNs);
  }

  /** OUT of channel `index` now (tests, speaker). */
  output(index: 0 | 1 | 2): boolean {
    const now = this.now();
    const ch = this.channels[index];
    ch.sync(now);
    return ch.out(now);
  }

  metrics(): Record<string, number> {
    return { irq0Pulses: this.pulses };
  }

  saveState(): DeviceState {
    return {
      channels: this.channels.map((c) => c.save()),
      portB: this.portB,
      irqDeadlineNs: timeToState(this.irqDeadline),
      irqLevel: this.irqLevel,
    };
  }

  restoreState(state: DeviceState): void {
    const saved = stateObjects(state, 'pit', 'channels', 3);
    this.channels.forEach((c, i) => c.restore(saved[i]!, `pit channel ${i}`));
    this.portB = stateNumber(state, 'pit', 'portB') & 0x0f;
    this.irqDeadline = stateTime(state, 'pit', 'irqDeadlineNs');
    this.setIrqLevel(stateBoolean(state, 'pit', 'irqLevel'));
  }

  private now(): number {
    return this.clock ? this.clock.nowNs() : 0;
  }

  private readPort(offset: number): number {
    if (offset === 3) return 0xff; // the control word register cannot be read
    const now = this.now();
    const ch = this.channels[offset as 0 | 1 | 2];
    ch.sync(now);
    return ch.readByte(now);
  }

  private writePort(offset: number, value: number): void {
    const now = this.now();
    if (offset < 3) {
      const ch = this.channels[offset as 0 | 1 | 2];
      ch.sync(now);
      ch.writeByte(value, now);
      if (offset === 0) this.channel0Changed(now);
      return;
    }
    const select = value >> 6;
    if (select === 3) {
      // Read-back: D5 = 0 latches counts, D4 = 0 latches status, D3-D1 select counters 2-0.
      for (let i = 0; i < 3; i++) {
        if ((value & (2 << i)) === 0) continue;
        const ch = this.channels[i as 0 | 1 | 2];
        ch.sync(now);
        if ((value & 0x20) === 0) ch.latchCount(now);
        if ((value & 0x10) === 0) ch.latchStatus(now);
      }
      return;
    }
    const ch = this.channels[select as 0 | 1 | 2];
    ch.sync(now);
    if ((value & 0x30) === 0) {
      ch.latchCount(now);
      return;
    }
    ch.writeControl(value);
    if (select === 0) this.channel0Changed(now);
  }

  /** After channel 0 was reprogrammed: OUT0 may have changed level, and the next IRQ moved. */
  private channel0Changed(now: number): void {
    const ch = this.channels[0];
    this.setIrqLevel(ch.out(now));
    this.irqDeadline = ch.nextRisingEdge(now);
  }

  private setIrqLevel(level: boolean): void {
    this.irqLevel = level;
    this.irq0.set(level);
  }

  private readPortB(): number {
    const now = this.now();
    const ch2 = this.channels[2];
    ch2.sync(now);
    const refresh = Math.floor(now / REFRESH_HALF_PERIOD_NS) & 1;
    return (this.portB & 0x0f) | (refresh << 4) | (ch2.out(now) ? 0x20 : 0);
  }

  private writePortB(value: number): void {
    this.portB = value & 0x0f;
    const now = this.now();
    const ch2 = this.channels[2];
    ch2.sync(now);
    ch2.setGate((value & 1) !== 0, now);
  }
}
