/**
 * Motorola MC146818-compatible real-time clock with its 128 bytes of CMOS
 * RAM: index port 0x70 (bit 7 masks NMI), data port 0x71, IRQ 8.
 *
 * Time comes from the guest clock: the RTC keeps "Unix time at guest time
 * baseNs", initialised from the host's wall clock, so pausing the VM also
 * pauses the RTC, and a guest that sets the clock moves only its own offset.
 * Following the MC146818A datasheet:
 * - Registers 0-9 hold seconds, alarm seconds, minutes, alarm minutes,
 *   hours, alarm hours, day of week (Sunday = 1), date, month, year, in BCD
 *   or binary (register B DM) and 12- or 24-hour form (register B 24/12; in
 *   12-hour form bit 7 of the hours means PM). Register 0x32 holds the century.
 * - Register A: UIP (bit 7) is 1 during the 244 µs before each once-a-second
 *   update, when the time registers are about to change; RS3-0 select the
 *   periodic interrupt rate (32768 Hz >> (RS-1); RS 1 and 2 give 256 and
 *   128 Hz).
 * - Register B: SET stops updates so the guest can load a time (and clears
 *   UIE), PIE / AIE / UIE enable the periodic, alarm and update-ended
 *   interrupts.
 * - Register C: IRQF PF AF UF; reading it clears them all and releases IRQ 8.
 *   PF/AF/UF are set even when their interrupt is disabled.
 * - Register D: VRT = 1 (the battery is good).
 * CMOS RAM bytes the PC BIOS defines for memory size (0x15-0x18, 0x30-0x31,
 * 0x34-0x35) are filled from the RAM size, with the checksum at 0x2E-0x2F.
 */
import type { Device, DeviceState, IrqLine, MachineServices } from './device.ts';
import { NO_IRQ } from './device.ts';
import type { GuestClock } from '../time/clock.ts';
import { stateBoolean, stateNumber, stateNumbers } from './state.ts';
import { DOUBLE_ZERO } from '../util/number-fields.ts';

const REG_A = 0x0a;
const REG_B = 0x0b;
const REG_C = 0x0c;
const REG_D = 0x0d;
const REG_CENTURY = 0x32;

const B_SET = 0x80;
const B_PIE = 0x40;
const B_AIE = 0x20;
const B_UIE = 0x10;
const B_DM_BINARY = 0x04;
const B_24H = 0x02;

const C_IRQF = 0x80;
const C_PF = 0x40;
const C_AF = 0x20;
const C_UF = 0x10;

/** UIP rises this long before each update. */
const UIP_LEAD_NS = 244_000;
const SECOND_NS = 1e9;

/** A broken-down UTC date and time. */
interface DateTime {
  second: number;
  minute: number;
  hour: number;
  /** 1 = Sunday ... 7 = Saturday. */
  weekday: number;
  day: number;
  month: number;
  year: number;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (the usual era-based civil calendar arithmetic). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

export function dateTimeFromUnix(seconds: number): DateTime {
  const s = Math.floor(seconds);
  const days = Math.floor(s / 86400);
  const secOfDay = s - days * 86400;
  const { year, month, day } = civilFromDays(days);
  return {
    second: secOfDay % 60,
    minute: Math.floor(secOfDay / 60) % 60,
    hour: Math.floor(secOfDay / 3600),
    weekday: ((((days + 4) % 7) + 7) % 7) + 1, // 1970-01-01 was a Thursday
    day,
    month,
    year,
  };
}

export function unixFromDateTime(t: DateTime): number {
  return daysFromCivil(t.year, t.month, t.day) * 86400 + t.hour * 3600 + t.minute * 60 + t.second;
}

function toBcd(n: number): number {
  return ((Math.floor(n / 10) % 10) << 4) | (n % 10);
}

function fromBcd(v: number): number {
  return (v >> 4) * 10 + (v & 0x0f);
}

export interface CmosRtcOptions {
  /** Guest RAM size, for the BIOS memory-size bytes. */
  ramBytes: number;
  /** Wall-clock time (Unix ms) the RTC shows at guest time 0; default: the host's Date.now(). */
  startEpochMs?: number;
}

export class CmosRtc implements Device {
  readonly name = 'rtc';
  private readonly ramBytes: number;
  private readonly startEpochMs: number;
  private clock: GuestClock | undefined;
  private irqLine: IrqLine = NO_IRQ;

