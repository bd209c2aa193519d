import { describe, expect, it } from 'vitest';
import { CmosRtc, dateTimeFromUnix, unixFromDateTime } from './cmos-rtc.ts';
import { testBoard } from './test-support/services.ts';

const MiB = 1024 * 1024;
// Thursday 29 February 2024, 13:45:30.250 UTC
const START = Date.UTC(2024, 1, 29, 13, 45, 30, 250);

function setup(ramBytes = 128 * MiB) {
  const board = testBoard();
  const rtc = new CmosRtc({ ramBytes, startEpochMs: START });
  rtc.attach(board.services);
  rtc.reset();
  const read = (index: number) => {
    board.ports.write(0x70, 1, index);
    return board.ports.read(0x71, 1);
  };
  const write = (index: number, value: number) => {
    board.ports.write(0x70, 1, index);
    board.ports.write(0x71, 1, value);
  };
  return { board, rtc, read, write };
}

describe('MC146818 RTC / CMOS', () => {
  it('converts between Unix time and calendar dates', () => {
    const t = dateTimeFromUnix(START / 1000);
    expect(t).toEqual({ second: 30, minute: 45, hour: 13, weekday: 5, day: 29, month: 2, year: 2024 });
    expect(unixFromDateTime(t)).toBe(Math.floor(START / 1000));
    expect(dateTimeFromUnix(0).weekday).toBe(5); // 1970-01-01, a Thursday
  });

  it('shows the host time in BCD, 24-hour form', () => {
    const { read } = setup();
    expect(read(0)).toBe(0x30);
    expect(read(2)).toBe(0x45);
    expect(read(4)).toBe(0x13);
    expect(read(6)).toBe(5);
    expect(read(7)).toBe(0x29);
    expect(read(8)).toBe(0x02);
    expect(read(9)).toBe(0x24);
    expect(read(0x32)).toBe(0x20);
    expect(read(0x0d)).toBe(0x80);
    expect(read(0x0b) & 0x06).toBe(0x02);
  });

  it('follows register B: binary and 12-hour modes', () => {
    const { read, write } = setup();
    write(0x0b, 0x06); // binary, 24 h
    expect(read(0)).toBe(30);
    expect(read(4)).toBe(13);
    expect(read(9)).toBe(24);
    write(0x0b, 0x00); // BCD, 12 h
    expect(read(4)).toBe(0x81); // 1 PM
  });

  it('advances with the guest clock and stops with it', () => {
    const { board, read } = setup();
    board.clock.ns = 61e9;
    expect(read(0)).toBe(0x31);
    expect(read(2)).toBe(0x46);
  });

  it('lets the guest set the time with SET', () => {
    const { board, read, write } = setup();
    write(0x0b, 0x82); // SET, 24 h, BCD
    write(4, 0x08);
    write(2, 0x00);
    write(0, 0x00);
    write(9, 0x99);
    board.clock.ns = 5e9; // held while SET
    expect(read(0)).toBe(0x00);
    write(0x0b, 0x02);
    board.clock.ns = 7e9;
    expect(read(0)).toBe(0x02);
    expect(read(4)).toBe(0x08);
    expect(read(9)).toBe(0x99);
    expect(read(0x32)).toBe(0x20);
  });

  it('sets UIP just before each update', () => {
    const { board, read } = setup();
    // The host time started 250 ms into a second: the next update is 750 ms later.
    board.clock.ns = 750e6 - 100e3;
    expect(read(0x0a) & 0x80).toBe(0x80);
    board.clock.ns = 750e6 + 1e3;
    expect(read(0x0a) & 0x80).toBe(0);
    expect(read(0)).toBe(0x31);
  });

  it('raises periodic interrupts at the register A rate; reading C clears them', () => {
    const { board, rtc, read, write } = setup();
    write(0x0a, 0x2f); // 2 Hz
    write(0x0b, 0x42); // PIE
    const deadline = rtc.nextDeadlineNs();
    expect(deadline).toBeCloseTo(500e6, -3);
    board.clock.ns = deadline;
    rtc.advance(deadline);
    expect(board.levels[8]).toBe(true);
    expect(rtc.nextDeadlineNs()).toBe(Infinity); // asserted until C is read
    expect(read(0x0c) & 0xc0).toBe(0xc0);
    expect(board.levels[8]).toBe(false);
    expect(read(0x0c)).toBe(0);
  });

  it('sets update-ended and alarm flags without interrupts unless enabled', () => {
    const { board, rtc, read, write } = setup();
    expect(read(0x0c) & 0x40).toBe(0);
    board.clock.ns = 1e6;
    expect(read(0x0c)).toBe(0x40); // PF at 1024 Hz, even with PIE off
    write(0x0a, 0x20); // no periodic rate
    write(0x01, 0x31); // alarm at xx:xx:31 (hours, minutes "don't care")
    write(0x03, 0xc0);
    write(0x05, 0xc0);
    board.clock.ns = 800e6;
    rtc.advance(board.clock.ns);
    expect(board.levels[8]).toBe(false);
    expect(read(0x0c)).toBe(0x30); // UF | AF, no IRQF
    write(0x0b, 0x12); // UIE
    board.clock.ns = 1800e6;
    rtc.advance(board.clock.ns);
    expect(board.levels[8]).toBe(true);
    expect(read(0x0c)).toBe(0x90);
  });

  it('reports memory sizes in the BIOS bytes', () => {
    const { read } = setup(128 * MiB);
    expect(read(0x15) | (read(0x16) << 8)).toBe(640);
    expect(read(0x17) | (read(0x18) << 8)).toBe(0xffff); // 127 MiB in KiB, capped
    expect(read(0x30) | (read(0x31) << 8)).toBe(0xffff);
    expect(read(0x34) | (read(0x35) << 8)).toBe((128 - 16) * 16);
    const small = setup(32 * MiB);
    expect(small.read(0x17) | (small.read(0x18) << 8)).toBe(31 * 1024);
    let sum = 0;
    for (let i = 0x10; i <= 0x2d; i++) sum += small.read(i);
    expect((small.read(0x2e) << 8) | small.read(0x2f)).toBe(sum);
  });

  it('keeps NMI mask and general CMOS RAM; round-trips its state', () => {
    const { board, rtc, read, write } = setup();
    board.ports.write(0x70, 1, 0x80 | 0x40);
    expect(rtc.nmiDisabled).toBe(true);
    write(0x40, 0x12);
    expect(read(0x40)).toBe(0x12);
    const saved = JSON.parse(JSON.stringify(rtc.saveState()));
    const other = setup();
    other.board.clock.ns = board.clock.ns;
    other.rtc.restoreState(saved);
    expect(other.read(0x40)).toBe(0x12);
    expect(other.read(0)).toBe(read(0));
  });
});
