import { describe, expect, it } from 'vitest';
import { Pic8259 } from './pic8259.ts';
import { testBoard } from './test-support/services.ts';

/** A PIC pair initialized the way Linux does it (vectors 0x30 / 0x38 in Linux; 0x20 / 0x28 here). */
function setup(icw4 = 0x01, icw1 = 0x11) {
  const board = testBoard();
  const pic = new Pic8259();
  const line: boolean[] = [];
  pic.onInterruptLine = (raised) => line.push(raised);
  pic.attach(board.services);
  pic.reset();
  const out = (port: number, v: number) => board.ports.write(port, 1, v);
  const inb = (port: number) => board.ports.read(port, 1);
  out(0x20, icw1); out(0x21, 0x20); out(0x21, 0x04); out(0x21, icw4);
  out(0xa0, icw1); out(0xa1, 0x28); out(0xa1, 0x02); out(0xa1, icw4);
  out(0x21, 0x00); out(0xa1, 0x00);
  return { pic, out, inb, line };
}

describe('8259A pair', () => {
  it('reads back the IMR (the probe Linux does)', () => {
    const { out, inb } = setup();
    out(0x21, 0xfb);
    expect(inb(0x21)).toBe(0xfb);
    out(0xa1, 0xff);
    expect(inb(0xa1)).toBe(0xff);
  });

  it('delivers a request, tracks ISR, and honours EOI', () => {
    const { pic, out, inb } = setup();
    pic.setIrq(1, true);
    expect(pic.interruptPending).toBe(true);
    expect(inb(0x20)).toBe(0x02); // IRR by default
    expect(pic.acknowledge()).toBe(0x21);
    expect(pic.interruptPending).toBe(false);
    out(0x20, 0x0b); // OCW3: read ISR
    expect(inb(0x20)).toBe(0x02);
    out(0x20, 0x20); // non-specific EOI
    expect(inb(0x20)).toBe(0x00);
  });

  it('resolves priorities: lower levels wait, higher ones nest', () => {
    const { pic, out } = setup();
    pic.setIrq(3, true);
    pic.setIrq(5, true);
    expect(pic.acknowledge()).toBe(0x23);
    // IRQ 5 is below IRQ 3 in service: blocked.
    expect(pic.interruptPending).toBe(false);
    // IRQ 0 is above it: nests.
    pic.setIrq(0, true);
    expect(pic.interruptPending).toBe(true);
    expect(pic.acknowledge()).toBe(0x20);
    out(0x20, 0x20); // EOI for IRQ 0 (the highest in service)
    expect(pic.interruptPending).toBe(false); // IRQ 3 still in service
    out(0x20, 0x63); // specific EOI for IRQ 3
    expect(pic.interruptPending).toBe(true);
    expect(pic.acknowledge()).toBe(0x25);
  });

  it('is edge-triggered: a line held high interrupts once', () => {
    const { pic, out } = setup();
    pic.setIrq(4, true);
    expect(pic.acknowledge()).toBe(0x24);
    out(0x20, 0x20);
    expect(pic.interruptPending).toBe(false);
    pic.setIrq(4, false);
    pic.setIrq(4, true);
    expect(pic.interruptPending).toBe(true);
  });

  it('re-requests in level mode while the line stays high', () => {
    const { pic, out } = setup(0x01, 0x19);
    pic.setIrq(4, true);
    expect(pic.acknowledge()).toBe(0x24);
    out(0x20, 0x20);
    expect(pic.interruptPending).toBe(true);
  });

  it('answers the spurious IRQ 7 vector when the request vanished before INTA', () => {
    const { pic, out, inb } = setup();
    pic.setIrq(3, true);
    expect(pic.interruptPending).toBe(true);
    pic.setIrq(3, false);
    expect(pic.interruptPending).toBe(false);
    expect(pic.acknowledge()).toBe(0x27);
    out(0x20, 0x0b);
    expect(inb(0x20)).toBe(0); // no ISR bit for a spurious interrupt
    expect(pic.metrics()['spurious']).toBe(1);
  });

  it('cascades the slave through IR2', () => {
    const { pic, out, inb } = setup();
    pic.setIrq(12, true);
    expect(pic.interruptPending).toBe(true);
    expect(pic.acknowledge()).toBe(0x2c);
    out(0xa0, 0x0b);
    expect(inb(0xa0)).toBe(0x10);
    out(0x20, 0x0b);
    expect(inb(0x20)).toBe(0x04);
    // While the slave is in service, another slave request waits (fully nested mode)...
    pic.setIrq(9, true);
    expect(pic.interruptPending).toBe(false);
    // ...until both EOIs, the way Linux sends them.
    out(0xa0, 0x64);
    out(0x20, 0x62);
    expect(pic.interruptPending).toBe(true);
    expect(pic.acknowledge()).toBe(0x29);
  });

  it('masks lines through the IMR', () => {
    const { pic, out } = setup();
    out(0x21, 0x01);
    pic.setIrq(0, true);
    expect(pic.interruptPending).toBe(false);
    out(0x21, 0x00);
    expect(pic.interruptPending).toBe(true);
  });

  it('rotates priorities with the set-priority command', () => {
    const { pic, out } = setup();
    out(0x20, 0xc3); // IR3 lowest: order 4 5 6 7 0 1 2 3
    pic.setIrq(1, true);
    pic.setIrq(5, true);
    expect(pic.acknowledge()).toBe(0x25);
  });

  it('supports automatic EOI and the poll command', () => {
    const aeoi = setup(0x03);
    aeoi.pic.setIrq(6, true);
    expect(aeoi.pic.acknowledge()).toBe(0x26);
    aeoi.out(0x20, 0x0b);
    expect(aeoi.inb(0x20)).toBe(0);

    const poll = setup();
    poll.pic.setIrq(5, true);
    poll.out(0x20, 0x0c);
    expect(poll.inb(0x20)).toBe(0x85);
    poll.out(0x20, 0x0b);
    expect(poll.inb(0x20)).toBe(0x20); // polled level is in service
  });

  it('tells the CPU about line changes and survives a snapshot round trip', () => {
    const { pic, line } = setup();
    pic.setIrq(0, true);
    expect(line.at(-1)).toBe(true);
    const saved = JSON.parse(JSON.stringify(pic.saveState()));
    const copy = new Pic8259();
    copy.restoreState(saved);
    expect(copy.interruptPending).toBe(true);
    expect(copy.acknowledge()).toBe(0x20);
    expect(() => copy.restoreState({ master: {} })).toThrow(/pic master state: field "irr"/);
  });

  it('accepts the ELCR ports', () => {
    const { out, inb } = setup();
    out(0x4d0, 0xff);
    out(0x4d1, 0xff);
    expect(inb(0x4d0)).toBe(0xf8);
    expect(inb(0x4d1)).toBe(0xde);
  });
});