  /** CMOS RAM; the clock registers 0-9 and 0x0C live in the fields below instead. */
  private readonly ram = new Uint8Array(128);
  private index = 0;
  private nmiMasked = false;
  /** Unix seconds (fractional) at guest time baseNs. */
  private baseSeconds = DOUBLE_ZERO;
  private baseNs = DOUBLE_ZERO;
  /** While SET is 1: the time being loaded by the guest. */
  private held: DateTime = dateTimeFromUnix(0);
  private flags = 0;
  private irqLevel = false;
  /** Guest time up to which periodic / update / alarm events have been accounted. */
  private syncedNs = DOUBLE_ZERO;
  /** Periodic ticks count from here (set when the rate changes). */
  private periodicOriginNs = DOUBLE_ZERO;
  private interrupts = 0;

  constructor(options: CmosRtcOptions) {
    this.ramBytes = options.ramBytes;
    this.startEpochMs = options.startEpochMs ?? Date.now();
  }

  attach(services: MachineServices): void {
    this.clock = services.clock;
    this.irqLine = services.irq(8);
    services.ports.register('rtc', 0x70, 2, {
      // The index register is write-only: reads of 0x70 float.
      read8: (port) => (port === 0x70 ? 0xff : this.readRegister(this.index)),
      write8: (port, value) => {
        if (port === 0x70) {
          this.index = value & 0x7f;
          this.nmiMasked = (value & 0x80) !== 0;
        } else {
          this.writeRegister(this.index, value);
        }
      },
    });
  }

  /** Power-on state. The time keeps running from the host clock (the chip is battery-backed). */
  reset(): void {
    const now = this.now();
    this.ram.fill(0);
    this.index = 0;
    this.nmiMasked = false;
    this.baseNs = now;
    this.baseSeconds = this.startEpochMs / 1000 + now / SECOND_NS;
    this.ram[REG_A] = 0x26; // 32.768 kHz time base, 1024 Hz periodic rate
    this.ram[REG_B] = B_24H; // BCD, 24-hour, no interrupts
    this.flags = 0;
    this.syncedNs = now;
    this.periodicOriginNs = now;
    this.fillBiosBytes();
    this.ram[REG_CENTURY] = this.encode(Math.floor(this.currentTime(now).year / 100));
    this.updateChecksum();
    this.setIrq(false);
  }

  /** True when the guest has masked NMI via port 0x70 bit 7. */
  get nmiDisabled(): boolean {
    return this.nmiMasked;
  }

  nextDeadlineNs(): number {
    if (this.flags & C_IRQF) return Infinity; // IRQ 8 stays asserted until register C is read
    const b = this.ram[REG_B]!;
    let next = Infinity;
    const period = this.periodNs();
    if (b & B_PIE && period > 0) {
      const k = Math.floor((this.syncedNs - this.periodicOriginNs) / period) + 1;
      next = this.periodicOriginNs + k * period;
    }
    if (b & (B_UIE | B_AIE) && !(b & B_SET)) {
      const secs = this.unixSeconds(this.syncedNs);
      next = Math.min(next, this.baseNs + (Math.floor(secs) + 1 - this.baseSeconds) * SECOND_NS);
    }
    return next;
  }

  advance(nowNs: number): void {
    this.sync(nowNs);
  }

  metrics(): Record<string, number> {
    return { interrupts: this.interrupts };
  }

  // ---- registers -------------------------------------------------------------

  readRegister(index: number): number {
    const now = this.now();
    if (index <= 9 || index === REG_CENTURY) {
      const t = this.currentTime(now);
      switch (index) {
        case 0: return this.encode(t.second);
        case 2: return this.encode(t.minute);
        case 4: return this.encodeHour(t.hour);
        case 6: return this.encode(t.weekday);
        case 7: return this.encode(t.day);
        case 8: return this.encode(t.month);
        case 9: return this.encode(t.year % 100);
        case REG_CENTURY: return this.encode(Math.floor(t.year / 100));
        default: return this.ram[index]!; // alarm registers 1, 3, 5
      }
    }
    switch (index) {
      case REG_A:
        return (this.ram[REG_A]! & 0x7f) | (this.updateInProgress(now) ? 0x80 : 0);
      case REG_C: {
        this.sync(now);
        const c = this.flags;
        this.flags = 0;
        this.setIrq(false);
        return c;
      }
      case REG_D:
        return 0x80;
      default:
        return this.ram[index]!;
    }
  }

