/**
 * Every component's snapshot state round-trips: save -> JSON -> restore into
 * a fresh instance -> the same saveState(). The machine is caught mid-run
 * (paging off, but PIC/PIT programmed, x87 stack loaded, ISR bits set) and
 * every device is put in a non-default state through its ports first.
 * The Linux snapshot test runs the same checks on a booted Linux guest.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../machine.ts';
import { InstructionClock, RealTimeClock } from '../time/clock.ts';
import { checkComponentRoundTrips } from './test-support/component-round-trip.ts';
import { TICKS_ADDRESS, tickProgram } from './test-support/tick-program.ts';

const MiB = 1024 * 1024;

function busyMachine(secondUart: boolean): Machine {
  const m = new Machine({ ramBytes: 8 * MiB, clock: { mode: 'instructions' }, testExit: true, secondUart, startEpochMs: Date.UTC(2026, 5, 30, 23, 59, 58) });
  m.bootMultiboot(tickProgram(1000));
  for (let i = 0; i < 10_000 && m.memory.physRead(TICKS_ADDRESS, 4) < 3; i++) m.runSlice(7, 1000);
  const out = (port: number, value: number) => m.ports.write(port, 1, value);
  const inb = (port: number) => m.ports.read(port, 1);
  // PIT: channel 2 in mode 3 gated on through port B, a latched count waiting to be read, a half-written reload on channel 1.
  out(0x61, 0x01);
  out(0x43, 0xb6);
  out(0x42, 0x34);
  out(0x42, 0x12);
  out(0x43, 0x80);
  inb(0x42);
  out(0x43, 0x74);
  out(0x41, 0x99);
  // UART: 8N1 at 38400, FIFO with trigger 8, RX interrupt on, input queued and a byte in the FIFO, scratch register.
  out(0x3fb, 0x83);
  out(0x3f8, 3);
  out(0x3f9, 0);
  out(0x3fb, 0x03);
  out(0x3fa, 0x81);
  out(0x3f9, 0x01);
  out(0x3fc, 0x0b);
  out(0x3ff, 0xa5);
  m.uart0.receive(new TextEncoder().encode('snapshot'));
  m.uart0.advance?.(m.clock.nowNs());
  // RTC: binary 24-hour mode, periodic interrupt at 1024 Hz, a CMOS byte, index left pointing somewhere.
  out(0x70, 0x0b);
  out(0x71, 0x46);
  out(0x70, 0x0a);
  out(0x71, 0x26);
  out(0x70, 0x40);
  out(0x71, 0x77);
  out(0x70, 0x0c);
  inb(0x71);
  out(0x70, 0x02);
  // i8042: command byte written, a read of the output port pending.
  out(0x64, 0x60);
  out(0x60, 0x45);
  out(0x64, 0xd0);
  // POST code.
  out(0x80, 0x42);
  // Let some guest time pass so that the timed devices move.
  for (let i = 0; i < 50; i++) m.runSlice(7, 1000);
  return m;
}

describe('component snapshot round trips', () => {
  it('CPU, x87, clock, PIC, PIT, UART, CMOS, i8042, debug ports and the memory map', () => {
    const m = busyMachine(false);
    expect(m.pic.saveState()).not.toEqual(new Machine({ ramBytes: 8 * MiB }).pic.saveState());
    expect(checkComponentRoundTrips(m).sort()).toEqual(['clock', 'cpu', 'debug', 'fpu', 'i8042', 'memory', 'pic', 'pit', 'rtc', 'uart0']);
    m.release();
  });

  it('with a second UART and without an x87 unit', () => {
    const m = busyMachine(true);
    expect(checkComponentRoundTrips(m)).toContain('uart1');
    m.release();
    const bare = new Machine({ ramBytes: 8 * MiB, clock: { mode: 'instructions' }, fpu: false, testExit: true });
    bare.bootMultiboot(tickProgram(1000).map((b, i) => (i >= 0x40 + 64 && i < 0x40 + 72 ? 0x90 : b))); // the x87 instructions become NOPs
    for (let i = 0; i < 100; i++) bare.runSlice(7, 1000);
    expect(bare.memory.physRead(TICKS_ADDRESS, 4)).toBeGreaterThan(0);
    expect(checkComponentRoundTrips(bare)).not.toContain('fpu');
    bare.release();
  });

  it('clocks restore their guest time exactly', () => {
    let host = 5;
    const rt = new RealTimeClock(() => host);
    host = 17.25;
    const rtState = JSON.parse(JSON.stringify(rt.saveState()));
    host = 1e9; // restored much later on the host: guest time must not jump
    const rt2 = new RealTimeClock(() => host);
    rt2.restoreState(rtState);
    expect(rt2.saveState()).toEqual(rtState);
    expect(rt2.nowNs()).toBe(12.25e6);

    let retired = 1000;
    const ic = new InstructionClock(() => retired, { nsPerInstruction: 2 });
    ic.skipTo(1e6);
    const icState = JSON.parse(JSON.stringify(ic.saveState()));
    retired = 0; // a fresh CPU's count; the CPU's own state restores the real count before the clock
    const ic2 = new InstructionClock(() => retired, { nsPerInstruction: 2 });
    retired = 1000;
    ic2.restoreState(icState);
    expect(ic2.saveState()).toEqual(icState);
    retired = 1010;
    expect(ic2.nowNs()).toBe(ic.nowNs());
  });
});
