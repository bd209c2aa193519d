import { describe, expect, it } from 'vitest';
import { PIT_HZ, Pit8254 } from './pit8254.ts';
import { testBoard } from './test-support/services.ts';

/** Guest ns at which `ticks` input clocks have passed since time 0 (plus a little, inside that tick). */
const at = (ticks: number) => Math.ceil((ticks * 1e9) / PIT_HZ) + 10;

function setup() {
  const board = testBoard();
  const pit = new Pit8254();
  pit.attach(board.services);
  pit.reset();
  const out = (port: number, v: number) => board.ports.write(port, 1, v);
  const inb = (port: number) => board.ports.read(port, 1);
  /** Latches and reads a channel's 16-bit count (access mode lobyte/hibyte). */
  const latch = (ch: number) => {
    out(0x43, ch << 6);
    const lo = inb(0x40 + ch);
    return lo | (inb(0x40 + ch) << 8);
  };
  return { board, pit, out, inb, latch };
}

describe('8254 PIT', () => {
  it('mode 2 counts down from the reload value and repeats', () => {
    const { board, out, latch } = setup();
    out(0x43, 0x34); // channel 0, lobyte/hibyte, mode 2, binary
    out(0x40, 1000 & 0xff);
    out(0x40, 1000 >> 8);
    expect(latch(0)).toBe(1000);
    board.clock.ns = at(1);
    expect(latch(0)).toBe(999);
    board.clock.ns = at(600);
    expect(latch(0)).toBe(400);
    board.clock.ns = at(999);
    expect(latch(0)).toBe(1);
    board.clock.ns = at(1000);
    expect(latch(0)).toBe(1000); // reloaded
    board.clock.ns = at(2500);
    expect(latch(0)).toBe(500);
  });

  it('mode 2 raises IRQ 0 once per period, at the computed deadline', () => {
    const { board, pit, out } = setup();
    out(0x43, 0x34);
    out(0x40, 0x9c); // 11932 = 100 Hz, Linux's LATCH for HZ=100
    out(0x40, 0x2e);
    const first = pit.nextDeadlineNs();
    expect(first).toBeGreaterThan(at(11931));
    expect(first).toBeLessThan(at(11932) + 5);
    const edgesBefore = board.edges[0]!;
    pit.advance(first - 2);
    expect(board.edges[0]).toBe(edgesBefore);
    pit.advance(first);
    expect(board.edges[0]).toBe(edgesBefore + 1);
    const second = pit.nextDeadlineNs();
    expect(second - first).toBeGreaterThan(9_999_000);
    expect(second - first).toBeLessThan(10_001_000);
    // 100 periods later: the PIC still sees one edge (it latches one request), then the schedule continues.
    pit.advance(first + 1e9);
    expect(board.edges[0]).toBe(edgesBefore + 2);
    expect(pit.nextDeadlineNs()).toBeGreaterThan(first + 1e9);
  });

  it('a new count in mode 2 takes effect at the end of the current period', () => {
    const { board, out, latch } = setup();
    out(0x43, 0x34);
    out(0x40, 100);
    out(0x40, 0);
    board.clock.ns = at(30);
    out(0x40, 50);
    out(0x40, 0);
    expect(latch(0)).toBe(70); // still the old period
    board.clock.ns = at(100);
    expect(latch(0)).toBe(50);
    board.clock.ns = at(120);
    expect(latch(0)).toBe(30);
  });

  it('mode 3 is a square wave with the counter stepping by two', () => {
    const { board, pit, out, latch } = setup();
    out(0x43, 0x36); // channel 0, mode 3
    out(0x40, 100);
    out(0x40, 0);
    expect(pit.output(0)).toBe(true);
    board.clock.ns = at(10);
    expect(latch(0)).toBe(80);
    expect(pit.output(0)).toBe(true);
    board.clock.ns = at(50);
    expect(pit.output(0)).toBe(false);
    expect(latch(0)).toBe(100);
    board.clock.ns = at(75);
    expect(latch(0)).toBe(50);
    board.clock.ns = at(100);
    expect(pit.output(0)).toBe(true);
    board.clock.ns = at(149);
    expect(pit.output(0)).toBe(true);
    board.clock.ns = at(151);
    expect(pit.output(0)).toBe(false);
  });

  it('channel 2 in mode 0 drives port 0x61 bit 5 (Linux PIT calibration)', () => {
    const { board, out, inb } = setup();
    // pit_calibrate_tsc(): gate high, speaker off, mode 0 with a 50 ms latch.
    out(0x61, (inb(0x61) & ~0x02) | 0x01);
    out(0x43, 0xb0);
    const latch = Math.floor(PIT_HZ / 20);
    out(0x42, latch & 0xff);
    out(0x42, latch >> 8);
    expect(inb(0x61) & 0x20).toBe(0);
    board.clock.ns = at(latch - 1);
    expect(inb(0x61) & 0x20).toBe(0);
    board.clock.ns = at(latch);
    expect(inb(0x61) & 0x20).toBe(0x20);
    board.clock.ns = at(latch + 5000);
    expect(inb(0x61) & 0x20).toBe(0x20); // stays high
    expect(inb(0x61) & 0x01).toBe(1); // gate bit reads back
  });

  it('quick_pit_calibrate reads the MSB of channel 2 while it counts down', () => {
    const { board, out, inb } = setup();
    out(0x61, (inb(0x61) & ~0x02) | 0x01);
    out(0x43, 0xb0);
    out(0x42, 0xff);
    out(0x42, 0xff);
    board.clock.ns = at(256 * 3 + 10);
    inb(0x42); // LSB
    expect(inb(0x42)).toBe(0xfc); // MSB: 0xFFFF - 778 = 0xFCF5
  });

  it('a low gate stops channel 2 and a rising gate resumes it (mode 0)', () => {
    const { board, out, inb, latch } = setup();
    out(0x61, 0x01);
    out(0x43, 0xb0);
    out(0x42, 100);
    out(0x42, 0);
    board.clock.ns = at(40);
    out(0x61, 0x00);
    board.clock.ns = at(500);
    expect(latch(2)).toBe(60);
    expect(inb(0x61) & 0x20).toBe(0);
    out(0x61, 0x01);
    board.clock.ns = at(559);
    expect(inb(0x61) & 0x20).toBe(0);
    board.clock.ns = at(561);
    expect(inb(0x61) & 0x20).toBe(0x20);
  });

  it('mode 0 on channel 0 holds IRQ 0 low until terminal count', () => {
    const { board, pit, out } = setup();
    out(0x43, 0x30);
    expect(board.levels[0]).toBe(false);
    out(0x40, 200);
    out(0x40, 0);
    expect(pit.nextDeadlineNs()).toBeLessThan(at(200) + 5);
    pit.advance(at(200));
    expect(board.levels[0]).toBe(true);
    expect(pit.nextDeadlineNs()).toBe(Infinity);
  });

  it('mode 4 strobes once, one clock after terminal count (Linux one-shot mode)', () => {
    const { pit, out } = setup();
    out(0x43, 0x38);
    out(0x40, 50);
    out(0x40, 0);
    const d = pit.nextDeadlineNs();
    expect(d).toBeGreaterThan(at(50));
    expect(d).toBeLessThan(at(51) + 5);
    pit.advance(d);
    expect(pit.nextDeadlineNs()).toBe(Infinity);
  });

  it('latches: the latched value survives until read; LSB-only and MSB-only access', () => {
    const { board, out, inb } = setup();
    out(0x43, 0x74); // channel 1, lobyte/hibyte, mode 2
    out(0x41, 0x00);
    out(0x41, 0x10); // 4096
    board.clock.ns = at(96);
    out(0x43, 0x40); // latch channel 1
    board.clock.ns = at(1000);
    out(0x43, 0x40); // ignored: already latched
    expect(inb(0x41)).toBe(0xa0);
    expect(inb(0x41)).toBe(0x0f); // 4000
    out(0x43, 0x54); // channel 1, LSB only, mode 2
    out(0x41, 200);
    board.clock.ns = at(1010);
    expect(inb(0x41)).toBe(190);
    out(0x43, 0x64); // MSB only
    out(0x41, 2); // 512
    expect(inb(0x41)).toBe(2);
  });

  it('read-back reports status and count', () => {
    const { board, out, inb } = setup();
    out(0x61, 0x01);
    out(0x43, 0xb0);
    out(0x43, 0xe8); // read-back: status only, channel 2
    expect(inb(0x42)).toBe(0x40 | 0x30); // null count, lobyte/hibyte, mode 0, OUT low
    out(0x42, 10);
    out(0x42, 0);
    board.clock.ns = at(20);
    out(0x43, 0xc8); // read-back status + count of channel 2
    expect(inb(0x42)).toBe(0x80 | 0x30);
    const lo = inb(0x42);
    const hi = inb(0x42);
    expect((hi << 8) | lo).toBe(0xfff6); // wrapped after terminal count
  });

  it('counts in BCD', () => {
    const { board, out, latch } = setup();
    out(0x43, 0x35); // mode 2, BCD
    out(0x40, 0x00);
    out(0x40, 0x10); // 1000 decimal
    board.clock.ns = at(1);
    expect(latch(0)).toBe(0x0999);
  });

  it('round-trips its state through JSON', () => {
    const { board, pit, out, latch } = setup();
    out(0x43, 0x34);
    out(0x40, 0);
    out(0x40, 0); // 65536
    board.clock.ns = at(1234);
    const saved = JSON.parse(JSON.stringify(pit.saveState()));
    const other = setup();
    other.board.clock.ns = board.clock.ns;
    other.pit.restoreState(saved);
    expect(other.latch(0)).toBe(latch(0));
    expect(other.pit.nextDeadlineNs()).toBe(pit.nextDeadlineNs());
  });
});