  writeRegister(index: number, value: number): void {
    const now = this.now();
    this.sync(now);
    if (index <= 9 || index === REG_CENTURY) {
      if (index === 1 || index === 3 || index === 5) {
        this.ram[index] = value;
        return;
      }
      const t = this.currentTime(now);
      switch (index) {
        case 0: t.second = this.decode(value) % 60; break;
        case 2: t.minute = this.decode(value) % 60; break;
        case 4: t.hour = this.decodeHour(value) % 24; break;
        case 6: t.weekday = this.decode(value); break;
        case 7: t.day = Math.max(1, this.decode(value)); break;
        case 8: t.month = Math.min(12, Math.max(1, this.decode(value))); break;
        case 9: t.year = Math.floor(t.year / 100) * 100 + (this.decode(value) % 100); break;
        default: t.year = this.decode(value) * 100 + (t.year % 100); break;
      }
      if (this.ram[REG_B]! & B_SET) {
        this.held = t;
      } else {
        // Setting a field while the clock runs keeps the sub-second phase.
        this.setTime(t, now, this.unixSeconds(now) % 1);
      }
      if (index === REG_CENTURY) this.ram[REG_CENTURY] = value;
      return;
    }
    switch (index) {
      case REG_A: {
        const old = this.ram[REG_A]!;
        this.ram[REG_A] = value & 0x7f;
        if ((old ^ value) & 0x0f) this.periodicOriginNs = now;
        break;
      }
      case REG_B: {
        const old = this.ram[REG_B]!;
        let b = value;
        if (b & B_SET) b &= ~B_UIE; // datasheet: SET clears UIE
        if (b & B_SET && !(old & B_SET)) this.held = this.currentTime(now);
        if (!(b & B_SET) && old & B_SET) this.setTime(this.held, now, 0);
        this.ram[REG_B] = b;
        this.updateIrqFlag();
        break;
      }
      case REG_C:
      case REG_D:
        break; // read-only
      default:
        this.ram[index] = value;
    }
  }

  // ---- time ------------------------------------------------------------------

  private now(): number {
    return this.clock ? this.clock.nowNs() : 0;
  }

  private unixSeconds(now: number): number {
    return this.baseSeconds + (now - this.baseNs) / SECOND_NS;
  }

  private currentTime(now: number): DateTime {
    if (this.ram[REG_B]! & B_SET) return { ...this.held };
    return dateTimeFromUnix(this.unixSeconds(now));
  }

  private setTime(t: DateTime, now: number, fraction: number): void {
    this.baseSeconds = unixFromDateTime(t) + fraction;
    this.baseNs = now;
    this.syncedNs = now;
  }

  private updateInProgress(now: number): boolean {
    if (this.ram[REG_B]! & B_SET) return false;
    const frac = this.unixSeconds(now) % 1;
    return frac >= 1 - UIP_LEAD_NS / SECOND_NS;
  }

  /** Periodic interrupt period in ns, or 0 when RS = 0. */
  private periodNs(): number {
    const rs = this.ram[REG_A]! & 0x0f;
    if (rs === 0) return 0;
    const hz = rs <= 2 ? 256 >> (rs - 1) : 32768 >> (rs - 1);
    return SECOND_NS / hz;
  }

  /** Sets the PF / UF / AF flags for events between the last sync and `now`. */
  private sync(now: number): void {
    if (now <= this.syncedNs) return;
    const from = this.syncedNs;
    this.syncedNs = now;
    const period = this.periodNs();
    if (period > 0 && Math.floor((now - this.periodicOriginNs) / period) > Math.floor((from - this.periodicOriginNs) / period)) {
      this.flags |= C_PF;
    }
    if (!(this.ram[REG_B]! & B_SET)) {
      const first = Math.floor(this.unixSeconds(from)) + 1;
      const last = Math.floor(this.unixSeconds(now));
      if (last >= first) {
        this.flags |= C_UF;
        if (this.alarmMatchesBetween(first, last)) this.flags |= C_AF;
      }
    }
    this.updateIrqFlag();
  }

  /** Whether the alarm registers match any second in [first, last] (Unix seconds). */
  private alarmMatchesBetween(first: number, last: number): boolean {
    const ah = this.ram[5]!;
    const am = this.ram[3]!;
    const as = this.ram[1]!;
    // 11xxxxxx in an alarm register means "don't care".
    const want = (v: number, isHour: boolean) => ((v & 0xc0) === 0xc0 ? -1 : isHour ? this.decodeHour(v) : this.decode(v));
    const h = want(ah, true);
    const m = want(am, false);
    const s = want(as, false);
    const span = Math.min(last - first, 86400);
    for (let i = 0; i <= span; i++) {
      const sod = (((first + i) % 86400) + 86400) % 86400;
      if ((h < 0 || Math.floor(sod / 3600) === h) && (m < 0 || Math.floor(sod / 60) % 60 === m) && (s < 0 || sod % 60 === s)) return true;
    }
    return false;
  }

