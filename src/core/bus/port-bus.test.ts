import { describe, expect, it } from 'vitest';
import { PortBus } from './port-bus.ts';

describe('PortBus', () => {
  it('reads open bus as all ones of the access width and drops writes', () => {
    const bus = new PortBus();
    expect(bus.read(0x1234, 1)).toBe(0xff);
    expect(bus.read(0x1234, 2)).toBe(0xffff);
    expect(bus.read(0x1234, 4)).toBe(0xffffffff);
    expect(() => bus.write(0x1234, 4, 0xdeadbeef)).not.toThrow();
  });

  it('splits wide accesses to byte-only devices, byte by byte through the table', () => {
    const bus = new PortBus();
    const regs = new Uint8Array(4);
    const writes: string[] = [];
    bus.register('dev', 0x300, 3, {
      read8: (port) => regs[port - 0x300]!,
      write8: (port, value) => {
        writes.push(`${port.toString(16)}=${value.toString(16)}`);
        regs[port - 0x300] = value;
      },
    });
    bus.write(0x300, 2, 0xbbaa);
    expect(writes).toEqual(['300=aa', '301=bb']);
    expect(bus.read(0x300, 2)).toBe(0xbbaa);
    // 32-bit: ports 0x300-0x302 are the device, 0x303 is open bus.
    bus.write(0x300, 4, 0x44332211);
    expect(writes.slice(2)).toEqual(['300=11', '301=22', '302=33']);
    expect(bus.read(0x300, 4)).toBe(0xff332211);
  });

  it('uses wide handlers where a device provides them', () => {
    const bus = new PortBus();
    let last = 0;
    bus.register('ide', 0x1f0, 1, {
      read8: () => 0x12,
      read16: () => 0xbeef,
      read32: () => 0xcafebabe,
      write32: (_p, v) => {
        last = v;
      },
    });
    expect(bus.read(0x1f0, 1)).toBe(0x12);
    expect(bus.read(0x1f0, 2)).toBe(0xbeef);
    expect(bus.read(0x1f0, 4)).toBe(0xcafebabe);
    bus.write(0x1f0, 4, 0x80000001);
    expect(last).toBe(0x80000001);
  });

  it('refuses double claims and releases ports on unregister', () => {
    const bus = new PortBus();
    bus.register('a', 0x60, 1, { read8: () => 1 });
    expect(() => bus.register('b', 0x5f, 2, { read8: () => 2 })).toThrow(/belongs to a/);
    expect(bus.ownerOf(0x60)).toBe('a');
    bus.unregister(0x60, 1);
    expect(bus.read(0x60, 1)).toBe(0xff);
    expect(bus.ownerOf(0x60)).toBeUndefined();
  });

  it('releases part of a claim, keeps the rest, and gives freed claims to later devices', () => {
    const bus = new PortBus();
    bus.register('a', 0x10, 4, { read8: (port) => port });
    bus.unregister(0x10, 2);
    expect([0x10, 0x11, 0x12, 0x13].map((p) => bus.read(p, 1))).toEqual([0xff, 0xff, 0x12, 0x13]);
    bus.register('b', 0x10, 2, { read8: () => 0xb });
    bus.unregister(0x12, 2);
    expect(bus.ownerOf(0x12)).toBeUndefined();
    bus.register('c', 0x20, 1, { read8: () => 0xc });
    expect([bus.read(0x10, 1), bus.read(0x11, 1), bus.read(0x12, 1), bus.read(0x20, 1)]).toEqual([0xb, 0xb, 0xff, 0xc]);
    expect([bus.ownerOf(0x10), bus.ownerOf(0x20)]).toEqual(['b', 'c']);
  });

  it('wraps at port 0xFFFF', () => {
    const bus = new PortBus();
    bus.register('low', 0, 1, { read8: () => 0x34 });
    expect(bus.read(0xffff, 2)).toBe(0x34ff);
  });
});