  private updateIrqFlag(): void {
    const b = this.ram[REG_B]!;
    const active = (this.flags & C_PF && b & B_PIE) || (this.flags & C_AF && b & B_AIE) || (this.flags & C_UF && b & B_UIE);
    if (active && !(this.flags & C_IRQF)) {
      this.flags |= C_IRQF;
      this.interrupts++;
      this.setIrq(true);
    }
  }

  private setIrq(level: boolean): void {
    if (level === this.irqLevel) return;
    this.irqLevel = level;
    this.irqLine.set(level);
  }

  // ---- encoding ----------------------------------------------------------------

  private encode(n: number): number {
    return this.ram[REG_B]! & B_DM_BINARY ? n & 0xff : toBcd(n);
  }

  private decode(v: number): number {
    return this.ram[REG_B]! & B_DM_BINARY ? v : fromBcd(v);
  }

  private encodeHour(hour: number): number {
    if (this.ram[REG_B]! & B_24H) return this.encode(hour);
    const pm = hour >= 12;
    const h12 = hour % 12 === 0 ? 12 : hour % 12;
    return this.encode(h12) | (pm ? 0x80 : 0);
  }

  private decodeHour(v: number): number {
    if (this.ram[REG_B]! & B_24H) return this.decode(v & 0x7f);
    const h12 = this.decode(v & 0x7f) % 12;
    return v & 0x80 ? h12 + 12 : h12;
  }

  // ---- BIOS bytes ------------------------------------------------------------

  private fillBiosBytes(): void {
    const extK = Math.max(0, Math.floor(this.ramBytes / 1024) - 1024);
    const ext = Math.min(extK, 0xffff);
    const above16 = Math.min(Math.max(0, Math.floor((this.ramBytes - 16 * 1024 * 1024) / 65536)), 0xffff);
    this.ram[0x10] = 0; // no floppy drives
    this.ram[0x12] = 0; // no fixed disks
    this.ram[0x14] = 0x02; // equipment: math coprocessor present, VGA class display, no floppies
    this.ram[0x15] = 640 & 0xff; // base memory, KiB
    this.ram[0x16] = 640 >> 8;
    this.ram[0x17] = ext & 0xff; // extended memory above 1 MiB, KiB
    this.ram[0x18] = ext >> 8;
    this.ram[0x30] = ext & 0xff;
    this.ram[0x31] = ext >> 8;
    this.ram[0x34] = above16 & 0xff; // memory above 16 MiB, 64 KiB units
    this.ram[0x35] = above16 >> 8;
  }

  /** The standard checksum: sum of bytes 0x10-0x2D, big-endian at 0x2E. */
  private updateChecksum(): void {
    let sum = 0;
    for (let i = 0x10; i <= 0x2d; i++) sum += this.ram[i]!;
    this.ram[0x2e] = (sum >> 8) & 0xff;
    this.ram[0x2f] = sum & 0xff;
  }

  // ---- snapshots -------------------------------------------------------------

  saveState(): DeviceState {
    return {
      ram: Array.from(this.ram), index: this.index, nmiMasked: this.nmiMasked,
      baseSeconds: this.baseSeconds, baseNs: this.baseNs,
      held: unixFromDateTime(this.held), heldWeekday: this.held.weekday,
      flags: this.flags, irqLevel: this.irqLevel, syncedNs: this.syncedNs, periodicOriginNs: this.periodicOriginNs,
    };
  }

  restoreState(state: DeviceState): void {
    const ram = stateNumbers(state, 'rtc', 'ram', 128);
    ram.forEach((v, i) => (this.ram[i] = v));
    this.index = stateNumber(state, 'rtc', 'index') & 0x7f;
    this.nmiMasked = stateBoolean(state, 'rtc', 'nmiMasked');
    this.baseSeconds = stateNumber(state, 'rtc', 'baseSeconds');
    this.baseNs = stateNumber(state, 'rtc', 'baseNs');
    this.held = { ...dateTimeFromUnix(stateNumber(state, 'rtc', 'held')), weekday: stateNumber(state, 'rtc', 'heldWeekday') };
    this.flags = stateNumber(state, 'rtc', 'flags') & 0xf0;
    this.syncedNs = stateNumber(state, 'rtc', 'syncedNs');
    this.periodicOriginNs = stateNumber(state, 'rtc', 'periodicOriginNs');
    const level = stateBoolean(state, 'rtc', 'irqLevel');
    this.irqLevel = level;
    this.irqLine.set(level);
  }
}
